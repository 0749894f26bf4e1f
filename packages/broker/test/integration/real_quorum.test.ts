// End-to-end with the product controller: three controller-node processes (the controller
// package's runnable, spawned as processes) and three broker-node processes on loopback.
// Topic created through a broker's CreateTopics (forwarded to the active controller); the
// partition leader is SIGKILLed again and again while a producer writes with acks=all; every
// acknowledged record is read back exactly once and in order. Unclean election is off (the
// default), so the checker is exactly the "nothing acknowledged is lost" property.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/errors.js";
import { encodeBatch } from "../../src/harness/batches.js";
import { CONTROLLER_BIN, LocalCluster } from "../../src/harness/local_cluster.js";
import { expectAckedOnceInOrder, readAllValues } from "../support/acked_records.js";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, "../../dist/bin/broker-node.js");
const KILLS = Number(process.env["BROOK_KILLS"] ?? 4);

describe("with the real controller quorum: acks=all across repeated leader SIGKILLs", () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    for (const bin of [BIN, CONTROLLER_BIN]) if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm run build)`);
    cluster = await LocalCluster.start({
      brokers: 3,
      bin: BIN,
      quorum: { basePort: 4301, sessionTimeoutMs: 2_000 },
      logLevel: process.env["BROOK_TEST_LOG"] ?? "warn",
      brokerConfig: { replicaLagTimeMaxMs: 2_000, brokerHeartbeatIntervalMs: 250, replicaFetchWaitMaxMs: 200 },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("creates a topic through a broker and survives leader kills without losing an acknowledged record", async () => {
    const created = await cluster.nodes.get(1)!.client.createTopic("chaos", 1, 3, { "min.insync.replicas": "2" });
    expect(created.topics[0]!.error?.code ?? 0).toBe(0);
    await cluster.until("leader with full ISR", async () => {
      const s = await cluster.partitionState("chaos");
      return s !== undefined && s.leader >= 0 && s.isr.length === 3;
    });

    const acked: string[] = [];
    let leader = (await cluster.partitionState("chaos"))!.leader;
    let producing = true;
    const producer = (async () => {
      let seq = 0;
      while (producing) {
        const node = cluster.nodes.get(leader);
        const value = `r${seq++}`;
        let ok = false;
        if (node !== undefined) {
          try {
            const res = await node.client.produce("chaos", 0, encodeBatch([Buffer.from(value)]), -1, 5_000);
            const pr = res.topics[0]!.partitions[0]!;
            ok = pr.errorCode === Code.NONE;
            if (!ok && pr.currentLeader >= 0) leader = pr.currentLeader;
          } catch {
            // the leader died under us
          }
        }
        if (ok) acked.push(value);
        else {
          leader = (await cluster.partitionState("chaos"))?.leader ?? leader;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();

    for (let k = 0; k < KILLS; k++) {
      const before = acked.length;
      await cluster.until("progress before the kill", () => acked.length >= before + 20);
      const victim = (await cluster.partitionState("chaos"))!.leader;
      await cluster.kill(victim);
      await cluster.until("a new leader", async () => {
        const s = await cluster.partitionState("chaos");
        return s !== undefined && s.leader >= 0 && s.leader !== victim;
      });
      await cluster.startNode(victim);
      await cluster.until("restarted broker back in the ISR", async () => (await cluster.partitionState("chaos"))?.isr.includes(victim) === true);
    }
    const before = acked.length;
    await cluster.until("progress after the last kill", () => acked.length >= before + 20);
    producing = false;
    await producer;

    const reader = cluster.nodes.get((await cluster.partitionState("chaos"))!.leader)!;
    const got = await readAllValues(reader.client, "chaos");
    expectAckedOnceInOrder(acked, got);
    console.log(`real quorum: ${KILLS} kills, ${acked.length} acknowledged, ${got.length} in log`);
  }, 600_000);

  it("admin calls and heartbeats follow a new active controller after the active one is SIGKILLed", async () => {
    const before = await cluster.nodes.get(1)!.client.describeCluster();
    const active = before.controllerId;
    expect([1, 2, 3]).toContain(active);
    await cluster.killController(active);
    const created = await cluster.nodes.get(2)!.client.createTopic("after-failover", 2, 3, {});
    expect(created.topics[0]!.error?.code ?? 0).toBe(0);
    const after = await cluster.nodes.get(3)!.client.describeCluster();
    expect(after.controllerId).not.toBe(active);
    await cluster.until("new topic led and writable", async () => {
      const s = await cluster.partitionState("after-failover", 1);
      if (s === undefined || s.leader < 0 || !cluster.nodes.has(s.leader)) return false;
      const r = await cluster.nodes.get(s.leader)!.client.produce("after-failover", 1, encodeBatch([Buffer.from("x")]), -1, 5_000);
      return r.topics[0]!.partitions[0]!.errorCode === Code.NONE;
    });
  }, 120_000);
});
