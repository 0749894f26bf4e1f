// Simulation-style sequences on the pure controller logic with a fake clock: sessions expire,
// leaders move within the ISR with bumped epochs, partitions go offline and come back,
// controlled shutdown, preferred-leader rebalance; plus a seeded random walk checking invariants.
import { describe, expect, it } from "vitest";
import { applyRecords } from "../src/image/delta.js";
import { ControllerLogic } from "../src/logic/controller_logic.js";
import { forEachPartition } from "../src/logic/partition_changes.js";
import { placePartitions, emptyLoad } from "../src/logic/placement.js";
import { Harness } from "./helpers.js";

describe("session fencing and re-election", () => {
  it("fences a silent broker, moves its leaderships to ISR members and bumps leader epochs", () => {
    const h = new Harness({ sessionTimeoutMs: 1000 });
    h.addBrokers(3);
    h.createTopic("t", 6, 3);
    const before = new Map([0, 1, 2, 3, 4, 5].map((i) => [i, h.partition("t", i)]));
    h.clock.advance(600);
    h.heartbeat(1);
    h.heartbeat(2);
    expect(h.commit(h.logic.expireSessions(h.image))).toEqual([]);
    h.clock.advance(600);
    h.heartbeat(1);
    h.heartbeat(2);
    expect(h.commit(h.logic.expireSessions(h.image))).toEqual([3]);
    expect(h.image.cluster.brokers.get(3)?.fenced).toBe(true);
    for (const [i, old] of before) {
      const p = h.partition("t", i);
      expect(p.isr).not.toContain(3);
      expect(p.leader).not.toBe(3);
      expect(old.isr).toContain(p.leader);
      if (old.leader === 3) expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
      else expect(p.leaderEpoch).toBe(old.leaderEpoch);
    }
  });

  it("goes offline when the last ISR member is fenced, keeps it in the ISR, and recovers when it is back", () => {
    const h = new Harness({ sessionTimeoutMs: 1000 });
    h.addBrokers(2);
    h.createTopic("t", 1, 2);
    const p0 = h.partition("t", 0);
    const [a, b] = [p0.leader, p0.replicas.find((r) => r !== p0.leader) ?? -1];
    h.heartbeat(b, { wantFence: true });
    expect(h.partition("t", 0)).toMatchObject({ leader: a, isr: [a] });
    h.heartbeat(a, { wantFence: true });
    expect(h.partition("t", 0)).toMatchObject({ leader: -1, isr: [a] });
    expect(h.logic.describeCluster(h.image, 1).offlinePartitions).toBe(1);
    // b comes back: it is not in the ISR, and unclean election is off, so still offline.
    h.heartbeat(b);
    expect(h.image.cluster.brokers.get(b)?.fenced).toBe(false);
    expect(h.partition("t", 0).leader).toBe(-1);
    // a comes back: it leads again with a new epoch.
    const e = h.partition("t", 0).leaderEpoch;
    h.heartbeat(a);
    expect(h.partition("t", 0)).toMatchObject({ leader: a, leaderEpoch: e + 1 });
  });

  it("fences a broker that reports an offline log directory and keeps it fenced while it does", () => {
    const h = new Harness({ sessionTimeoutMs: 1000 });
    h.addBrokers(3);
    h.createTopic("t", 6, 3);
    const before = new Map([0, 1, 2, 3, 4, 5].map((i) => [i, h.partition("t", i)]));
    expect([...before.values()].some((p) => p.leader === 2)).toBe(true);
    const r = h.heartbeat(2, { offlineLogDirs: ["/data/broker"] });
    expect(r.isFenced).toBe(true);
    expect(h.image.cluster.brokers.get(2)?.fenced).toBe(true);
    for (const [i, old] of before) {
      const p = h.partition("t", i);
      expect(p.leader).not.toBe(2);
      expect(p.isr).not.toContain(2);
      expect(old.isr).toContain(p.leader);
      if (old.leader === 2) expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
    }
    // Alive and caught up, but still reporting the failed directory: stays fenced, no records.
    const offset = h.offset;
    expect(h.heartbeat(2, { offlineLogDirs: ["/data/broker"] }).isFenced).toBe(true);
    expect(h.offset).toBe(offset);
    // Restarted on a repaired disk (reports none): unfenced again.
    expect(h.heartbeat(2).isFenced).toBe(false);
  });

  it("elects outside the ISR only when the topic enables unclean election", () => {
    const h = new Harness();
    h.addBrokers(2);
    h.createTopic("u", 1, 2, { "unclean.leader.election.enable": "true" });
    const p0 = h.partition("u", 0);
    const [a, b] = [p0.leader, p0.replicas.find((r) => r !== p0.leader) ?? -1];
    h.heartbeat(b, { wantFence: true });
    h.heartbeat(a, { wantFence: true });
    expect(h.partition("u", 0).leader).toBe(-1);
    h.heartbeat(b);
    expect(h.partition("u", 0)).toMatchObject({ leader: b, isr: [b] });
  });

  it("unfences a broker only once it has caught up with its registration", () => {
    const h = new Harness();
    const r = h.commit(h.logic.registerBroker(h.image, { brokerId: 1, incarnationId: "i", endpoints: [{ name: "C", host: "h", port: 1 }], rack: "" }));
    const hb = h.commit(h.logic.heartbeat(h.image, { brokerId: 1, brokerEpoch: r.brokerEpoch, currentMetadataOffset: h.offset - 1, wantFence: false, wantShutDown: false, offlineLogDirs: [] }));
    expect(hb).toMatchObject({ isCaughtUp: false, isFenced: true });
    const hb2 = h.commit(h.logic.heartbeat(h.image, { brokerId: 1, brokerEpoch: r.brokerEpoch, currentMetadataOffset: h.offset, wantFence: false, wantShutDown: false, offlineLogDirs: [] }));
    expect(hb2).toMatchObject({ isCaughtUp: true, isFenced: false });
    expect(h.image.cluster.brokers.get(1)?.fenced).toBe(false);
  });

  it("a new active controller gives every broker a fresh session and a catch-up floor at its start offset", () => {
    const h = new Harness({ sessionTimeoutMs: 1000 });
    h.addBrokers(2);
    h.createTopic("t", 2, 2);
    h.heartbeat(2, { wantFence: true });
    h.clock.advance(900);
    // Failover: the soft state is gone; the new controller starts from the committed image.
    const next = new ControllerLogic(h.logic.config, h.clock, () => Buffer.alloc(16, 7));
    next.becameActive(h.image);
    h.clock.advance(900);
    expect(next.expireSessions(h.image).response).toEqual([]);
    const epoch2 = h.image.cluster.brokers.get(2)?.epoch ?? -1;
    const behind = next.heartbeat(h.image, { brokerId: 2, brokerEpoch: epoch2, currentMetadataOffset: h.offset - 1, wantFence: false, wantShutDown: false, offlineLogDirs: [] });
    expect(behind.response).toMatchObject({ isCaughtUp: false, isFenced: true });
    expect(behind.records).toHaveLength(0);
    const caughtUp = next.heartbeat(h.image, { brokerId: 2, brokerEpoch: epoch2, currentMetadataOffset: h.offset, wantFence: false, wantShutDown: false, offlineLogDirs: [] });
    expect(caughtUp.response).toMatchObject({ isCaughtUp: true, isFenced: false });
    h.clock.advance(1100);
    expect(next.expireSessions(h.image).response).toEqual([1]);
  });

  it("controlled shutdown moves leadership away before telling the broker to stop", () => {
    const h = new Harness();
    h.addBrokers(3);
    h.createTopic("t", 6, 2);
    const led = () => [0, 1, 2, 3, 4, 5].filter((i) => h.partition("t", i).leader === 1).length;
    expect(led()).toBeGreaterThan(0);
    const first = h.heartbeat(1, { wantShutDown: true, offset: h.offset });
    expect(first.shouldShutDown).toBe(false);
    expect(led()).toBe(0);
    expect(h.image.cluster.brokers.get(1)?.inControlledShutdown).toBe(true);
    // Not yet seen the move: keep going.
    expect(h.heartbeat(1, { wantShutDown: true, offset: h.offset - 1 }).shouldShutDown).toBe(false);
    const done = h.heartbeat(1, { wantShutDown: true, offset: h.offset });
    expect(done).toMatchObject({ shouldShutDown: true, isFenced: true });
    expect(h.image.cluster.brokers.get(1)?.fenced).toBe(true);
  });

  it("controlled shutdown completes across a controller failover, and not before its move commits", () => {
    const h = new Harness();
    h.addBrokers(2);
    h.createTopic("t", 2, 2);
    const epoch = h.image.cluster.brokers.get(1)?.epoch ?? -1;
    const hb = (logic: ControllerLogic, offset: number, image = h.image) => logic.heartbeat(image, { brokerId: 1, brokerEpoch: epoch, currentMetadataOffset: offset, wantFence: false, wantShutDown: true, offlineLogDirs: [] });
    // Generated but not committed yet: a pipelined second heartbeat (seeing the speculative
    // image, as QuorumController's pending image) must not release the broker.
    const pending = hb(h.logic, h.offset);
    const speculative = applyRecords(h.image, pending.records, h.offset, 1);
    expect(speculative.cluster.brokers.get(1)?.inControlledShutdown).toBe(true);
    const early = hb(h.logic, h.offset + 100, speculative);
    expect(early.response.shouldShutDown).toBe(false);
    expect(early.records).toHaveLength(0);
    h.commit(pending);
    const next = new ControllerLogic(h.logic.config, h.clock, () => Buffer.alloc(16, 9));
    next.becameActive(h.image);
    expect(hb(next, h.offset - 1).response.shouldShutDown).toBe(false);
    const done = h.commit(hb(next, h.offset));
    expect(done.shouldShutDown).toBe(true);
    expect(h.image.cluster.brokers.get(1)?.fenced).toBe(true);
  });

  it("a restarted broker (new incarnation) after its session expired re-registers fenced and loses its leaderships", () => {
    const h = new Harness({ sessionTimeoutMs: 1000 });
    h.addBrokers(2);
    h.createTopic("t", 2, 2);
    h.clock.advance(1500);
    h.heartbeat(2);
    const r = h.commit(h.logic.registerBroker(h.image, { brokerId: 1, incarnationId: "new", endpoints: [{ name: "C", host: "h", port: 1 }], rack: "" }));
    expect(r.brokerEpoch).toBeGreaterThan(0);
    expect(h.image.cluster.brokers.get(1)?.fenced).toBe(true);
    for (const i of [0, 1]) expect(h.partition("t", i).leader).toBe(2);
  });

  it("preferred-leader rebalance returns leadership to the first replica", () => {
    const h = new Harness();
    h.addBrokers(3);
    h.createTopic("t", 3, 3);
    h.heartbeat(1, { wantFence: true });
    h.heartbeat(1);
    const moved = [0, 1, 2].filter((i) => h.partition("t", i).replicas[0] === 1);
    expect(moved.every((i) => h.partition("t", i).leader !== 1)).toBe(true);
    // Broker 1 rejoins the ISRs (as its partitions' leaders would ask), then rebalance.
    for (const i of moved) {
      const p = h.partition("t", i);
      const tid = Buffer.from(h.image.topics.byName.get("t") ?? "", "hex");
      h.commit(h.logic.alterPartition(h.image, { brokerId: p.leader, brokerEpoch: h.image.cluster.brokers.get(p.leader)?.epoch ?? -1, topicId: tid, partition: i, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [...p.isr, 1] }));
    }
    expect(h.commit(h.logic.rebalanceLeaders(h.image))).toBe(moved.length);
    for (const i of [0, 1, 2]) expect(h.partition("t", i).leader).toBe(h.partition("t", i).replicas[0]);
  });

  it("seeded random walks keep the invariants: leader in ISR and active, ISR never empty, epochs never go back", () => {
    for (let seed = 1; seed <= 30; seed++) {
      let s = seed;
      const rnd = (n: number) => {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        return s % n;
      };
      const h = new Harness({ sessionTimeoutMs: 1000 });
      h.addBrokers(4);
      h.createTopic("t", 8, 3);
      h.createTopic("u", 4, 2, { "unclean.leader.election.enable": "true" });
      const epochs = new Map<string, number>();
      for (let step = 0; step < 150; step++) {
        const b = 1 + rnd(4);
        const op = rnd(5);
        if (op === 0) h.heartbeat(b, { wantFence: true });
        else if (op === 1) h.heartbeat(b);
        else if (op === 2) h.clock.advance(rnd(1500));
        else if (op === 3) for (let x = 1; x <= 4; x++) if (x !== b) h.heartbeat(x);
        else h.commit(h.logic.expireSessions(h.image));
        forEachPartition(h.image, (t, i, p) => {
          const key = `${t.name}-${i}`;
          expect(p.isr.length, key).toBeGreaterThan(0);
          if (p.leader !== -1) {
            expect(p.isr, `seed ${seed} ${key}`).toContain(p.leader);
            expect(h.image.cluster.brokers.get(p.leader)?.fenced, `seed ${seed} ${key}`).toBe(false);
          }
          expect(p.leaderEpoch).toBeGreaterThanOrEqual(epochs.get(key) ?? 0);
          epochs.set(key, p.leaderEpoch);
        });
      }
    }
  });
});

describe("placement", () => {
  it("spreads replicas and leaders evenly and deterministically", () => {
    const brokers = [1, 2, 3, 4, 5].map((id) => ({ id, rack: "" }));
    const a = placePartitions(brokers, 50, 3, emptyLoad());
    expect(placePartitions(brokers, 50, 3, emptyLoad())).toEqual(a);
    const leaders = new Map<number, number>();
    const replicas = new Map<number, number>();
    for (const r of a) {
      expect(new Set(r).size).toBe(3);
      leaders.set(r[0] ?? -1, (leaders.get(r[0] ?? -1) ?? 0) + 1);
      for (const x of r) replicas.set(x, (replicas.get(x) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([10, 10, 10, 10, 10]);
    expect(Math.max(...replicas.values()) - Math.min(...replicas.values())).toBeLessThanOrEqual(1);
  });

  it("puts replicas on distinct racks when racks are given", () => {
    const brokers = [
      { id: 1, rack: "a" },
      { id: 2, rack: "a" },
      { id: 3, rack: "b" },
      { id: 4, rack: "b" },
      { id: 5, rack: "c" },
      { id: 6, rack: "c" },
    ];
    const rackOf = new Map(brokers.map((b) => [b.id, b.rack]));
    for (const r of placePartitions(brokers, 30, 3, emptyLoad())) expect(new Set(r.map((x) => rackOf.get(x))).size).toBe(3);
  });

  it("balances new partitions against existing load", () => {
    const brokers = [1, 2, 3].map((id) => ({ id, rack: "" }));
    const load = emptyLoad();
    load.leaders.set(1, 5);
    load.replicas.set(1, 5);
    const a = placePartitions(brokers, 4, 1, load);
    expect(a.flat().filter((x) => x === 1)).toHaveLength(0);
  });
});
