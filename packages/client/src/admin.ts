// Admin: topics, partitions, configs, cluster and quorum, groups, committed offsets and lag.
// Every call goes through the cluster's retry loop; per-item broker errors become typed
// errors (the first failure rejects the call, naming the item).
import {
  ConfigResourceType,
  type DescribeClusterResponse,
  type DescribedGroup,
  type ListedGroup,
  type TopicMetadata,
} from "@brook/protocol/gen/brook/v1/broker";
import type { Cluster } from "./cluster.js";
import { errorFromCode } from "./errors.js";

export interface NewTopic {
  readonly topic: string;
  readonly numPartitions?: number; // default: the broker's num.partitions
  readonly replicationFactor?: number; // default: the broker's default.replication.factor
  readonly configs?: Readonly<Record<string, string>>;
}

/** One topic config: its effective value, and whether it is a default (false: set on the topic). */
export interface ConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly isDefault: boolean;
}

export interface PartitionOffsets {
  readonly partition: number;
  readonly committed: number; // -1 = none
  readonly logEndOffset: number;
  /** logEndOffset - committed; with no commit, the whole log from its start. */
  readonly lag: number;
}

export type { DescribeClusterResponse, DescribedGroup, ListedGroup, TopicMetadata };

function check(error: { code: number; message: string } | undefined, what: string): void {
  if (error !== undefined && error.code !== 0) throw errorFromCode(error.code, error.message, what);
}

export class Admin {
  constructor(private readonly cluster: Cluster) {}

  private get timeout(): number {
    return this.cluster.options.requestTimeoutMs;
  }

  async createTopics(topics: readonly NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const res = await this.cluster.withRetry("CreateTopics", () =>
      this.cluster.anyBroker(
        (c) =>
          c.call(
            (b) => b.createTopics,
            {
              topics: topics.map((t) => ({
                name: t.topic,
                numPartitions: t.numPartitions ?? -1,
                replicationFactor: t.replicationFactor ?? -1,
                configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value, isDefault: false, readOnly: false })),
                assignments: [],
              })),
              timeoutMs,
              validateOnly: opts.validateOnly ?? false,
            },
            timeoutMs + this.timeout,
            "CreateTopics",
          ),
        "CreateTopics",
      ),
    );
    for (const t of res.topics) check(t.error, `Creating topic ${t.name}`);
    await this.cluster.refresh(topics.map((t) => t.topic)).catch(() => undefined);
  }

  async deleteTopics(names: readonly string[], timeoutMs = 30_000): Promise<void> {
    const res = await this.cluster.withRetry("DeleteTopics", () =>
      this.cluster.anyBroker((c) => c.call((b) => b.deleteTopics, { names: [...names], timeoutMs }, timeoutMs + this.timeout, "DeleteTopics"), "DeleteTopics"),
    );
    for (const t of res.topics) check(t.error, `Deleting topic ${t.name}`);
  }

  /** Grows `topic` to `count` partitions in total. */
  async createPartitions(topic: string, count: number, timeoutMs = 30_000): Promise<void> {
    const res = await this.cluster.withRetry("CreatePartitions", () =>
      this.cluster.anyBroker(
        (c) => c.call((b) => b.createPartitions, { topics: [{ name: topic, count }], timeoutMs, validateOnly: false }, timeoutMs + this.timeout, "CreatePartitions"),
        "CreatePartitions",
      ),
    );
    for (const r of res.results) check(r.error, `Adding partitions to ${r.name}`);
  }

  async describeTopics(names: readonly string[]): Promise<TopicMetadata[]> {
    const res = await this.cluster.withRetry("Metadata", () =>
      this.cluster.anyBroker((c) => c.call((b) => b.metadata, { topics: [...names], allowAutoTopicCreation: false }, this.timeout, "Metadata"), "Metadata"),
    );
    for (const t of res.topics) check({ code: t.errorCode, message: "" }, `Describing topic ${t.name}`);
    return res.topics;
  }

  async listTopics(): Promise<string[]> {
    const res = await this.cluster.withRetry("Metadata", () =>
      this.cluster.anyBroker((c) => c.call((b) => b.metadata, { topics: [], allowAutoTopicCreation: false }, this.timeout, "Metadata"), "Metadata"),
    );
    return res.topics.map((t) => t.name).sort();
  }

  async describeCluster(): Promise<DescribeClusterResponse> {
    return this.cluster.withRetry("DescribeCluster", () =>
      this.cluster.anyBroker((c) => c.call((b) => b.describeCluster, {}, this.timeout, "DescribeCluster"), "DescribeCluster"),
    );
  }

  /** Every config of `topic` with its effective value (set on the topic or the broker's default). */
  async describeConfigs(topic: string): Promise<Record<string, string>> {
    return Object.fromEntries((await this.describeConfigEntries(topic)).map((e) => [e.name, e.value]));
  }

  /** describeConfigs with each entry saying whether it is the default or set on the topic (kafka-configs --describe --all). */
  async describeConfigEntries(topic: string): Promise<ConfigEntry[]> {
    const res = await this.cluster.withRetry("DescribeConfigs", () =>
      this.cluster.anyBroker(
        (c) =>
          c.call((b) => b.describeConfigs, { resources: [{ type: ConfigResourceType.CONFIG_RESOURCE_TYPE_TOPIC, name: topic }] }, this.timeout, "DescribeConfigs"),
        "DescribeConfigs",
      ),
    );
    const out: ConfigEntry[] = [];
    for (const r of res.results) {
      check(r.error, `Describing configs of ${topic}`);
      for (const c of r.configs) out.push({ name: c.name, value: c.value, isDefault: c.isDefault });
    }
    return out;
  }

  /** Sets (string) or removes (null) topic config keys incrementally. */
  async alterConfigs(topic: string, changes: Readonly<Record<string, string | null>>): Promise<void> {
    const ops = Object.entries(changes).map(([name, value]) => ({ name, value: value ?? "", delete: value === null }));
    const res = await this.cluster.withRetry("AlterConfigs", () =>
      this.cluster.anyBroker(
        (c) =>
          c.call(
            (b) => b.alterConfigs,
            { resources: [{ resource: { type: ConfigResourceType.CONFIG_RESOURCE_TYPE_TOPIC, name: topic }, ops }], validateOnly: false },
            this.timeout,
            "AlterConfigs",
          ),
        "AlterConfigs",
      ),
    );
    for (const r of res.results) check(r.error, `Altering configs of ${topic}`);
  }

  /** Groups known to every broker (each lists the groups it coordinates). */
  async listGroups(): Promise<ListedGroup[]> {
    await this.cluster.refresh();
    const all = await Promise.all(
      this.cluster.brokerIds().map((id) =>
        this.cluster.withRetry("ListGroups", async () => {
          const res = await this.cluster.connection(id).call((b) => b.listGroups, {}, this.timeout, "ListGroups");
          check(res.error, `Listing groups on broker ${id}`);
          return res.groups;
        }),
      ),
    );
    return all.flat().sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  async describeGroup(groupId: string): Promise<DescribedGroup> {
    return this.withCoordinator(groupId, "DescribeGroups", async (c) => {
      const res = await c.call((b) => b.describeGroups, { groupIds: [groupId] }, this.timeout, "DescribeGroups");
      const g = res.groups[0];
      if (g === undefined) throw errorFromCode(42, "empty answer", `Describing group ${groupId}`);
      check(g.error, `Describing group ${groupId}`);
      return g;
    });
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.withCoordinator(groupId, "DeleteGroups", async (c) => {
      const res = await c.call((b) => b.deleteGroups, { groupIds: [groupId] }, this.timeout, "DeleteGroups");
      for (const g of res.groups) check(g.error, `Deleting group ${groupId}`);
    });
  }

  /** Committed offsets of `groupId` on `topic` with the lag of each partition. */
  async groupOffsets(groupId: string, topic: string): Promise<PartitionOffsets[]> {
    const meta = await this.cluster.topicMetadata(topic);
    const partitions = meta.partitions.map((p) => p.partition).sort((a, b) => a - b);
    const committed = await this.withCoordinator(groupId, "OffsetFetch", async (c) => {
      const res = await c.call((b) => b.offsetFetch, { groupId, topics: [{ topic, partitions }] }, this.timeout, "OffsetFetch");
      check(res.error, `Fetching offsets of ${groupId}`);
      return new Map(res.topics.flatMap((t) => t.partitions.map((p) => [p.partition, p.offset] as const)));
    });
    const [end, start] = await Promise.all([this.listOffsets(topic, -1), this.listOffsets(topic, -2)]);
    return partitions.map((p) => {
      const c = committed.get(p) ?? -1;
      const leo = end.get(p) ?? 0;
      return { partition: p, committed: c, logEndOffset: leo, lag: Math.max(0, leo - (c >= 0 ? c : (start.get(p) ?? 0))) };
    });
  }

  /**
   * Offsets per partition at `timestamp` (-2 earliest, -1 latest, else the first record at or
   * after it, -1 for a partition with none: the raw ListOffsets answer).
   */
  async listOffsets(topic: string, timestamp: number): Promise<Map<number, number>> {
    return listOffsets(this.cluster, topic, timestamp);
  }

  /** Where to start reading `topic` at `timestampMs`: per partition, the first record at or after it, else the log end. */
  async offsetsForTime(topic: string, timestampMs: number): Promise<Map<number, number>> {
    return offsetsForTime(this.cluster, topic, timestampMs);
  }

  private async withCoordinator<T>(groupId: string, what: string, fn: (c: import("./connection.js").BrokerConnection) => Promise<T>): Promise<T> {
    return this.cluster.withRetry(what, async () => {
      try {
        return await fn(await this.cluster.coordinator(groupId));
      } catch (err) {
        this.cluster.forgetCoordinator(groupId);
        throw err;
      }
    });
  }
}

/**
 * Per partition, the first offset whose record is at or after `timestampMs`, or the log end
 * where no record is that recent (ListOffsets answers -1 there; Kafka's offsetsForTimes gives
 * null, and its consumers then start at the end).
 */
export async function offsetsForTime(cluster: Cluster, topic: string, timestampMs: number): Promise<Map<number, number>> {
  const offsets = await listOffsets(cluster, topic, timestampMs);
  if ([...offsets.values()].some((o) => o < 0)) {
    const ends = await listOffsets(cluster, topic, -1);
    for (const [p, o] of offsets) if (o < 0) offsets.set(p, ends.get(p) ?? 0);
  }
  return offsets;
}

/** ListOffsets for every partition of `topic`, one request per leader. */
export async function listOffsets(cluster: Cluster, topic: string, timestamp: number): Promise<Map<number, number>> {
  return cluster.withRetry(`ListOffsets ${topic}`, async () => {
    const meta = await cluster.topicMetadata(topic);
    const byLeader = new Map<number, number[]>();
    for (const p of meta.partitions) {
      const list = byLeader.get(p.leader) ?? [];
      list.push(p.partition);
      byLeader.set(p.leader, list);
    }
    const out = new Map<number, number>();
    await Promise.all(
      [...byLeader].map(async ([leader, partitions]) => {
        if (leader < 0) throw errorFromCode(5, "", `ListOffsets ${topic}`);
        const res = await cluster
          .connection(leader)
          .call((b) => b.listOffsets, { topics: [{ topic, partitions: partitions.map((partition) => ({ partition, timestamp })) }] }, cluster.options.requestTimeoutMs, "ListOffsets");
        for (const t of res.topics)
          for (const p of t.partitions) {
            if (p.errorCode !== 0) throw errorFromCode(p.errorCode, p.errorMessage, `ListOffsets ${topic}-${p.partition}`);
            out.set(p.partition, p.offset);
          }
      }),
    );
    return out;
  });
}
