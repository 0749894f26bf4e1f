import { describe, expect, it } from "vitest";
import { applyRecords, MetadataDelta } from "../src/image/delta.js";
import { EMPTY_IMAGE } from "../src/image/image.js";
import { decodeBatch, decodeSnapshot, encodeBatch, encodeSnapshot, imageDigest, partitionChange, rec } from "../src/image/records.js";
import { MetadataReplayError } from "../src/errors.js";
import { Harness } from "./helpers.js";

const tid = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");

describe("MetadataDelta replay", () => {
  it("applies topic, partition and partition-change records with Kafka's sentinels and epoch rules", () => {
    let img = applyRecords(
      EMPTY_IMAGE,
      [
        rec({ $case: "topic", topic: { name: "orders", topicId: tid } }),
        rec({ $case: "partition", partition: { topicId: tid, partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } }),
      ],
      5,
      2,
    );
    expect(img.offset).toBe(5);
    expect(img.epoch).toBe(2);
    const before = img;
    // ISR shrink, leader unchanged (-2): partition epoch bumps, leader epoch does not.
    img = applyRecords(img, [partitionChange({ topicId: tid, partition: 0, hasIsr: true, isr: [1, 3] })], 6, 2);
    let p = img.topics.byId.get(tid.toString("hex"))?.partitions.get(0);
    expect(p).toMatchObject({ leader: 1, isr: [1, 3], leaderEpoch: 0, partitionEpoch: 1 });
    // Leader to none (-1): both bump.
    img = applyRecords(img, [partitionChange({ topicId: tid, partition: 0, leader: -1 })], 7, 2);
    p = img.topics.byId.get(tid.toString("hex"))?.partitions.get(0);
    expect(p).toMatchObject({ leader: -1, leaderEpoch: 1, partitionEpoch: 2 });
    // The older image is untouched (immutability) and untouched sub-images are shared.
    expect(before.topics.byId.get(tid.toString("hex"))?.partitions.get(0)?.isr).toEqual([1, 2, 3]);
    expect(img.cluster).toBe(before.cluster);
    expect(img.configs).toBe(before.configs);
  });

  it("removes a topic with its configs and lets the name be reused under a new id", () => {
    const h = new Harness();
    h.addBrokers(1);
    h.createTopic("a", 2, 1, { "retention.ms": "1000" });
    const oldId = h.image.topics.byName.get("a");
    h.commit(h.logic.deleteTopics(h.image, { names: ["a"], timeoutMs: 0 }));
    expect(h.image.topics.byName.has("a")).toBe(false);
    expect(h.image.configs.resources.has("topic:a")).toBe(false);
    h.createTopic("a", 1, 1);
    expect(h.image.topics.byName.get("a")).not.toBe(oldId);
  });

  it("rejects records that contradict the image and newer record versions", () => {
    const d = new MetadataDelta(EMPTY_IMAGE);
    expect(() => d.replay(rec({ $case: "partition", partition: { topicId: tid, partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 } }))).toThrow(MetadataReplayError);
    expect(() => d.replay({ version: 99, record: { $case: "noOp", noOp: {} } })).toThrow(/newer/);
    expect(() => d.replay(rec({ $case: "fenceBroker", fenceBroker: { brokerId: 7, brokerEpoch: 1 } }))).toThrow(/not registered/);
    expect(() => decodeBatch(Buffer.from([0xff, 0xff, 0xff]))).toThrow(MetadataReplayError);
  });

  it("round-trips batches through the codec", () => {
    const records = [rec({ $case: "topic", topic: { name: "x", topicId: tid } }), rec({ $case: "noOp", noOp: {} })];
    expect(decodeBatch(encodeBatch(records))).toEqual(records);
  });
});

describe("snapshots and digest", () => {
  function busyHistory(): Harness {
    const h = new Harness();
    h.addBrokers(4, ["r1", "r1", "r2", "r2"]);
    for (let i = 0; i < 20; i++) h.createTopic(`t${i}`, 3, 3, i % 2 === 0 ? { "min.insync.replicas": "2" } : {});
    h.commit(h.logic.deleteTopics(h.image, { names: ["t3", "t4"], timeoutMs: 0 }));
    h.commit(h.logic.allocateProducerIds(h.image, 1, h.image.cluster.brokers.get(1)?.epoch ?? -1));
    h.heartbeat(2, { wantFence: true });
    h.heartbeat(3, { wantShutDown: true });
    return h;
  }

  it("an image restored from a snapshot plus the log tail equals the full replay", () => {
    const h = busyHistory();
    const full = h.image;
    const cut = Math.floor(h.log.length / 2);
    // Replay the prefix, snapshot it, restore, then replay the tail.
    let prefix = EMPTY_IMAGE;
    for (const e of h.log.slice(0, cut)) prefix = applyRecords(prefix, e.records, e.offset, 1);
    let restored = decodeSnapshot(encodeSnapshot(prefix));
    expect(imageDigest(restored)).toBe(imageDigest(prefix));
    for (const e of h.log.slice(cut)) restored = applyRecords(restored, e.records, e.offset, 1);
    expect(imageDigest(restored)).toBe(imageDigest(full));
    expect(restored.producerIds.nextProducerId).toBe(full.producerIds.nextProducerId);
    expect(restored.cluster.nextBrokerEpoch).toBe(full.cluster.nextBrokerEpoch);
    expect(restored.cluster.brokers.get(3)?.inControlledShutdown).toBe(true);
  });

  it("the digest tells different images apart", () => {
    const h = busyHistory();
    const a = imageDigest(h.image);
    h.createTopic("one-more", 1, 1);
    expect(imageDigest(h.image)).not.toBe(a);
  });
});
