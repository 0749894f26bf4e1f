import { describe, expect, it } from "vitest";
import { Codes, ControllerError } from "../src/errors.js";
import { Harness } from "./helpers.js";

const topic = (name: string, numPartitions = 1, replicationFactor = 1, extra: Partial<{ configs: { name: string; value: string }[]; assignments: { partition: number; brokerIds: number[] }[] }> = {}) => ({
  name,
  numPartitions,
  replicationFactor,
  configs: (extra.configs ?? []).map((c) => ({ ...c, isDefault: false, readOnly: false })),
  assignments: extra.assignments ?? [],
});

function thrown(f: () => unknown): ControllerError {
  try {
    f();
  } catch (e) {
    if (e instanceof ControllerError) return e;
    throw e;
  }
  throw new Error("expected a ControllerError");
}

describe("CreateTopics validation", () => {
  const h = new Harness({ maxPartitionsPerTopic: 100, maxPartitionsPerRequest: 150, maxTopicsPerRequest: 5 });
  h.addBrokers(3);
  h.createTopic("exists", 1, 1);
  h.createTopic("a.b", 1, 1);

  const cases: [string, ReturnType<typeof topic>, number, RegExp][] = [
    ["empty name", topic(""), Codes.INVALID_TOPIC_EXCEPTION, /empty/],
    ["illegal char", topic("bad name"), Codes.INVALID_TOPIC_EXCEPTION, /" "/],
    ["too long", topic("x".repeat(250)), Codes.INVALID_TOPIC_EXCEPTION, /249/],
    ["dot", topic(".."), Codes.INVALID_TOPIC_EXCEPTION, /reserved/],
    ["exists", topic("exists"), Codes.TOPIC_ALREADY_EXISTS, /already exists/],
    ["collision", topic("a_b"), Codes.INVALID_TOPIC_EXCEPTION, /collides with existing topic a\.b/],
    ["zero partitions", topic("p0", 0), Codes.INVALID_PARTITIONS, /1 to 100/],
    ["too many partitions", topic("p1", 101), Codes.INVALID_PARTITIONS, /1 to 100/],
    ["rf zero", topic("r0", 1, 0), Codes.INVALID_REPLICATION_FACTOR, /1 or more/],
    ["rf above brokers", topic("r4", 1, 4), Codes.INVALID_REPLICATION_FACTOR, /larger than the 3 available/],
    ["unknown config", topic("c1", 1, 1, { configs: [{ name: "retention.msec", value: "1" }] }), Codes.INVALID_CONFIG, /unknown config "retention.msec"/],
    ["bad config value", topic("c2", 1, 1, { configs: [{ name: "min.insync.replicas", value: "zero" }] }), Codes.INVALID_CONFIG, /integer/],
    ["min.insync.replicas above the replication factor", topic("c4", 1, 2, { configs: [{ name: "min.insync.replicas", value: "3" }] }), Codes.INVALID_CONFIG, /min\.insync\.replicas=3 is above the replication factor 2.*use at most 2/],
    ["broker-side compression (would have no effect)", topic("c3", 1, 1, { configs: [{ name: "compression.type", value: "zstd" }] }), Codes.INVALID_CONFIG, /only "producer" is supported.*compression: "zstd"/],
    ["assignment with counts", topic("as0", 1, 1, { assignments: [{ partition: 0, brokerIds: [1] }] }), Codes.INVALID_REQUEST, /-1/],
    ["assignment gap", topic("as1", -1, -1, { assignments: [{ partition: 1, brokerIds: [1] }] }), Codes.INVALID_REPLICA_ASSIGNMENT, /without gaps/],
    ["assignment unknown broker", topic("as2", -1, -1, { assignments: [{ partition: 0, brokerIds: [9] }] }), Codes.INVALID_REPLICA_ASSIGNMENT, /broker 9/],
    ["assignment duplicate broker", topic("as3", -1, -1, { assignments: [{ partition: 0, brokerIds: [1, 1] }] }), Codes.INVALID_REPLICA_ASSIGNMENT, /twice/],
  ];
  for (const [label, t, code, msg] of cases) {
    it(`rejects ${label} with a typed error and writes nothing`, () => {
      const r = h.logic.createTopics(h.image, { topics: [t], timeoutMs: 0, validateOnly: false });
      expect(r.records).toHaveLength(0);
      expect(r.response.topics[0]?.error?.code).toBe(code);
      expect(r.response.topics[0]?.error?.message).toMatch(msg);
    });
  }

  it("rejects a topic named twice in one request, and creates the valid ones in the same entry", () => {
    const r = h.logic.createTopics(h.image, { topics: [topic("dup"), topic("dup"), topic("fine", 2, 2)], timeoutMs: 0, validateOnly: false });
    expect(r.response.topics.map((t) => t.error?.code)).toEqual([Codes.INVALID_REQUEST, Codes.INVALID_REQUEST, 0]);
    expect(r.records.map((x) => x.record?.$case)).toEqual(["topic", "partition", "partition"]);
  });

  it("validate-only answers as a real create would but writes nothing", () => {
    const r = h.logic.createTopics(h.image, { topics: [topic("vo", 3, 3)], timeoutMs: 0, validateOnly: true });
    expect(r.response.topics[0]?.error?.code).toBe(0);
    expect(r.response.topics[0]?.numPartitions).toBe(3);
    expect(r.records).toHaveLength(0);
  });

  it("refuses requests over the size limits as a whole", () => {
    const many = Array.from({ length: 6 }, (_, i) => topic(`m${i}`));
    expect(thrown(() => h.logic.createTopics(h.image, { topics: many, timeoutMs: 0, validateOnly: false })).code).toBe(Codes.POLICY_VIOLATION);
    const big = [topic("b1", 100), topic("b2", 100)];
    const e = thrown(() => h.logic.createTopics(h.image, { topics: big, timeoutMs: 0, validateOnly: false }));
    expect(e.code).toBe(Codes.POLICY_VIOLATION);
    expect(e.message).toMatch(/split/);
  });

  it("uses the configured defaults for -1", () => {
    const h2 = new Harness({ defaultPartitions: 4, defaultReplicationFactor: 2 });
    h2.addBrokers(3);
    const r = h2.createTopic("d", -1, -1);
    expect(r?.numPartitions).toBe(4);
    expect(r?.replicationFactor).toBe(2);
  });
});

describe("DeleteTopics and CreatePartitions validation", () => {
  const h = new Harness();
  h.addBrokers(2);
  h.createTopic("t", 2, 2);

  it("DeleteTopics: unknown and duplicate names", () => {
    const r = h.logic.deleteTopics(h.image, { names: ["nope", "t", "t"], timeoutMs: 0 });
    expect(r.response.topics.map((t) => t.error?.code)).toEqual([Codes.UNKNOWN_TOPIC_OR_PARTITION, Codes.INVALID_REQUEST, Codes.INVALID_REQUEST]);
    expect(r.records).toHaveLength(0);
  });

  it("refuses to delete __consumer_offsets or add partitions to it (the groups' commits live there)", () => {
    h.createTopic("__consumer_offsets", 2, 2);
    const del = h.logic.deleteTopics(h.image, { names: ["__consumer_offsets"], timeoutMs: 0 });
    expect(del.records).toHaveLength(0);
    expect(del.response.topics[0]?.error?.code).toBe(Codes.INVALID_TOPIC_EXCEPTION);
    expect(del.response.topics[0]?.error?.message).toMatch(/internal .*cannot be deleted/);
    const grow = h.logic.createPartitions(h.image, { topics: [{ name: "__consumer_offsets", count: 4 }], timeoutMs: 0, validateOnly: false });
    expect(grow.records).toHaveLength(0);
    expect(grow.response.results[0]?.error?.code).toBe(Codes.INVALID_TOPIC_EXCEPTION);
    expect(grow.response.results[0]?.error?.message).toMatch(/away from their committed offsets/);
  });

  it("CreatePartitions: unknown topic, shrinking, and growing", () => {
    const r = h.logic.createPartitions(h.image, { topics: [{ name: "nope", count: 3 }, { name: "t", count: 2 }], timeoutMs: 0, validateOnly: false });
    expect(r.response.results.map((x) => x.error?.code)).toEqual([Codes.UNKNOWN_TOPIC_OR_PARTITION, Codes.INVALID_PARTITIONS]);
    expect(r.response.results[1]?.error?.message).toMatch(/must be larger/);
    h.commit(h.logic.createPartitions(h.image, { topics: [{ name: "t", count: 5 }], timeoutMs: 0, validateOnly: false }));
    expect(h.partition("t", 4).replicas).toHaveLength(2);
  });
});

describe("broker requests validation", () => {
  it("registration: bad id, empty incarnation, no endpoints, bad port, live duplicate", () => {
    const h = new Harness();
    const base = { brokerId: 1, incarnationId: "x", endpoints: [{ name: "CLIENT", host: "h", port: 1 }], rack: "" };
    expect(thrown(() => h.logic.registerBroker(h.image, { ...base, brokerId: -1 })).code).toBe(Codes.INVALID_REQUEST);
    expect(thrown(() => h.logic.registerBroker(h.image, { ...base, incarnationId: "" })).message).toMatch(/UUID/);
    expect(thrown(() => h.logic.registerBroker(h.image, { ...base, endpoints: [] })).code).toBe(Codes.INVALID_REQUEST);
    expect(thrown(() => h.logic.registerBroker(h.image, { ...base, endpoints: [{ name: "C", host: "h", port: 70000 }] })).message).toMatch(/1\.\.65535/);
    const twice = [{ name: "INTERNAL", host: "node1", port: 9092 }, { name: "INTERNAL", host: "127.0.0.1", port: 19092 }];
    expect(thrown(() => h.logic.registerBroker(h.image, { ...base, endpoints: twice })).message).toMatch(/INTERNAL is registered twice/);
    expect(thrown(() => h.logic.registerBroker(h.image, { ...base, endpoints: [{ name: "", host: "h", port: 1 }] })).message).toMatch(/no listener name/);
    h.addBrokers(1);
    const e = thrown(() => h.logic.registerBroker(h.image, { ...base, incarnationId: "another" }));
    expect(e.code).toBe(Codes.DUPLICATE_BROKER_REGISTRATION);
    // The same incarnation retrying is idempotent.
    const inc = h.image.cluster.brokers.get(1)?.incarnationId ?? "";
    const again = h.logic.registerBroker(h.image, { ...base, incarnationId: inc });
    expect(again.records).toHaveLength(0);
    expect(again.response.brokerEpoch).toBe(h.image.cluster.brokers.get(1)?.epoch);
  });

  it("registration keeps every listener's endpoint (INTERNAL and EXTERNAL) in the image", () => {
    const h = new Harness();
    const endpoints = [{ name: "INTERNAL", host: "node1", port: 9092 }, { name: "EXTERNAL", host: "127.0.0.1", port: 19092 }];
    h.commit(h.logic.registerBroker(h.image, { brokerId: 1, incarnationId: "i", endpoints, rack: "" }));
    expect(h.image.cluster.brokers.get(1)?.endpoints).toEqual(endpoints);
  });

  it("heartbeat and producer ids: unknown broker and stale epoch", () => {
    const h = new Harness();
    h.addBrokers(1);
    const epoch = h.image.cluster.brokers.get(1)?.epoch ?? 0;
    expect(thrown(() => h.logic.heartbeat(h.image, { brokerId: 2, brokerEpoch: 1, currentMetadataOffset: 0, wantFence: false, wantShutDown: false, offlineLogDirs: [] })).code).toBe(Codes.BROKER_ID_NOT_REGISTERED);
    expect(thrown(() => h.logic.heartbeat(h.image, { brokerId: 1, brokerEpoch: epoch - 1, currentMetadataOffset: 0, wantFence: false, wantShutDown: false, offlineLogDirs: [] })).code).toBe(Codes.STALE_BROKER_EPOCH);
    expect(thrown(() => h.logic.allocateProducerIds(h.image, 1, epoch + 5)).code).toBe(Codes.STALE_BROKER_EPOCH);
    const a = h.commit(h.logic.allocateProducerIds(h.image, 1, epoch));
    const b = h.commit(h.logic.allocateProducerIds(h.image, 1, epoch));
    expect(b.firstProducerId).toBe(a.firstProducerId + a.size);
  });

  it("AlterPartition: stale leader epoch, stale partition epoch, not leader, bad ISRs, fenced joiner", () => {
    const h = new Harness();
    h.addBrokers(3);
    h.createTopic("t", 1, 3);
    const p = h.partition("t", 0);
    const leader = p.leader;
    const tid = Buffer.from(h.image.topics.byName.get("t") ?? "", "hex");
    const epochOf = (id: number) => h.image.cluster.brokers.get(id)?.epoch ?? -1;
    const req = (o: Partial<{ brokerId: number; leaderEpoch: number; partitionEpoch: number; newIsr: number[] }>) => {
      const brokerId = o.brokerId ?? leader;
      return h.logic.alterPartition(h.image, { brokerId, brokerEpoch: epochOf(brokerId), topicId: tid, partition: 0, leaderEpoch: o.leaderEpoch ?? p.leaderEpoch, partitionEpoch: o.partitionEpoch ?? p.partitionEpoch, newIsr: o.newIsr ?? [leader] }).response.error.code;
    };
    expect(req({ leaderEpoch: p.leaderEpoch - 1 })).toBe(Codes.FENCED_LEADER_EPOCH);
    expect(req({ partitionEpoch: p.partitionEpoch - 1 })).toBe(Codes.INVALID_UPDATE_VERSION);
    expect(req({ brokerId: p.replicas.find((r) => r !== leader) ?? -1 })).toBe(Codes.NOT_LEADER_OR_FOLLOWER);
    expect(req({ newIsr: [leader, leader] })).toBe(Codes.INVALID_REQUEST);
    expect(req({ newIsr: [leader, 9] })).toBe(Codes.INVALID_REQUEST);
    expect(req({ newIsr: p.replicas.filter((r) => r !== leader) })).toBe(Codes.INVALID_REQUEST);
    expect(thrown(() => h.logic.alterPartition(h.image, { brokerId: leader, brokerEpoch: 0, topicId: Buffer.alloc(16), partition: 0, leaderEpoch: 0, partitionEpoch: 0, newIsr: [] })).code).toBe(Codes.STALE_BROKER_EPOCH);
    // Shrink, then a fenced broker may not rejoin.
    const other = p.replicas.find((r) => r !== leader) ?? -1;
    const shrunk = h.commit(h.logic.alterPartition(h.image, { brokerId: leader, brokerEpoch: epochOf(leader), topicId: tid, partition: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: p.isr.filter((r) => r !== other) }));
    expect(shrunk.error.code).toBe(0);
    expect(h.partition("t", 0).partitionEpoch).toBe(p.partitionEpoch + 1);
    h.heartbeat(other, { wantFence: true });
    const q = h.partition("t", 0);
    const rejoin = h.logic.alterPartition(h.image, { brokerId: leader, brokerEpoch: epochOf(leader), topicId: tid, partition: 0, leaderEpoch: q.leaderEpoch, partitionEpoch: q.partitionEpoch, newIsr: [...q.isr, other] });
    expect(rejoin.response.error.code).toBe(Codes.INELIGIBLE_REPLICA);
  });

  it("configs: unknown topic, unknown key, bad value, validate-only, delete", () => {
    const h = new Harness();
    h.addBrokers(1);
    h.createTopic("t", 1, 1);
    const alter = (name: string, ops: { name: string; value: string; delete: boolean }[], validateOnly = false) =>
      h.logic.alterConfigs(h.image, { resources: [{ resource: { type: 2, name }, ops }], validateOnly });
    expect(alter("nope", []).response.results[0]?.error?.code).toBe(Codes.UNKNOWN_TOPIC_OR_PARTITION);
    expect(alter("t", [{ name: "bogus", value: "1", delete: false }]).response.results[0]?.error?.code).toBe(Codes.INVALID_CONFIG);
    expect(alter("t", [{ name: "flush.mode", value: "sometimes", delete: false }]).response.results[0]?.error?.message).toMatch(/durable, replicated/);
    expect(alter("t", [{ name: "flush.mode", value: "fsync", delete: false }]).response.results[0]?.error?.message).toMatch(/durable, replicated/);
    expect(alter("t", [{ name: "flush.mode", value: "durable", delete: false }]).response.results[0]?.error?.code ?? 0).toBe(0);
    // A replication factor of 1 can never have 2 in-sync replicas; 1 is fine.
    expect(alter("t", [{ name: "min.insync.replicas", value: "2", delete: false }]).response.results[0]?.error?.message).toMatch(/above the replication factor 1/);
    expect(alter("t", [{ name: "min.insync.replicas", value: "1", delete: false }]).response.results[0]?.error?.code ?? 0).toBe(0);
    expect(alter("t", [{ name: "retention.ms", value: "5", delete: false }], true).records).toHaveLength(0);
    h.commit(alter("t", [{ name: "retention.ms", value: "5", delete: false }]));
    const d = h.logic.describeConfigs(h.image, { resources: [{ type: 2, name: "t" }] });
    expect(d.results[0]?.configs.find((c) => c.name === "retention.ms")).toMatchObject({ value: "5", isDefault: false });
    h.commit(alter("t", [{ name: "retention.ms", value: "", delete: true }]));
    expect(h.image.configs.resources.has("topic:t")).toBe(false);
  });
});
