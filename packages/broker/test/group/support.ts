// Shared by the group coordinator's pure-logic tests: an in-memory stand-in for the replicated
// __consumer_offsets partitions, a metadata view with those partitions and a topic "t", and
// making a coordinator lead every offsets partition.
import type { MetadataView, PartitionView } from "../../src/metadata/view.js";
import { type GroupCoordinator, OFFSETS_TOPIC, type OffsetsLog } from "../../src/group/group_coordinator.js";
import type { RawRecord } from "../../src/group/offsets_records.js";

/** An in-memory stand-in for the replicated __consumer_offsets partitions (pure-logic tests only). */
export class MemoryOffsetsLog implements OffsetsLog {
  readonly partitions = new Map<number, RawRecord[]>();
  failAppends = false;
  async append(partition: number, records: readonly RawRecord[]): Promise<{ errorCode: number; errorMessage: string }> {
    if (this.failAppends) return { errorCode: 19, errorMessage: "NOT_ENOUGH_REPLICAS" };
    const log = this.partitions.get(partition) ?? [];
    log.push(...records);
    this.partitions.set(partition, log);
    return { errorCode: 0, errorMessage: "" };
  }
  logEndOffset(partition: number): number {
    return this.partitions.get(partition)?.length ?? 0;
  }
  async read(partition: number, offset: number): Promise<{ records: readonly RawRecord[]; nextOffset: number }> {
    const log = this.partitions.get(partition) ?? [];
    const records = log.slice(offset, offset + 3); // small pages exercise the replay loop
    return { records, nextOffset: offset + records.length };
  }
}

/** Partitions of __consumer_offsets in groupMetadata's view. */
export const OFFSETS_PARTITIONS = 4;

/** One broker (1) leading everything: __consumer_offsets and a topic "t" of `partitionsOfT`. */
export function groupMetadata(partitionsOfT = 12): MetadataView {
  const part = (topic: string, partition: number): PartitionView => ({ topic, topicId: topic, partition, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
  const topic = (name: string, n: number) => ({
    name,
    topicId: name,
    configs: new Map<string, string>(),
    partitions: new Map(Array.from({ length: n }, (_, p) => [p, part(name, p)] as const)),
  });
  return {
    offset: 1,
    clusterId: "c",
    brokers: new Map([[1, { id: 1, epoch: 1, host: "127.0.0.1", port: 4600, rack: "", fenced: false, inControlledShutdown: false }]]),
    topics: new Map([
      [OFFSETS_TOPIC, topic(OFFSETS_TOPIC, OFFSETS_PARTITIONS)],
      ["t", topic("t", partitionsOfT)],
    ]),
  };
}

/** Makes `c` the leader of every offsets partition and lets its loads run. */
export async function lead(c: GroupCoordinator): Promise<void> {
  for (let p = 0; p < OFFSETS_PARTITIONS; p++) c.onLeadershipChange(OFFSETS_TOPIC, p, true, 1);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

/** A new member's first heartbeat to group `groupId`, subscribed to topic "t". */
export const join = (groupId: string, sessionTimeoutMs = 5_000) => ({
  groupId,
  memberId: "",
  memberEpoch: 0,
  instanceId: "",
  rackId: "",
  rebalanceTimeoutMs: 0,
  subscribedTopicNames: ["t"],
  subscribedTopicRegex: "",
  serverAssignor: "",
  ownedPartitions: [] as { topic: string; partitions: number[] }[],
  sessionTimeoutMs,
});
