import { describe, expect, it } from "vitest";
import type { CreateTopicsRequest, CreateTopicsResponse } from "@brook/protocol/gen/brook/v1/broker";
import { GroupCode } from "../../src/group/codes.js";
import { GroupCoordinator, type OffsetsLog } from "../../src/group/group_coordinator.js";
import { OFFSETS_TOPIC, offsetsTopicCreator, offsetsTopicRequest } from "../../src/group/offsets_topic.js";
import type { BrokerView, MetadataView } from "../../src/metadata/view.js";

const broker = (id: number): [number, BrokerView] => [id, { id, epoch: 1, host: "127.0.0.1", port: 4800 + id, rack: "", fenced: false, inControlledShutdown: false }];
const viewWith = (brokers: number): MetadataView => ({ offset: 1, clusterId: "c", brokers: new Map(Array.from({ length: brokers }, (_, i) => broker(i + 1))), topics: new Map() });
const unusedLog: OffsetsLog = {
  append: () => Promise.reject(new Error("unused")),
  read: () => Promise.reject(new Error("unused")),
  logEndOffset: () => -1,
};

describe("__consumer_offsets creation", () => {
  it("asks for the configured partitions, replication capped by the registered brokers, compacted, and no time retention", () => {
    const one = offsetsTopicRequest({ partitions: 12, replicationFactor: 3 }, viewWith(1)).topics[0]!;
    expect(one).toMatchObject({ name: OFFSETS_TOPIC, numPartitions: 12, replicationFactor: 1 });
    expect(one.configs).toContainEqual(expect.objectContaining({ name: "retention.ms", value: "-1" }));
    expect(one.configs).toContainEqual(expect.objectContaining({ name: "cleanup.policy", value: "compact" }));
    expect(one.configs).toContainEqual(expect.objectContaining({ name: "segment.bytes", value: String(100 * 1024 * 1024) }));
    expect(offsetsTopicRequest({ partitions: 12, replicationFactor: 3 }, viewWith(5)).topics[0]!.replicationFactor).toBe(3);
  });

  it("FindCoordinator while the topic is missing answers COORDINATOR_NOT_AVAILABLE and starts one creation at a time", async () => {
    const requests: CreateTopicsRequest[] = [];
    let answer: (r: CreateTopicsResponse) => void = () => {};
    const createTopics = (req: CreateTopicsRequest) => {
      requests.push(req);
      return new Promise<CreateTopicsResponse>((resolve) => (answer = resolve));
    };
    const errors: unknown[] = [];
    const view = viewWith(3);
    const create = offsetsTopicCreator({ partitions: 12, replicationFactor: 3 }, () => view, createTopics, (e) => errors.push(e));
    const coordinator = new GroupCoordinator({ nodeId: 1, log: unusedLog, metadata: () => view, clock: () => 0, newMemberId: () => "m", createOffsetsTopic: create });
    const first = await coordinator.findCoordinator({ groupId: "g" });
    await coordinator.findCoordinator({ groupId: "h" });
    expect(first.error?.code).toBe(GroupCode.COORDINATOR_NOT_AVAILABLE);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.topics[0]!.replicationFactor).toBe(3);
    // Another broker won the race: not an error, and the next FindCoordinator may try again.
    answer({ topics: [{ name: OFFSETS_TOPIC, topicId: Buffer.alloc(0), error: { code: 36, message: "exists" }, numPartitions: 12, replicationFactor: 3 }] });
    await new Promise((r) => setTimeout(r, 0));
    expect(errors).toEqual([]);
    await coordinator.findCoordinator({ groupId: "g" });
    expect(requests).toHaveLength(2);
  });
});
