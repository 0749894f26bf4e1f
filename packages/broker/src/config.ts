// Broker settings (Kafka's names in camelCase) and their defaults. Defaults favour fast
// failover on small clusters; each differing from Kafka says why.
export interface BrokerConfig {
  /** num.partitions: used when CreateTopics asks for the default (-1). */
  readonly numPartitions: number;
  /** default.replication.factor */
  readonly defaultReplicationFactor: number;
  /** min.insync.replicas: broker-wide default; a topic config overrides it. */
  readonly minInsyncReplicas: number;
  /**
   * replica.lag.time.max.ms. Kafka uses 30 s. Brook uses 5 s: with acks=all a dead follower
   * stalls every write until it leaves the ISR, so this bounds that stall; 5 s still rides
   * out GC pauses and fsync stalls on a busy machine without flapping the ISR. A dead
   * follower leaves the ISR sooner, when the controller fences it (broker session, 1 s).
   */
  readonly replicaLagTimeMaxMs: number;
  /** replica.fetch.wait.max.ms (Kafka 500). */
  readonly replicaFetchWaitMaxMs: number;
  /** replica.fetch.max.bytes per response. */
  readonly replicaFetchMaxBytes: number;
  /** message.max.bytes: largest record batch a topic accepts unless max.message.bytes overrides. */
  readonly messageMaxBytes: number;
  /**
   * broker.heartbeat.interval.ms. Kafka 2 s; Brook 200 ms, a fifth of the controller's 1 s
   * broker session timeout (which sets failover time), so 5 beats must be missed to be fenced.
   */
  readonly brokerHeartbeatIntervalMs: number;
  /** How long a controlled shutdown waits for leadership to move before stopping anyway. */
  readonly controlledShutdownTimeoutMs: number;
  /**
   * offsets.topic.num.partitions. Kafka 50; Brook 12: enough to spread coordinators over a
   * three-node dev cluster without 50 partitions' worth of replication streams on 2 cores.
   */
  readonly offsetsTopicNumPartitions: number;
  /** offsets.topic.replication.factor (capped by the registered brokers at creation). */
  readonly offsetsTopicReplicationFactor: number;
  /** flush.mode default for topics: "durable" (fsync before HW counts) or "replicated". */
  readonly flushMode: "durable" | "replicated";
  /** producer.id.expiration.ms (Kafka 1 day): idempotent-producer state unused this long is dropped. */
  readonly producerIdExpirationMs: number;
  /** log.retention.check.interval.ms (Kafka 5 min): how often retention and producer expiry run. */
  readonly logRetentionCheckIntervalMs: number;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  numPartitions: 1,
  defaultReplicationFactor: 1,
  minInsyncReplicas: 1,
  replicaLagTimeMaxMs: 5_000,
  replicaFetchWaitMaxMs: 500,
  replicaFetchMaxBytes: 10 * 1024 * 1024,
  messageMaxBytes: 1_048_588,
  brokerHeartbeatIntervalMs: 200,
  controlledShutdownTimeoutMs: 30_000,
  offsetsTopicNumPartitions: 12,
  offsetsTopicReplicationFactor: 3,
  flushMode: "durable",
  producerIdExpirationMs: 24 * 60 * 60_000,
  logRetentionCheckIntervalMs: 5 * 60_000,
};
