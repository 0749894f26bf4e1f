// The table of every setting a brook node understands: its Kafka name (where Kafka has one),
// type, default, allowed values and one line of help. Parsing and validation live in
// resolve.ts; this file is data only, so docs and `brook --help` can be generated from it.

export type KeyType =
  | { kind: "int"; min?: number; max?: number }
  | { kind: "bool" }
  | { kind: "string" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "list"; values?: readonly string[] };

export interface KeySpec {
  readonly key: string;
  readonly type: KeyType;
  /** Raw default as it would be written in a properties file; absent means "required" unless optional. */
  readonly default?: string;
  readonly optional?: boolean;
  /** Other names accepted for the same setting (Kafka's topic-level names for broker defaults). */
  readonly aliases?: readonly string[];
  readonly doc: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const CONFIG_KEYS: readonly KeySpec[] = [
  { key: "node.id", type: { kind: "int", min: 0, max: 2 ** 31 - 1 }, doc: "This node's id; unique in the cluster and equal to its entry in controller.quorum.voters when it is a controller." },
  { key: "process.roles", type: { kind: "list", values: ["broker", "controller"] }, default: "broker,controller", doc: "Roles this node runs: broker, controller, or both (combined mode)." },
  { key: "controller.quorum.voters", type: { kind: "string" }, doc: "The static Raft voter set: id@host:port,... (e.g. 1@node1:9093,2@node2:9093,3@node3:9093)." },
  { key: "cluster.id", type: { kind: "string" }, optional: true, doc: "Cluster id written to meta.properties at first start; default: derived from controller.quorum.voters so every node of one cluster agrees without a format step." },
  { key: "listeners", type: { kind: "string" }, default: "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093", doc: "NAME://host:port,... the node binds. The controller listener carries Raft and the controller API." },
  { key: "advertised.listeners", type: { kind: "string" }, optional: true, doc: "NAME://host:port,... published to clients and other brokers; default: listeners (without the controller listener) with a wildcard host replaced by the machine's hostname." },
  { key: "controller.listener.names", type: { kind: "string" }, default: "CONTROLLER", doc: "Which listener is the controller listener." },
  { key: "inter.broker.listener.name", type: { kind: "string" }, default: "PLAINTEXT", doc: "Which listener other brokers use to reach this one (replication); it must be in listeners and advertised.listeners. Set it when the listeners are not named PLAINTEXT (e.g. INTERNAL)." },
  { key: "listener.security.protocol.map", type: { kind: "string" }, optional: true, doc: "NAME:PROTOCOL,... for every listener, as in Kafka (e.g. INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT); default: a listener named after a protocol uses it, and the controller listener is PLAINTEXT. Only PLAINTEXT is supported today." },
  { key: "http.listener", type: { kind: "string" }, default: "0.0.0.0:8080", doc: "host:port of the HTTP port: /metrics, /healthz, /readyz." },
  { key: "log.dirs", type: { kind: "string" }, doc: "Data directory of this node (one directory; see the data layout in packages/server/README.md)." },
  { key: "broker.rack", type: { kind: "string" }, optional: true, doc: "Rack of this broker, used for rack-aware replica placement." },
  { key: "num.partitions", type: { kind: "int", min: 1, max: 100_000 }, default: "1", doc: "Default partition count of new topics." },
  { key: "default.replication.factor", type: { kind: "int", min: 1, max: 32 }, default: "1", doc: "Default replication factor of new topics." },
  { key: "min.insync.replicas", type: { kind: "int", min: 1, max: 32 }, default: "1", doc: "Fewest in-sync replicas for an acks=all produce to succeed." },
  { key: "log.retention.ms", type: { kind: "int", min: -1 }, default: String(7 * DAY_MS), aliases: ["retention.ms"], doc: "Delete segments older than this (-1: keep forever)." },
  { key: "log.retention.bytes", type: { kind: "int", min: -1 }, default: "-1", aliases: ["retention.bytes"], doc: "Delete oldest segments when a partition exceeds this size (-1: no limit)." },
  { key: "log.segment.bytes", type: { kind: "int", min: 1024, max: 2 ** 31 - 1 }, default: String(1024 * 1024 * 1024), aliases: ["segment.bytes"], doc: "Roll a new segment at this size." },
  { key: "producer.id.expiration.ms", type: { kind: "int", min: 1 }, default: String(DAY_MS), doc: "Drop an idempotent producer's state on a partition after this long without a write (its next batch then starts a new producer id, transparently for the SDK)." },
  { key: "log.retention.check.interval.ms", type: { kind: "int", min: 1 }, default: String(5 * 60_000), doc: "How often retention (and producer-state expiry) runs." },
  { key: "log.roll.ms", type: { kind: "int", min: 1 }, default: String(7 * DAY_MS), aliases: ["segment.ms"], doc: "Roll a new segment at this age." },
  { key: "log.flush.mode", type: { kind: "enum", values: ["durable", "replicated"] }, default: "durable", aliases: ["flush.mode"], doc: "durable: fsync before a batch counts toward the high watermark; replicated: durability from replication alone (Kafka's default)." },
  { key: "message.max.bytes", type: { kind: "int", min: 1024, max: 2 ** 30 }, default: "1048588", doc: "Largest record batch a broker accepts." },
  { key: "auto.create.topics.enable", type: { kind: "bool" }, default: "false", doc: "Create a topic on first produce or metadata request for it." },
  { key: "unclean.leader.election.enable", type: { kind: "bool" }, default: "false", doc: "Allow an out-of-sync replica to become leader (may lose acknowledged records)." },
  { key: "replica.lag.time.max.ms", type: { kind: "int", min: 100 }, default: "5000", doc: "A follower that has not caught up for this long leaves the ISR (Kafka: 30000; shorter bounds the acks=all stall when a follower dies, as in packages/broker)." },
  { key: "broker.session.timeout.ms", type: { kind: "int", min: 100 }, default: "1000", doc: "A broker that has not heartbeaten for this long is fenced and its partitions move (Kafka: 9000; 1000 keeps failover near 1 s, see packages/server/README.md)." },
  { key: "broker.heartbeat.interval.ms", type: { kind: "int", min: 10 }, default: "200", doc: "How often a broker heartbeats the controller (Kafka: 2000; a fifth of broker.session.timeout.ms, so fencing needs 5 missed beats)." },
  { key: "controller.quorum.election.timeout.ms", type: { kind: "int", min: 10 }, default: "1000", doc: "Raft election timeout." },
  { key: "offsets.topic.num.partitions", type: { kind: "int", min: 1, max: 1000 }, default: "12", doc: "Partitions of __consumer_offsets, created on the first FindCoordinator (fixed once the topic exists). Kafka's default is 50; 12 spreads coordinators over a three-node dev cluster without 50 partitions of replication traffic." },
  { key: "offsets.topic.replication.factor", type: { kind: "int", min: 1, max: 32 }, default: "3", doc: "Replication factor of __consumer_offsets, capped by the brokers registered when it is created." },
  { key: "group.consumer.session.timeout.ms", type: { kind: "int", min: 100 }, default: "45000", doc: "A consumer that has not heartbeaten for this long leaves its group." },
  { key: "group.consumer.heartbeat.interval.ms", type: { kind: "int", min: 10 }, default: "5000", doc: "Heartbeat interval the coordinator gives consumers." },
  { key: "shutdown.timeout.ms", type: { kind: "int", min: 100 }, default: "30000", doc: "Longest a SIGTERM (controlled) shutdown may take before the process exits anyway." },
  { key: "log.level", type: { kind: "enum", values: ["trace", "debug", "info", "warn", "error", "fatal"] }, default: "info", doc: "Log level of this node." },
];

/** BROOK_ + the key upper-cased with dots as underscores: node.id -> BROOK_NODE_ID. */
export function envName(key: string): string {
  return "BROOK_" + key.toUpperCase().replace(/[.-]/g, "_");
}
