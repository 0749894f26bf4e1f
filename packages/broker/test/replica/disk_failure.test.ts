// A broker whose data directory fails (here: every write under it fails with ENOSPC, injected
// through the log's file seam into real files) answers KAFKA_STORAGE_ERROR without
// acknowledging anything, takes every replica on the directory offline, reports the directory
// on its heartbeats (the controller fences it, moving its leaderships away) and stays up; the
// new leader has every acknowledged record. disk_failure_quorum.test.ts does the same against
// the product controller.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker, Code } from "../../src/index.js";
import { decodeRecords, encodeBatch } from "../../src/harness/batches.js";
import { TestClient } from "../../src/harness/client.js";
import { nodeLogIo, type LogIo } from "../../src/log/index.js";
import { openLogStore } from "../../src/log_store.js";
import { ScriptedController } from "../support/scripted_controller.js";

const logger = pino({ level: process.env["BROOK_TEST_LOG"] ?? "silent" });

/** Real files; once `failing` is set, writes and syncs fail as on a full disk. */
function faultyIo(state: { failing: boolean }): LogIo {
  return {
    async openFile(path, create) {
      const f = await nodeLogIo.openFile(path, create);
      const enospc = () => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return {
        write: (buf, pos) => (state.failing ? Promise.reject(enospc()) : f.write(buf, pos)),
        read: (buf, off, len, pos) => f.read(buf, off, len, pos),
        sync: () => (state.failing ? Promise.reject(enospc()) : f.sync()),
        truncate: (len) => f.truncate(len),
        size: () => f.size(),
        close: () => f.close(),
      };
    },
  };
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a failed data directory", () => {
  const ctrl = new ScriptedController();
  const brokers = new Map<number, Broker>();
  const clients = new Map<number, TestClient>();
  const disk = { failing: false };
  let fatal: unknown = null;
  let root = "";

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "brook-disk-"));
    for (const id of [1, 2, 3]) {
      const dataDir = join(root, `b${id}`);
      const b = await Broker.startWith(
        {
          nodeId: id,
          dataDir,
          listen: "127.0.0.1:0",
          advertised: "127.0.0.1:0",
          controllerQuorum: new Map(),
          config: { brokerHeartbeatIntervalMs: 100, replicaFetchWaitMaxMs: 200, controlledShutdownTimeoutMs: 10_000 },
          logger,
          onFatal: (err) => {
            fatal = err;
          },
        },
        { logs: await openLogStore(dataDir, { logger, ...(id === 1 ? { io: faultyIo(disk) } : {}) }), channel: ctrl.channel() },
      );
      brokers.set(id, b);
      clients.set(id, new TestClient(`127.0.0.1:${b.port}`));
      await until(`broker ${id} unfenced`, () => b.status().state === "running");
    }
    ctrl.createTopic("d", [[1, 2, 3]], { "min.insync.replicas": "2" });
    await until("leader elected", () => brokers.get(1)!.status().leaderPartitions === 1);
  });

  afterAll(async () => {
    for (const c of clients.values()) c.close();
    for (const b of brokers.values()) await b.shutdown({ controlled: false }).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("is answered with KAFKA_STORAGE_ERROR, the leadership moves, the broker stays up, and nothing acknowledged is lost", async () => {
    const acked: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = (await clients.get(1)!.produce("d", 0, encodeBatch([Buffer.from(`a${i}`)]))).topics[0]!.partitions[0]!;
      expect(r.errorCode).toBe(Code.NONE);
      acked.push(`a${i}`);
    }
    disk.failing = true;
    const failed = (await clients.get(1)!.produce("d", 0, encodeBatch([Buffer.from("lost")]))).topics[0]!.partitions[0]!;
    expect(failed.errorCode).toBe(Code.KAFKA_STORAGE_ERROR);
    const leader = await until("leadership moved off broker 1", () => {
      const p = ctrl.current().topics.get("d")!.partitions.get(0)!;
      return p.leader !== 1 && p.leader >= 0 && !p.isr.includes(1) ? p.leader : false;
    });
    expect([2, 3]).toContain(leader);
    // Still up: fenced, reporting its directory, answering with a hint instead of writing.
    const s1 = brokers.get(1)!.status();
    expect(s1.offlineLogDirs.length).toBe(1);
    expect(s1.state).toBe("fenced");
    expect(fatal).toBeNull();
    const again = (await clients.get(1)!.produce("d", 0, encodeBatch([Buffer.from("lost2")]))).topics[0]!.partitions[0]!;
    expect([Code.KAFKA_STORAGE_ERROR, Code.NOT_LEADER_OR_FOLLOWER]).toContain(again.errorCode);
    expect((await clients.get(1)!.metadata(["d"])).topics[0]!.partitions[0]!.leader).toBe(leader);
    const ok = await until("produce on the new leader", async () => {
      const r = (await clients.get(leader)!.produce("d", 0, encodeBatch([Buffer.from("after")]))).topics[0]!.partitions[0]!;
      return r.errorCode === Code.NONE;
    });
    expect(ok).toBe(true);
    acked.push("after");
    const got = decodeRecords((await clients.get(leader)!.fetch("d", 0, 0)).topics[0]!.partitions[0]!.records).map((r) => r.value.toString());
    expect(got).toEqual(acked);
  });
});
