// Adapts the log layer (LogManager, PartitionLog, LogFlusher from ./log) to the ReplicaLog /
// LogStore contract the replication layer uses. Topic configs arrive with Kafka's names; only
// the log's own keys are passed down, and an invalid value falls back to the broker default
// (with a warning) rather than making the partition unservable.
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./log/checkpoint_file.js";
import type { Logger } from "pino";
import {
  DEFAULT_LOG_CONFIG,
  LogManager,
  logConfigFromKafka,
  systemClock,
  type FlushMode,
  type LogConfig,
  type LogIo,
  LogStorageError,
  type PartitionLog,
} from "./log/index.js";
import type { PartitionView } from "./metadata/view.js";
import type { ReplicaLog } from "./replica/log_port.js";
import type { LogStore } from "./replica/replica_manager.js";

const LOG_KEYS = new Set([
  "segment.bytes",
  "segment.ms",
  "retention.ms",
  "retention.bytes",
  "index.interval.bytes",
  "max.message.bytes",
  "message.timestamp.difference.max.ms",
  "flush.mode",
  "message.timestamp.type",
  "producer.id.expiration.ms",
  "cleanup.policy",
  "min.cleanable.dirty.ratio",
  "delete.retention.ms",
]);

export interface OpenLogStoreOptions {
  readonly logger: Logger;
  /** File seam for tests that inject disk faults into real files; defaults to real I/O. */
  readonly io?: LogIo;
  readonly flushMode?: FlushMode;
  readonly defaults?: Partial<LogConfig>;
  /** log.retention.check.interval.ms; the log manager's default when absent. */
  readonly retentionCheckIntervalMs?: number;
}

export type ClosableLogStore = LogStore & {
  close(): Promise<void>;
  readonly manager: LogManager;
  /**
   * Registers the handler for the log directory going offline: called once, for the first
   * partition log whose write or fsync failed. The whole directory is offline from then on.
   */
  onOffline(handler: (topic: string, partition: number, err: unknown) => void): void;
  /** The failed log directories (none, or this store's one directory). */
  offlineLogDirs(): readonly string[];
};

/**
 * Partition directories live under `<dataDir>/logs`, apart from anything else a node keeps.
 * `<dataDir>/partition-ids/<topic>-<partition>` records the topic id a log belongs to
 * (Kafka's partition.metadata, KIP-516): a topic deleted and re-created under the same name
 * while this broker was down must not be served from the old topic's log.
 */
export async function openLogStore(dataDir: string, opts: OpenLogStoreOptions): Promise<ClosableLogStore> {
  const defaults: LogConfig = { ...DEFAULT_LOG_CONFIG, ...opts.defaults, ...(opts.flushMode ? { flushMode: opts.flushMode } : {}) };
  const logger = opts.logger.child({ part: "log" });
  let offlineHandler: ((topic: string, partition: number, err: unknown) => void) | undefined;
  const logDir = join(dataDir, "logs");
  // One log directory per broker: the first failed write or fsync in it takes all of it
  // offline (Kafka's offline log dir). Nothing is opened, created or deleted in it afterwards;
  // the partitions' fates are the controller's, and the directory is looked at again only
  // when the broker restarts.
  let dirFailure: LogStorageError | null = null;
  const manager = await LogManager.open(logDir, defaults, {
    clock: systemClock,
    ...(opts.retentionCheckIntervalMs !== undefined ? { retentionCheckIntervalMs: opts.retentionCheckIntervalMs } : {}),
    logger: {
      info: (o, m) => logger.info(o, m),
      warn: (o, m) => logger.warn(o, m),
      error: (o, m) => logger.error(o, m),
    },
    onOffline: (topic, partition, err) => {
      logger.error({ topic, partition, err }, "partition log went offline");
      if (dirFailure !== null) return;
      dirFailure = new LogStorageError(`log directory ${logDir} is offline after a storage error in ${topic}-${partition}`, { cause: err });
      // No more periodic checkpoints or retention writes into a failed directory.
      void manager.stop();
      offlineHandler?.(topic, partition, err);
    },
    ...(opts.io !== undefined ? { io: opts.io } : {}),
  });
  manager.start();
  const idsDir = join(dataDir, "partition-ids");
  await mkdir(idsDir, { recursive: true });
  const idFile = (topic: string, partition: number) => join(idsDir, `${topic}-${partition}`);
  const configFor = (topic: string, configs: ReadonlyMap<string, string>): LogConfig => {
    let config = defaults;
    for (const [k, raw] of configs) {
      if (!LOG_KEYS.has(k)) continue;
      // The controller validates flush.mode as fsync|replicated; the log calls fsync "durable".
      const v = k === "flush.mode" && raw === "fsync" ? "durable" : raw;
      try {
        config = logConfigFromKafka({ [k]: v }, config);
      } catch (err) {
        // One bad value must not make the partition unservable or drop the other settings.
        logger.warn({ topic, key: k, value: raw, err: String(err) }, "invalid topic log config; keeping the broker default for it");
      }
    }
    return config;
  };
  return {
    manager,
    async open(view: PartitionView, configs: ReadonlyMap<string, string>): Promise<ReplicaLog> {
      if (dirFailure !== null) throw dirFailure;
      const file = idFile(view.topic, view.partition);
      const stored = (await readFile(file, "utf8").catch(() => null))?.trim() ?? null;
      if (stored !== null && view.topicId !== "" && stored !== view.topicId) {
        logger.warn({ topic: view.topic, partition: view.partition, stored, current: view.topicId }, "log belongs to an earlier topic of the same name; deleting it");
        await manager.remove(view.topic, view.partition);
      }
      const log = await manager.getOrCreate(view.topic, view.partition, configFor(view.topic, configs));
      // Recorded before the log is handed out, so nothing is appended under an unrecorded id.
      if (stored !== view.topicId && view.topicId !== "") await writeFileAtomic(file, Buffer.from(view.topicId));
      return adapt(log, manager);
    },
    async remove(topic, partition) {
      // Left for the stray-log sweep after a restart on a working disk.
      if (dirFailure !== null) return;
      await manager.remove(topic, partition);
      await rm(idFile(topic, partition), { force: true });
    },
    async removeStrays(keep) {
      if (dirFailure !== null) return [];
      const onDisk = [...manager.all(), ...manager.failedPartitions()];
      const removed: string[] = [];
      for (const { topic, partition } of onDisk) {
        if (keep(topic, partition)) continue;
        logger.info({ topic, partition }, "deleting a partition log no longer assigned to this broker (deleted or reassigned while it was down)");
        await manager.remove(topic, partition);
        await rm(idFile(topic, partition), { force: true });
        removed.push(`${topic}-${partition}`);
      }
      return removed;
    },
    onOffline: (handler) => {
      offlineHandler = handler;
    },
    offlineLogDirs: () => (dirFailure === null ? [] : [logDir]),
    close: async () => {
      try {
        await manager.close();
      } catch (err) {
        // Closing flushes and checkpoints: on a failed disk that fails too, and must not keep
        // the broker from stopping.
        if (dirFailure === null) throw err;
        logger.warn({ err: String(err) }, "closing logs on the offline log directory failed");
      }
    },
  };
}

function adapt(log: PartitionLog, manager: LogManager): ReplicaLog {
  return {
    logStartOffset: () => log.logStartOffset,
    logEndOffset: () => log.logEndOffset,
    durableEndOffset: () => log.durableEndOffset,
    highWatermark: () => log.highWatermark,
    setHighWatermark: (hw) => {
      log.highWatermark = hw;
    },
    appendAsLeader: async (records, leaderEpoch, stillLeads) => {
      const r = await log.appendAsLeader(records, leaderEpoch, true, stillLeads);
      return { baseOffset: r.baseOffset, lastOffset: r.lastOffset, duplicate: r.duplicate, logAppendTimeMs: r.logAppendTimeMs };
    },
    appendAsFollower: async (records) => {
      await log.appendAsFollower(records);
    },
    read: (fetchOffset, maxBytes, maxOffset) => log.read(fetchOffset, maxBytes, maxOffset),
    offsetForTimestamp: (ts) => log.offsetForTimestamp(ts),
    assignEpoch: (epoch, startOffset) => log.assignEpoch(epoch, startOffset),
    latestEpoch: () => log.latestEpoch,
    endOffsetForEpoch: (epoch) => log.endOffsetForEpoch(epoch),
    truncateTo: (offset) => log.truncateTo(offset),
    truncateFullyAndStartAt: (offset) => log.truncateFullyAndStartAt(offset),
    flush: () => manager.flusher.flush(log, log.logEndOffset),
  };
}
