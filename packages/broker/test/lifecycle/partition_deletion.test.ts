// Partition directories leave the disk when the metadata no longer assigns them to a broker:
// at once for a running broker (topic deleted, replica reassigned away), and at the next start
// for a broker that was down when it happened (its first view after catching up does not name
// them). Three in-process brokers on real files, the scripted controller at the channel.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/index.js";
import { decodeRecords, encodeBatch } from "../../src/harness/batches.js";
import { ScriptedController } from "../support/scripted_controller.js";
import { TestBrokers } from "../support/test_brokers.js";
import { until } from "../support/until.js";

describe("partition deletion", () => {
  const ctrl = new ScriptedController();
  const fleet = new TestBrokers();
  const { brokers, clients } = fleet;
  const logsOf = (id: number) => join(fleet.dataDir(id), "logs");
  const dirsOf = async (id: number) => (await readdir(logsOf(id))).sort();

  async function start(id: number): Promise<void> {
    const b = await fleet.start(id, { channel: ctrl.channel(), config: { brokerHeartbeatIntervalMs: 100, replicaFetchWaitMaxMs: 200 } });
    await until(`broker ${id} unfenced`, () => b.status().state === "running");
  }

  async function produce(topic: string, value: string): Promise<void> {
    const leader = ctrl.current().topics.get(topic)!.partitions.get(0)!.leader;
    await until(`ack of ${value}`, async () => {
      const r = (await clients.get(leader)!.produce(topic, 0, encodeBatch([Buffer.from(value)]))).topics[0]!.partitions[0]!;
      return r.errorCode === Code.NONE;
    });
  }

  beforeAll(async () => {
    await fleet.open("brook-del-");
    for (const id of [1, 2, 3]) await start(id);
    for (const t of ["keep", "gone", "gone-later", "moved", "moved-later"]) ctrl.createTopic(t, [[1, 2, 3]], { "min.insync.replicas": "2" });
    for (const t of ["keep", "gone", "gone-later", "moved", "moved-later"]) await produce(t, `${t}-1`);
    for (const id of [1, 2, 3]) await until(`five logs on broker ${id}`, async () => (await dirsOf(id)).length === 5);
  });

  afterAll(async () => {
    await fleet.close({ tolerateShutdownErrors: true });
  });

  it("deletes the directories of a deleted topic and of a replica moved away, on running brokers", async () => {
    ctrl.deleteTopic("gone");
    ctrl.reassign("moved", 0, [1, 2]);
    for (const id of [1, 2, 3]) await until(`gone-0 deleted on broker ${id}`, async () => !(await dirsOf(id)).some((d) => d.startsWith("gone-0")));
    await until("moved-0 deleted on broker 3", async () => !(await dirsOf(3)).some((d) => d.startsWith("moved-0")));
    expect(existsSync(join(logsOf(1), "moved-0"))).toBe(true);
    expect(existsSync(join(fleet.dataDir(1), "partition-ids", "gone-0"))).toBe(false);
    // The others are untouched and still served.
    await produce("keep", "keep-2");
    await produce("moved", "moved-2");
  });

  it("deletes, at the next start, what was deleted or moved away while the broker was down", async () => {
    await brokers.get(3)!.shutdown({ controlled: false });
    brokers.delete(3);
    ctrl.fence(3);
    ctrl.deleteTopic("gone-later");
    ctrl.reassign("moved-later", 0, [1, 2]);
    await produce("keep", "keep-3");
    expect(await dirsOf(3)).toEqual(["gone-later-0", "keep-0", "moved-later-0"]);
    await start(3);
    await until("strays deleted on broker 3", async () => (await dirsOf(3)).join() === "keep-0");
    // The log it keeps catches up and holds every acknowledged record.
    await until("keep-0 on broker 3 has all three records", async () => {
      const r = await brokers.get(3)!.readCommitted("keep", 0, 0, 1 << 20).catch(() => undefined);
      return r !== undefined && decodeRecords(r.records).map((x) => x.value.toString()).join() === "keep-1,keep-2,keep-3";
    });
  });
});
