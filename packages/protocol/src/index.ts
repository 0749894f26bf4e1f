// @brook/protocol: the bytes and names every Brook package agrees on: the RecordBatch v2 codec
// and its whole-batch checks, CRC-32C, compression codecs, Kafka's murmur2 partitioner and the
// error-code table. Generated gRPC code is imported separately from "@brook/protocol/gen/brook/v1/<file>".
export {
  allErrors,
  BrookProtocolError,
  CorruptRecordError,
  type CorruptionReason,
  ErrorCode,
  type ErrorInfo,
  errorInfo,
  type ErrorName,
  InvalidRecordError,
  type KnownErrorCode,
  RecordTooLargeError,
  UnsupportedCompressionError,
} from "./errors/errors.js";
export { crc32c, crc32cImplementation, crc32cJs, crc32cNative } from "./crc32c.js";
export { encodeNoCopy, type MessageEncoder } from "./encode_no_copy.js";
export { SERVER_RECEIVE_WINDOW, widenReceiveWindow } from "./server_receive_window.js";
export { pickFreePorts } from "./net/free_ports.js";
export { allocPreframed, frameOf, installPreframing } from "./preframed_message.js";
export { murmur2, partitionForKey, toPositive } from "./murmur2.js";
export { type CompressionCodec, compressionCodec, compressionName, CompressionType, isCompressionSupported } from "./compression.js";
export {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_DELETE_HORIZON,
  ATTR_TIMESTAMP_TYPE,
  ATTR_TRANSACTIONAL,
  batchSizeAt,
  type BatchView,
  compressionOf,
  forEachBatch,
  isControlBatch,
  isTransactionalBatch,
  iterateBatches,
  lastOffsetOf,
  LOG_OVERHEAD,
  MAGIC_V2,
  nextOffsetOf,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  readBatchHeader,
  RECORD_BATCH_OVERHEAD,
  type RecordBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  TimestampType,
  timestampTypeOf,
  validateBatch,
} from "./record_batch/header.js";
export {
  type DecodedBatch,
  type DecodedHeader,
  type DecodedRecord,
  decodeRecordBatch,
  decodeRecordBatchAsync,
  decodeRecordBatches,
  decodeRecordBatchesAsync,
  type DecodeOptions,
  DEFAULT_MAX_UNCOMPRESSED_BYTES,
  type EncodeBatchOptions,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  type RecordHeader,
  type RecordInput,
} from "./record_batch/codec.js";
