// Public surface of the broker's log layer (re-exported by ../index.ts). Everything else in
// this directory is internal.
export { PartitionLog, UnexpectedAppendOffsetError, CHECKPOINT_FILE } from "./partition_log.js";
export type { AppendInfo, ReadInfo, PartitionLogDeps } from "./partition_log.js";
export { LogManager, parsePartitionDirName, partitionDirName } from "./log_manager.js";
export type { LogManagerOptions, TopicPartition } from "./log_manager.js";
export { LogFlusher } from "./flusher.js";
export { DEFAULT_LOG_CONFIG, InvalidLogConfigError, logConfigFromKafka, validateLogConfig } from "./config.js";
export type { FlushMode, LogConfig } from "./config.js";
export { LeaderEpochCache, divergenceOffset, UNDEFINED_EPOCH, UNDEFINED_OFFSET } from "./epoch_cache.js";
export type { EpochEntry } from "./epoch_cache.js";
export { ProducerStateTable, BATCHES_KEPT_PER_PRODUCER } from "./producer_state.js";
export type { ProducerEntry, BatchMetadata } from "./producer_state.js";
export { LogCode, LogStorageError, OffsetOutOfRangeError } from "./errors.js";
export { nodeLogIo } from "./log_file.js";
export type { LogFile, LogIo } from "./log_file.js";
export { timedLogIo } from "./timed_log_io.js";
export type { DurableWriteKind, DurableWriteObserver } from "./timed_log_io.js";
export { systemClock, silentLogger } from "./types.js";
export type { Clock, LogLogger } from "./types.js";
export { readBatchHeader, validateBatch, lastOffsetOf, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from "./batch.js";
export type { BatchHeader } from "./batch.js";
