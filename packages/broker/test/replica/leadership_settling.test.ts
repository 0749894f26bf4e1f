// A broker the metadata has just named leader is still opening the log and writing the new
// leader epoch (fsyncs) for a moment, while clients and followers already act on that
// metadata. Requests arriving in that window wait for the leadership to settle (bounded)
// instead of being answered NOT_LEADER_OR_FOLLOWER into the requesters' retry backoff. Three
// real brokers over gRPC on real files; broker 1's epoch write is held at a gate so the window
// is as long as the test needs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/index.js";
import { encodeBatch } from "../../src/harness/batches.js";
import type { ClosableLogStore } from "../../src/log_store.js";
import type { ReplicaLog } from "../../src/replica/log_port.js";
import { ScriptedController } from "../support/scripted_controller.js";
import { TestBrokers } from "../support/test_brokers.js";
import { until } from "../support/until.js";

/** Holds assignEpoch of the named topics' logs until `open(topic)`. */
class EpochGate {
  private readonly held = new Map<string, { reached: boolean; release: () => void; released: Promise<void> }>();

  hold(topic: string): void {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.held.set(topic, { reached: false, release, released });
  }

  reached(topic: string): boolean {
    return this.held.get(topic)?.reached === true;
  }

  open(topic: string): void {
    this.held.get(topic)?.release();
  }

  wrap(store: ClosableLogStore): ClosableLogStore {
    const gate = this;
    return Object.assign(Object.create(store) as ClosableLogStore, {
      async open(...args: Parameters<ClosableLogStore["open"]>): Promise<ReplicaLog> {
        const log = await store.open(...args);
        const g = gate.held.get(args[0].topic);
        if (g === undefined) return log;
        return Object.assign(Object.create(log) as ReplicaLog, {
          async assignEpoch(epoch: number, startOffset: number): Promise<void> {
            g.reached = true;
            await g.released;
            return log.assignEpoch(epoch, startOffset);
          },
        });
      },
    });
  }
}

describe("a broker still taking over a leadership", () => {
  const ctrl = new ScriptedController();
  const fleet = new TestBrokers();
  const { brokers, clients } = fleet;
  const gate = new EpochGate();

  beforeAll(async () => {
    await fleet.open("brook-settle-");
    for (const id of [1, 2, 3]) {
      const b = await fleet.start(id, {
        channel: ctrl.channel(),
        config: { brokerHeartbeatIntervalMs: 100, replicaFetchWaitMaxMs: 200 },
        ...(id === 1 ? { wrapLogs: (s: ClosableLogStore) => gate.wrap(s) } : {}),
      });
      await until(`broker ${id} unfenced`, () => b.status().state === "running");
    }
  });

  afterAll(async () => {
    await fleet.close({ tolerateShutdownErrors: false });
  });

  it("parks a produce, ListOffsets, a consumer fetch and a follower's epoch query until the leadership is installed, then answers them", async () => {
    gate.hold("settle");
    ctrl.createTopic("settle", [[1, 2, 3]], { "min.insync.replicas": "2" });
    await until("broker 1 is writing the new epoch", () => gate.reached("settle"));
    let produced: number | undefined;
    const produce = clients
      .get(1)!
      .produce("settle", 0, encodeBatch([Buffer.from("first")]), -1)
      .then((r) => (produced = r.topics[0]!.partitions[0]!.errorCode));
    const epochs = brokers.get(1)!.replicas.handleOffsetsForLeaderEpoch({
      replicaId: 2,
      partitions: [{ topic: "settle", partition: 0, currentLeaderEpoch: 0, leaderEpoch: -1 }],
    });
    let listed: number | undefined;
    const latest = clients
      .get(1)!
      .listOffsets("settle", 0, -1)
      .then((r) => (listed = r.topics[0]!.partitions[0]!.errorCode));
    await new Promise((r) => setTimeout(r, 300));
    // Parked, not refused.
    expect(produced).toBeUndefined();
    expect(listed).toBeUndefined();
    gate.open("settle");
    await Promise.all([produce, latest]);
    expect(produced).toBe(Code.NONE);
    expect(listed).toBe(Code.NONE);
    expect((await epochs).partitions[0]!.errorCode).toBe(Code.NONE);
    // A consumer's fetch is parked the same way, then long-polls as usual.
    gate.hold("settle2");
    ctrl.createTopic("settle2", [[1, 2, 3]]);
    await until("broker 1 is writing the new epoch", () => gate.reached("settle2"));
    const fetched = clients.get(1)!.fetch("settle2", 0, 0, { maxWaitMs: 1_500 });
    setTimeout(() => gate.open("settle2"), 300);
    expect((await fetched).topics[0]!.partitions[0]!.errorCode).toBe(Code.NONE);
  });

  it("waits at most about a second, then says the broker is still becoming the leader", async () => {
    gate.hold("slow");
    ctrl.createTopic("slow", [[1, 2, 3]]);
    await until("broker 1 is writing the new epoch", () => gate.reached("slow"));
    const t0 = Date.now();
    const r = (await clients.get(1)!.produce("slow", 0, encodeBatch([Buffer.from("x")]), -1)).topics[0]!.partitions[0]!;
    const waited = Date.now() - t0;
    gate.open("slow");
    expect(r.errorCode).toBe(Code.NOT_LEADER_OR_FOLLOWER);
    expect(r.errorMessage).toMatch(/still becoming the leader of slow-0/);
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(8_000);
    await until("broker 1 leads slow-0", () => brokers.get(1)!.replicas.partition("slow", 0)?.role.kind === "leader");
  });
});
