// Per-partition log configuration with Kafka's defaults, and the mapping from Kafka's dotted
// topic-config names (used only at the config edge) to these fields.

export type FlushMode = "durable" | "replicated";

export interface LogConfig {
  /** segment.bytes: roll when the active segment would pass this size. */
  readonly segmentBytes: number;
  /** segment.ms: roll when the active segment is older than this. */
  readonly segmentMs: number;
  /** retention.ms: delete segments whose newest record is older; -1 keeps forever. */
  readonly retentionMs: number;
  /** retention.bytes: delete oldest segments while the log is larger; -1 means no limit. */
  readonly retentionBytes: number;
  /** index.interval.bytes: log bytes between offset-index entries. */
  readonly indexIntervalBytes: number;
  /** max.message.bytes: largest batch accepted. */
  readonly maxMessageBytes: number;
  /**
   * message.timestamp.difference.max.ms: a batch whose maxTimestamp differs more than this
   * from the broker clock is rejected with INVALID_TIMESTAMP (Kafka's default: unbounded).
   */
  readonly messageTimestampDifferenceMaxMs: number;
  /**
   * message.timestamp.type: "CreateTime" keeps the producer's timestamps; "LogAppendTime"
   * makes the leader stamp its clock into each batch at append.
   */
  readonly messageTimestampType: "CreateTime" | "LogAppendTime";
  /** flush.mode: "durable" fsyncs (group commit) before a batch counts; "replicated" does not. */
  readonly flushMode: FlushMode;
  /** producer.id.expiration.ms: idempotent-producer state unused this long is dropped. */
  readonly producerIdExpirationMs: number;
  /**
   * cleanup.policy: "delete" (retention only, the default), "compact" (the log cleaner keeps
   * the latest record per key, see cleaner.ts; retention.ms/bytes do not apply) or both.
   */
  readonly cleanupPolicy?: CleanupPolicy;
  /** min.cleanable.dirty.ratio: compaction runs once dirty bytes / cleanable bytes reach it. */
  readonly minCleanableDirtyRatio?: number;
  /** delete.retention.ms: how long a compacted log keeps tombstones. */
  readonly deleteRetentionMs?: number;
}

export type CleanupPolicy = "delete" | "compact" | "compact,delete";

/** cleanup.policy in any order or spacing ("delete,compact" too), or null when invalid. */
export function parseCleanupPolicy(raw: string): CleanupPolicy | null {
  const parts = new Set(raw.split(",").map((p) => p.trim()));
  if (parts.size === 0 || [...parts].some((p) => p !== "delete" && p !== "compact")) return null;
  return parts.has("compact") ? (parts.has("delete") ? "compact,delete" : "compact") : "delete";
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_LOG_CONFIG: LogConfig = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  maxMessageBytes: 1024 * 1024 + 12,
  messageTimestampDifferenceMaxMs: Number.MAX_SAFE_INTEGER,
  messageTimestampType: "CreateTime",
  flushMode: "durable",
  producerIdExpirationMs: DAY_MS,
};

/** Largest max.message.bytes accepted; recovery treats bigger batch lengths as garbage. */
export const MESSAGE_BYTES_MAX = 1 << 28;

/** Smallest segment we accept: one maximal batch must fit, and tiny segments only thrash. */
const SEGMENT_BYTES_MIN = 14;

/** Kafka topic-config name -> field. Unknown names are rejected by `logConfigFromKafka`. */
const KAFKA_NAMES: Record<string, keyof LogConfig> = {
  "segment.bytes": "segmentBytes",
  "segment.ms": "segmentMs",
  "retention.ms": "retentionMs",
  "retention.bytes": "retentionBytes",
  "index.interval.bytes": "indexIntervalBytes",
  "max.message.bytes": "maxMessageBytes",
  "message.timestamp.difference.max.ms": "messageTimestampDifferenceMaxMs",
  "flush.mode": "flushMode",
  "message.timestamp.type": "messageTimestampType",
  "producer.id.expiration.ms": "producerIdExpirationMs",
  "cleanup.policy": "cleanupPolicy",
  "min.cleanable.dirty.ratio": "minCleanableDirtyRatio",
  "delete.retention.ms": "deleteRetentionMs",
};

export class InvalidLogConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidLogConfigError";
  }
}

/** Overlays Kafka-named string settings on `base`; throws InvalidLogConfigError on bad ones. */
export function logConfigFromKafka(settings: Readonly<Record<string, string>>, base: LogConfig = DEFAULT_LOG_CONFIG): LogConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [name, raw] of Object.entries(settings)) {
    const field = KAFKA_NAMES[name];
    if (field === undefined) throw new InvalidLogConfigError(`unknown log config ${name}`);
    if (field === "flushMode") {
      if (raw !== "durable" && raw !== "replicated") throw new InvalidLogConfigError(`flush.mode must be durable or replicated, got ${raw}`);
      out[field] = raw;
    } else if (field === "cleanupPolicy") {
      const policy = parseCleanupPolicy(raw);
      if (policy === null) throw new InvalidLogConfigError(`cleanup.policy must be delete, compact or both, got ${raw}`);
      out[field] = policy;
    } else if (field === "minCleanableDirtyRatio") {
      const ratio = Number(raw);
      if (raw.trim() === "" || !(ratio >= 0 && ratio <= 1)) throw new InvalidLogConfigError(`min.cleanable.dirty.ratio must be a number in [0, 1], got ${raw}`);
      out[field] = ratio;
    } else if (field === "messageTimestampType") {
      if (raw !== "CreateTime" && raw !== "LogAppendTime")
        throw new InvalidLogConfigError(`message.timestamp.type must be CreateTime or LogAppendTime, got ${raw}`);
      out[field] = raw;
    } else {
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw new InvalidLogConfigError(`${name} must be an integer, got ${raw}`);
      out[field] = n;
    }
  }
  return validateLogConfig(out as unknown as LogConfig);
}

export function validateLogConfig(c: LogConfig): LogConfig {
  const positive = (v: number, name: string): void => {
    if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidLogConfigError(`${name} must be a positive integer, got ${v}`);
  };
  positive(c.segmentBytes, "segment.bytes");
  if (c.segmentBytes < SEGMENT_BYTES_MIN || c.segmentBytes > 0x7fffffff)
    throw new InvalidLogConfigError(`segment.bytes must be in [${SEGMENT_BYTES_MIN}, 2^31), got ${c.segmentBytes}`);
  positive(c.segmentMs, "segment.ms");
  positive(c.indexIntervalBytes, "index.interval.bytes");
  positive(c.maxMessageBytes, "max.message.bytes");
  if (c.maxMessageBytes > MESSAGE_BYTES_MAX) throw new InvalidLogConfigError(`max.message.bytes must be at most ${MESSAGE_BYTES_MAX}`);
  positive(c.messageTimestampDifferenceMaxMs, "message.timestamp.difference.max.ms");
  positive(c.producerIdExpirationMs, "producer.id.expiration.ms");
  if (c.retentionMs !== -1) positive(c.retentionMs, "retention.ms");
  if (c.retentionBytes !== -1) positive(c.retentionBytes, "retention.bytes");
  if (c.messageTimestampType !== "CreateTime" && c.messageTimestampType !== "LogAppendTime")
    throw new InvalidLogConfigError(`bad message.timestamp.type ${String(c.messageTimestampType)}`);
  if (c.flushMode !== "durable" && c.flushMode !== "replicated") throw new InvalidLogConfigError(`bad flush mode ${String(c.flushMode)}`);
  if (c.cleanupPolicy !== undefined && parseCleanupPolicy(c.cleanupPolicy) !== c.cleanupPolicy) throw new InvalidLogConfigError(`bad cleanup.policy ${String(c.cleanupPolicy)}`);
  if (c.minCleanableDirtyRatio !== undefined && !(c.minCleanableDirtyRatio >= 0 && c.minCleanableDirtyRatio <= 1))
    throw new InvalidLogConfigError(`min.cleanable.dirty.ratio must be in [0, 1], got ${c.minCleanableDirtyRatio}`);
  if (c.deleteRetentionMs !== undefined && !(Number.isSafeInteger(c.deleteRetentionMs) && c.deleteRetentionMs >= 0))
    throw new InvalidLogConfigError(`delete.retention.ms must be an integer >= 0, got ${c.deleteRetentionMs}`);
  return c;
}
