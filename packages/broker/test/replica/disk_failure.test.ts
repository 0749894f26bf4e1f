// A broker whose data directory fails (here: every write under it fails with ENOSPC, injected
// through the log's file seam into real files) answers KAFKA_STORAGE_ERROR without
// acknowledging anything, takes every replica on the directory offline, reports the directory
// on its heartbeats (the controller fences it, moving its leaderships away) and stays up; the
// new leader has every acknowledged record. disk_failure_quorum.test.ts does the same against
// the product controller.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/index.js";
import { decodeRecords, encodeBatch } from "../../src/harness/batches.js";
import { fullDiskIo } from "../log/helpers.js";
import { ScriptedController } from "../support/scripted_controller.js";
import { TestBrokers } from "../support/test_brokers.js";
import { until } from "../support/until.js";

describe("a failed data directory", () => {
  const ctrl = new ScriptedController();
  const fleet = new TestBrokers();
  const { brokers, clients } = fleet;
  const disk = { failing: false };
  let fatal: unknown = null;

  beforeAll(async () => {
    await fleet.open("brook-disk-");
    for (const id of [1, 2, 3]) {
      const b = await fleet.start(id, {
        channel: ctrl.channel(),
        config: { brokerHeartbeatIntervalMs: 100, replicaFetchWaitMaxMs: 200, controlledShutdownTimeoutMs: 10_000 },
        onFatal: (err) => {
          fatal = err;
        },
        ...(id === 1 ? { io: fullDiskIo(disk) } : {}),
      });
      await until(`broker ${id} unfenced`, () => b.status().state === "running");
    }
    ctrl.createTopic("d", [[1, 2, 3]], { "min.insync.replicas": "2" });
    await until("leader elected", () => brokers.get(1)!.status().leaderPartitions === 1);
  });

  afterAll(async () => {
    await fleet.close({ tolerateShutdownErrors: true });
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
