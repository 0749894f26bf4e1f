// The metadata image: an immutable value of the whole committed cluster state, made of
// sub-images (cluster, topics, configs, producer ids) so a delta that touches one part
// reuses the others. Every image knows the log offset and Raft epoch it reflects.
// Built only by MetadataDelta (delta.ts); nothing here mutates after construction.

export interface EndpointInfo {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface BrokerRegistration {
  readonly id: number;
  readonly incarnationId: string;
  readonly epoch: number;
  readonly endpoints: readonly EndpointInfo[];
  readonly rack: string;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface PartitionState {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** -1 = no leader (offline). */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  /** 32 hex chars of the 16-byte topic id. */
  readonly id: string;
  readonly name: string;
  readonly partitions: ReadonlyMap<number, PartitionState>;
}

export interface ClusterImage {
  readonly clusterId: string;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  /** The next broker epoch to hand out; broker epochs only grow. */
  readonly nextBrokerEpoch: number;
}

export interface TopicsImage {
  readonly byId: ReadonlyMap<string, TopicImage>;
  readonly byName: ReadonlyMap<string, string>;
}

/** Keyed by "topic:<name>" or "broker:<id>" (see configKey). */
export interface ConfigsImage {
  readonly resources: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

export interface ProducerIdsImage {
  readonly nextProducerId: number;
}

export interface MetadataImage {
  /** Raft index of the last record reflected; 0 for the empty image. */
  readonly offset: number;
  /** Raft term of that index. */
  readonly epoch: number;
  readonly cluster: ClusterImage;
  readonly topics: TopicsImage;
  readonly configs: ConfigsImage;
  readonly producerIds: ProducerIdsImage;
}

export type ConfigResourceKind = "topic" | "broker";

export function configKey(kind: ConfigResourceKind, name: string): string {
  return `${kind}:${name}`;
}

export const EMPTY_IMAGE: MetadataImage = Object.freeze({
  offset: 0,
  epoch: 0,
  cluster: Object.freeze({ clusterId: "", brokers: new Map(), nextBrokerEpoch: 1 }),
  topics: Object.freeze({ byId: new Map(), byName: new Map() }),
  configs: Object.freeze({ resources: new Map() }),
  producerIds: Object.freeze({ nextProducerId: 0 }),
});

export function topicByName(image: MetadataImage, name: string): TopicImage | undefined {
  const id = image.topics.byName.get(name);
  return id === undefined ? undefined : image.topics.byId.get(id);
}

export function topicConfigs(image: MetadataImage, name: string): ReadonlyMap<string, string> {
  return image.configs.resources.get(configKey("topic", name)) ?? new Map();
}

/** A broker that may lead and be in an ISR: registered, unfenced, not shutting down. */
export function isActiveBroker(image: MetadataImage, id: number): boolean {
  const b = image.cluster.brokers.get(id);
  return b !== undefined && !b.fenced && !b.inControlledShutdown;
}

export function countPartitions(image: MetadataImage): number {
  let n = 0;
  for (const t of image.topics.byId.values()) n += t.partitions.size;
  return n;
}
