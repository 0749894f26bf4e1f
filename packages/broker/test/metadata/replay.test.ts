import { describe, expect, it } from "vitest";
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { MetadataReplayer } from "../../src/metadata/replay.js";

const id = (n: number) => Buffer.from(n.toString(16).padStart(32, "0"), "hex");
const rec = (record: MetadataRecord["record"]): MetadataRecord => ({ version: 1, record });
const register = (brokerId: number, brokerEpoch: number): MetadataRecord =>
  rec({
    $case: "registerBroker",
    registerBroker: { brokerId, incarnationId: "x", brokerEpoch, endpoints: [{ name: "CLIENT", host: "h", port: 9000 + brokerId }], rack: "", fenced: true },
  });

describe("MetadataReplayer", () => {
  it("builds brokers, topics, partitions and configs from a CreateTopics batch", () => {
    const r = new MetadataReplayer();
    r.applyBatch([register(1, 10), register(2, 11)], 11);
    r.applyBatch([rec({ $case: "unfenceBroker", unfenceBroker: { brokerId: 1, brokerEpoch: 10 } })], 12);
    const v = r.applyBatch(
      [
        rec({ $case: "config", config: { resourceType: 2, resourceName: "t", name: "min.insync.replicas", value: "2", delete: false } }),
        rec({ $case: "topic", topic: { name: "t", topicId: id(7) } }),
        rec({ $case: "partition", partition: { topicId: id(7), partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } }),
      ],
      13,
    );
    expect(v.offset).toBe(13);
    expect(v.brokers.get(1)).toMatchObject({ fenced: false, host: "h", port: 9001, epoch: 10 });
    expect(v.brokers.get(2)?.fenced).toBe(true);
    const t = v.topics.get("t")!;
    expect(t.topicId).toBe(id(7).toString("hex"));
    expect(t.configs.get("min.insync.replicas")).toBe("2");
    expect(t.partitions.get(0)).toMatchObject({ leader: 1, isr: [1, 2], leaderEpoch: 0 });
  });

  it("applies partition changes with Kafka's sentinels and epoch rules", () => {
    const r = new MetadataReplayer();
    r.applyBatch(
      [
        rec({ $case: "topic", topic: { name: "t", topicId: id(1) } }),
        rec({ $case: "partition", partition: { topicId: id(1), partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 4, partitionEpoch: 9 } }),
      ],
      1,
    );
    let v = r.applyBatch([rec({ $case: "partitionChange", partitionChange: { topicId: id(1), partition: 0, leader: -2, hasIsr: true, isr: [1, 2], hasReplicas: false, replicas: [] } })], 2);
    expect(v.topics.get("t")!.partitions.get(0)).toMatchObject({ leader: 1, leaderEpoch: 4, partitionEpoch: 10, isr: [1, 2], replicas: [1, 2, 3] });
    v = r.applyBatch([rec({ $case: "partitionChange", partitionChange: { topicId: id(1), partition: 0, leader: 2, hasIsr: true, isr: [2], hasReplicas: false, replicas: [] } })], 3);
    expect(v.topics.get("t")!.partitions.get(0)).toMatchObject({ leader: 2, leaderEpoch: 5, partitionEpoch: 11, isr: [2] });
    v = r.applyBatch([rec({ $case: "partitionChange", partitionChange: { topicId: id(1), partition: 0, leader: -1, hasIsr: false, isr: [], hasReplicas: false, replicas: [] } })], 4);
    expect(v.topics.get("t")!.partitions.get(0)).toMatchObject({ leader: -1, leaderEpoch: 6 });
  });

  it("removes a topic by id and ignores a stale removal after re-creation", () => {
    const r = new MetadataReplayer();
    r.applyBatch([rec({ $case: "topic", topic: { name: "t", topicId: id(1) } })], 1);
    r.applyBatch([rec({ $case: "removeTopic", removeTopic: { topicId: id(1) } }), rec({ $case: "topic", topic: { name: "t", topicId: id(2) } })], 2);
    const v = r.applyBatch([rec({ $case: "removeTopic", removeTopic: { topicId: id(1) } })], 3);
    expect(v.topics.get("t")?.topicId).toBe(id(2).toString("hex"));
  });

  it("a snapshot replaces everything; a stale broker epoch does not fence the new incarnation", () => {
    const r = new MetadataReplayer();
    r.applyBatch([rec({ $case: "topic", topic: { name: "old", topicId: id(1) } }), register(1, 5)], 5);
    const v = r.loadSnapshot([register(1, 20), rec({ $case: "clusterId", clusterId: { clusterId: "c1" } })], 20);
    expect(v.topics.size).toBe(0);
    expect(v.clusterId).toBe("c1");
    const w = r.applyBatch([rec({ $case: "fenceBroker", fenceBroker: { brokerId: 1, brokerEpoch: 5 } })], 21);
    expect(w.brokers.get(1)?.epoch).toBe(20);
    expect(w.brokers.get(1)?.fenced).toBe(true); // registered fenced, and still so
  });

  it("refuses a record version it does not know", () => {
    const r = new MetadataReplayer();
    expect(() => r.applyBatch([{ version: 2, record: { $case: "noOp", noOp: {} } }], 1)).toThrow(/version 2/);
  });
});
