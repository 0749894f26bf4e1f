// The broker's own read-only view of committed cluster metadata (brokers, topics, partitions,
// configs), built from the controller's FetchMetadata stream. Immutable values: a new view per
// applied batch of records, so readers never see a half-applied change. Owns no I/O.

/** One advertised listener of a broker (Kafka's advertised.listeners entry). */
export interface EndpointView {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerView {
  readonly id: number;
  readonly epoch: number;
  /** The inter-broker listener's endpoint (replica fetchers dial it), or the first one registered. */
  readonly host: string;
  readonly port: number;
  /** Every endpoint the broker registered; absent in views built by hand (tests, harness). */
  readonly endpoints?: readonly EndpointView[];
  readonly rack: string;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface PartitionView {
  readonly topic: string;
  readonly topicId: string; // hex UUID; a topic re-created under the same name gets a new one
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number; // -1 = none
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicView {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: ReadonlyMap<number, PartitionView>;
  readonly configs: ReadonlyMap<string, string>;
}

export interface MetadataView {
  /** Offset of the last metadata record applied; -1 for the empty view. */
  readonly offset: number;
  readonly clusterId: string;
  readonly brokers: ReadonlyMap<number, BrokerView>;
  readonly topics: ReadonlyMap<string, TopicView>;
}

export const EMPTY_VIEW: MetadataView = {
  offset: -1,
  clusterId: "",
  brokers: new Map(),
  topics: new Map(),
};

export function partitionOf(view: MetadataView, topic: string, partition: number): PartitionView | undefined {
  return view.topics.get(topic)?.partitions.get(partition);
}
