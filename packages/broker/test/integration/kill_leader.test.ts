// Multi-process integration: three real broker processes (dist/bin/broker-node.js, built by
// `npm test` / `tsc -b` before the run) on loopback, the controller role played over real
// gRPC by ScriptedControllerServer (see its header). The partition leader is SIGKILLed again
// and again while a producer writes with acks=all; every acknowledged record must be read
// back exactly once and in order, and every election stays inside the ISR.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/errors.js";
import { encodeBatch } from "../../src/harness/batches.js";
import { LocalCluster } from "../../src/harness/local_cluster.js";
import { expectAckedOnceInOrder, readAllValues } from "../support/acked_records.js";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, "../../dist/bin/broker-node.js");
const KILLS = Number(process.env["BROOK_KILLS"] ?? 6);

describe("acks=all survives repeated SIGKILL of the partition leader (real processes)", () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npx tsc -b packages/broker)`);
    cluster = await LocalCluster.start({
      brokers: 3,
      sessionTimeoutMs: 1_500,
      bin: BIN,
      logLevel: process.env["BROOK_TEST_LOG"] ?? "warn",
      brokerConfig: { replicaLagTimeMaxMs: 2_000, brokerHeartbeatIntervalMs: 200, replicaFetchWaitMaxMs: 200 },
    });
    cluster.ctrl.createTopic("chaos", [[1, 2, 3]], { "min.insync.replicas": "2" });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it(`loses no acknowledged record over ${KILLS} leader kills`, async () => {
    const acked: string[] = [];
    let attempts = 0;
    let producing = true;
    const producer = (async () => {
      let seq = 0;
      while (producing) {
        const leader = cluster.ctrl.leaderOf("chaos").leader;
        const node = cluster.nodes.get(leader);
        if (node === undefined) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const value = `r${seq++}`;
        attempts++;
        try {
          const res = await node.client.produce("chaos", 0, encodeBatch([Buffer.from(value)]), -1, 5_000);
          if (res.topics[0]!.partitions[0]!.errorCode === Code.NONE) acked.push(value);
        } catch {
          // connection to a killed leader: not acknowledged, try the next leader
        }
      }
    })();

    for (let k = 0; k < KILLS; k++) {
      const before = acked.length;
      await cluster.until("progress before the kill", () => acked.length >= before + 20);
      const leader = cluster.ctrl.leaderOf("chaos").leader;
      await cluster.kill(leader);
      await cluster.until("a new leader", () => {
        const l = cluster.ctrl.leaderOf("chaos").leader;
        return l >= 0 && l !== leader && cluster.nodes.has(l);
      });
      await cluster.startNode(leader); // comes back as a follower and must truncate/catch up
      await cluster.until("restarted broker back in the ISR", () => cluster.ctrl.leaderOf("chaos").isr.includes(leader));
    }
    const before = acked.length;
    await cluster.until("progress after the last kill", () => acked.length >= before + 20);
    producing = false;
    await producer;

    // Read everything from the current leader, up to its HW.
    const leader = cluster.ctrl.leaderOf("chaos").leader;
    const got = await readAllValues(cluster.nodes.get(leader)!.client, "chaos");
    expectAckedOnceInOrder(acked, got);
    for (const e of cluster.ctrl.elections) if (e.leader >= 0) expect(e.isrBefore).toContain(e.leader);
    expect(acked.length).toBeGreaterThan(20 * (KILLS + 1) - 1);
    console.log(`kill test: ${KILLS} kills, ${attempts} produce attempts, ${acked.length} acknowledged, ${got.length} in log`);
  }, 600_000);

  it("SIGTERM is a controlled shutdown: leadership moves to another ISR member before the broker exits", async () => {
    const ctrl = cluster.ctrl;
    await cluster.until("full ISR", () => ctrl.leaderOf("chaos").isr.length === 3 && ctrl.leaderOf("chaos").leader >= 0);
    const leader = ctrl.leaderOf("chaos").leader;
    const node = cluster.nodes.get(leader)!;
    let leaderAtExit = -2;
    const exitCode = new Promise<number | null>((resolve) =>
      node.proc.on("exit", (code) => {
        leaderAtExit = ctrl.leaderOf("chaos").leader;
        resolve(code);
      }),
    );
    await cluster.kill(leader, "SIGTERM");
    expect(await exitCode).toBe(0);
    expect(leaderAtExit).not.toBe(leader);
    expect(leaderAtExit).toBeGreaterThanOrEqual(0);
    const r = await cluster.nodes.get(leaderAtExit)!.client.produce("chaos", 0, encodeBatch([Buffer.from("after-sigterm")]), -1, 10_000);
    expect(r.topics[0]!.partitions[0]!.errorCode).toBe(Code.NONE);
    await cluster.startNode(leader);
  }, 120_000);
});
