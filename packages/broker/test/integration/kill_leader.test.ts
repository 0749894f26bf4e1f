// Multi-process integration: three real broker processes (dist/bin/broker-node.js, built by
// `npm test` / `tsc -b` before the run) on loopback, the controller role played over real
// gRPC by ScriptedControllerServer (see its header). The partition leader is SIGKILLed again
// and again while a producer writes with acks=all; every acknowledged record must be read
// back exactly once and in order, and every election stays inside the ISR.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/errors.js";
import { decodeRecords, encodeBatch } from "../../src/harness/batches.js";
import { TestClient } from "../support/grpc_client.js";
import { ScriptedControllerServer } from "../../src/harness/scripted_controller.js";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, "../../dist/bin/broker-node.js");
const KILLS = Number(process.env["BROOK_KILLS"] ?? 6);

interface Node {
  proc: ChildProcess;
  port: number;
  client: TestClient;
}

describe("acks=all survives repeated SIGKILL of the partition leader (real processes)", () => {
  const ctrl = new ScriptedControllerServer(1_500);
  const nodes = new Map<number, Node>();
  let root = "";

  function spawnNode(id: number): Promise<Node> {
    const proc = spawn(
      process.execPath,
      [
        BIN,
        "--node-id", String(id),
        "--data-dir", join(root, `b${id}`),
        "--listen", "127.0.0.1:0",
        "--controllers", `0@127.0.0.1:${ctrl.port}`,
        "--log-level", process.env["BROOK_TEST_LOG"] ?? "warn",
        "--config", JSON.stringify({ replicaLagTimeMaxMs: 2_000, brokerHeartbeatIntervalMs: 200, replicaFetchWaitMaxMs: 200 }),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    return new Promise((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /READY node=\d+ port=(\d+)/.exec(out);
        if (m !== null) {
          const port = Number(m[1]);
          const node = { proc, port, client: new TestClient(`127.0.0.1:${port}`) };
          nodes.set(id, node);
          resolve(node);
        }
      });
      proc.on("exit", (code) => reject(new Error(`broker ${id} exited with ${code} before READY`)));
    });
  }

  function kill(id: number): Promise<void> {
    const n = nodes.get(id)!;
    nodes.delete(id);
    n.client.close();
    return new Promise((resolve) => {
      if (n.proc.exitCode !== null) return resolve();
      n.proc.on("exit", () => resolve());
      n.proc.kill("SIGKILL");
    });
  }

  async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npx tsc -b packages/broker)`);
    root = await mkdtemp(join(tmpdir(), "brook-kill-"));
    await ctrl.start();
    for (const id of [1, 2, 3]) await spawnNode(id);
    await until("all brokers unfenced", () => [1, 2, 3].every((id) => ctrl.brokers.get(id)?.fenced === false));
    ctrl.createTopic("chaos", [[1, 2, 3]], { "min.insync.replicas": "2" });
  });

  afterAll(async () => {
    for (const id of [...nodes.keys()]) await kill(id);
    await ctrl.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(`loses no acknowledged record over ${KILLS} leader kills`, async () => {
    const acked: string[] = [];
    let attempts = 0;
    let producing = true;
    const producer = (async () => {
      let seq = 0;
      while (producing) {
        const leader = ctrl.leaderOf("chaos").leader;
        const node = nodes.get(leader);
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
      await until("progress before the kill", () => acked.length >= before + 20);
      const leader = ctrl.leaderOf("chaos").leader;
      await kill(leader);
      await until("a new leader", () => {
        const l = ctrl.leaderOf("chaos").leader;
        return l >= 0 && l !== leader && nodes.has(l);
      });
      await spawnNode(leader); // comes back as a follower and must truncate/catch up
      await until("restarted broker back in the ISR", () => ctrl.leaderOf("chaos").isr.includes(leader));
    }
    const before = acked.length;
    await until("progress after the last kill", () => acked.length >= before + 20);
    producing = false;
    await producer;

    // Read everything from the current leader, up to its HW.
    const leader = ctrl.leaderOf("chaos").leader;
    const got: string[] = [];
    let offset = 0;
    for (;;) {
      const r = (await nodes.get(leader)!.client.fetch("chaos", 0, offset)).topics[0]!.partitions[0]!;
      expect(r.errorCode).toBe(Code.NONE);
      const recs = decodeRecords(r.records).filter((x) => x.offset >= offset);
      if (recs.length === 0) break;
      got.push(...recs.map((x) => x.value.toString()));
      offset = recs[recs.length - 1]!.offset + 1;
    }
    const position = new Map<string, number>();
    got.forEach((v, i) => {
      expect(position.has(v), `record ${v} read twice`).toBe(false);
      position.set(v, i);
    });
    let last = -1;
    for (const v of acked) {
      const at = position.get(v);
      expect(at, `acknowledged record ${v} lost`).toBeDefined();
      expect(at!, `acknowledged record ${v} out of order`).toBeGreaterThan(last);
      last = at!;
    }
    for (const e of ctrl.elections) if (e.leader >= 0) expect(e.isrBefore).toContain(e.leader);
    expect(acked.length).toBeGreaterThan(20 * (KILLS + 1) - 1);
    console.log(`kill test: ${KILLS} kills, ${attempts} produce attempts, ${acked.length} acknowledged, ${got.length} in log`);
  }, 600_000);
});
