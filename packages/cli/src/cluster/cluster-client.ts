// What the CLI asks of a cluster, in the CLI's own terms. The one implementation
// (sdk-client.ts) maps it onto @brook/client; tests use in-memory fakes of this seam only
// for pure formatting logic.

export interface TopicSummary {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly internal: boolean;
}

export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface TopicDescription extends TopicSummary {
  /** Every config's effective value. */
  readonly configs: Readonly<Record<string, string>>;
  /** The names of the configs set on this topic (the rest are defaults). */
  readonly overrides: readonly string[];
  readonly partitionDetails: readonly PartitionDescription[];
}

/** One member of the metadata quorum, as DescribeCluster reports it. */
export interface QuorumMember {
  readonly id: number;
  readonly logEndOffset: number;
  readonly caughtUpMsAgo: number;
}

export interface ClusterDescription {
  readonly clusterId: string;
  readonly controllerId: number;
  /**
   * The metadata quorum as its leader sees it: per voter and observer (broker), the last
   * metadata log index known to be in its log (-1: unknown) and how long ago its log was last
   * level with the leader's (-1: not since this leader took over).
   */
  readonly quorum: { readonly leaderId: number; readonly term: number; readonly voters: readonly QuorumMember[]; readonly observers: readonly QuorumMember[] };
  readonly brokers: readonly { readonly id: number; readonly host: string; readonly port: number; readonly rack?: string; readonly fenced: boolean }[];
  readonly underReplicatedPartitions: number;
  readonly offlinePartitions: number;
}

export interface GroupSummary {
  readonly groupId: string;
  readonly state: string;
  readonly members: number;
}

export interface GroupDescription extends GroupSummary {
  readonly epoch: number;
  readonly memberDetails: readonly { readonly memberId: string; readonly clientId: string; readonly host: string; readonly assignment: readonly { topic: string; partition: number }[] }[];
  readonly offsets: readonly { readonly topic: string; readonly partition: number; readonly committed: number; readonly logEnd: number; readonly lag: number }[];
}

export interface OutRecord {
  readonly key?: string;
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly partition?: number;
}

export interface InRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
}

export type StartAt = { readonly kind: "earliest" } | { readonly kind: "latest" } | { readonly kind: "offset"; readonly offset: number } | { readonly kind: "timestamp"; readonly timestampMs: number };

export interface ConsumeOptions {
  readonly topic: string;
  readonly groupId?: string;
  readonly partition?: number;
  readonly startAt: StartAt;
  /** Stop at the high watermark seen when consumption starts instead of following. */
  readonly toEnd: boolean;
  readonly maxRecords?: number;
  readonly signal: AbortSignal;
}

export interface ClusterClient {
  listTopics(includeInternal: boolean): Promise<TopicSummary[]>;
  describeTopics(names: readonly string[]): Promise<TopicDescription[]>;
  createTopic(name: string, options: { partitions?: number; replicationFactor?: number; configs: Record<string, string> }): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  /** `configs`: a value sets the override, null deletes it (back to the default). */
  alterTopic(name: string, options: { partitions?: number; configs: Record<string, string | null> }): Promise<void>;
  /** Resolves with where each record landed (same order as `records`). */
  produce(topic: string, records: readonly OutRecord[], acks: -1 | 0 | 1): Promise<{ partition: number; offset: number }[]>;
  consume(options: ConsumeOptions): AsyncIterable<InRecord>;
  listGroups(): Promise<GroupSummary[]>;
  describeGroups(ids: readonly string[]): Promise<GroupDescription[]>;
  deleteGroups(ids: readonly string[]): Promise<void>;
  resetOffsets(groupId: string, topic: string, to: StartAt, dryRun: boolean): Promise<{ topic: string; partition: number; offset: number }[]>;
  describeCluster(): Promise<ClusterDescription>;
  close(): Promise<void>;
}

/** The cluster could not be reached at any bootstrap address. */
export class ClusterUnreachableError extends Error {
  override readonly name = "ClusterUnreachableError";
  constructor(
    readonly addresses: readonly string[],
    readonly reasons: readonly string[],
  ) {
    super(
      `could not reach the cluster at ${addresses.join(", ")}${reasons.length ? ` (${reasons.join("; ")})` : ""}. ` +
        `Is it running (npm run cluster, or docker compose up)? Set the addresses with --bootstrap host:port,... or BROOK_BOOTSTRAP.`,
    );
  }
}
