// The fixed 61-byte header of a Kafka RecordBatch v2 and the checks the data path runs on
// whole batches without touching records: the broker validates and stamps batches with these
// and never decodes them. Contract: validateBatch either returns the header of a batch that is
// complete, magic 2, CRC-correct and size-consistent, or throws a typed error; no function here
// allocates more than the header object.
//
// RecordBatch v2 (all big-endian):
//   baseOffset int64            @0   \ LOG_OVERHEAD (outside the batch length)
//   batchLength int32           @8   /
//   partitionLeaderEpoch int32  @12  (outside the CRC: stamped by the leader)
//   magic int8                  @16  (= 2)
//   crc uint32                  @17  CRC-32C of bytes @21 .. end
//   attributes int16            @21  bits 0-2 compression, 3 timestamp type, 4 transactional,
//                                    5 control, 6 has delete horizon
//   lastOffsetDelta int32       @23
//   baseTimestamp int64         @27
//   maxTimestamp int64          @35
//   producerId int64            @43
//   producerEpoch int16         @51
//   baseSequence int32          @53
//   recordCount int32           @57
//   records                     @61
import { crc32c } from "../crc32c.js";
import { CorruptRecordError, InvalidRecordError, RecordTooLargeError } from "../errors/errors.js";

export const LOG_OVERHEAD = 12;
export const RECORD_BATCH_OVERHEAD = 61;
export const MAGIC_V2 = 2;

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const RECORDS_OFFSET = 61;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;
export const ATTR_DELETE_HORIZON = 0x40;

/** The smallest possible record: length, attributes, timestamp/offset deltas, null key/value, 0 headers. */
export const MIN_RECORD_BYTES = 7;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const;
export type TimestampType = (typeof TimestampType)[keyof typeof TimestampType];

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x100000000 + buf.readUInt32BE(pos + 4);
}

export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x100000000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x100000000, pos + 4);
}

/** Reads the 61-byte header at pos. Checks only that 61 bytes are there; no CRC or size checks. */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  if (pos < 0 || buf.length - pos < RECORD_BATCH_OVERHEAD) {
    throw new CorruptRecordError("TRUNCATED", `need ${RECORD_BATCH_OVERHEAD} bytes for a batch header at ${pos}, have ${Math.max(0, buf.length - pos)}`, undefined, pos);
  }
  return {
    baseOffset: readInt64(buf, pos),
    batchLength: buf.readInt32BE(pos + BATCH_LENGTH_OFFSET),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(buf, pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(buf, pos + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(buf, pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + PRODUCER_EPOCH_OFFSET),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORD_COUNT_OFFSET),
  };
}

/**
 * Total bytes of the batch at pos (LOG_OVERHEAD + batchLength), checked to be a plausible v2
 * size and, with maxBatchBytes, no larger than the caller accepts. Does not need the whole batch.
 */
export function batchSizeAt(buf: Buffer, pos = 0, maxBatchBytes?: number): number {
  if (pos < 0 || buf.length - pos < LOG_OVERHEAD) {
    throw new CorruptRecordError("TRUNCATED", `need ${LOG_OVERHEAD} bytes for offset and length at ${pos}, have ${Math.max(0, buf.length - pos)}`, undefined, pos);
  }
  const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
    throw new CorruptRecordError("BAD_LENGTH", `batch length ${batchLength} at ${pos} is smaller than the ${RECORD_BATCH_OVERHEAD - LOG_OVERHEAD}-byte v2 header`, undefined, pos);
  }
  const size = LOG_OVERHEAD + batchLength;
  if (maxBatchBytes !== undefined && size > maxBatchBytes) {
    throw new RecordTooLargeError(`batch at ${pos} is ${size} bytes, more than the ${maxBatchBytes} allowed`);
  }
  return size;
}

/**
 * Full structural check of the batch at pos without per-record work: complete, magic 2,
 * known compression, CRC-32C over attributes..end, and a record count the bytes can hold.
 */
export function validateBatch(buf: Buffer, pos = 0, maxBatchBytes?: number): RecordBatchHeader {
  const size = batchSizeAt(buf, pos, maxBatchBytes);
  if (buf.length - pos > MAGIC_OFFSET) {
    const magic = buf.readInt8(pos + MAGIC_OFFSET);
    if (magic !== MAGIC_V2) {
      throw new CorruptRecordError("BAD_MAGIC", `magic byte is ${magic} at ${pos}, only RecordBatch v2 (magic 2) is supported`, undefined, pos);
    }
  }
  if (buf.length - pos < size) {
    throw new CorruptRecordError("TRUNCATED", `batch at ${pos} declares ${size} bytes but only ${buf.length - pos} are present`, undefined, pos);
  }
  const header = readBatchHeader(buf, pos);
  const actual = crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + size));
  if (actual !== header.crc) {
    throw new CorruptRecordError("BAD_CRC", `CRC-32C mismatch at ${pos}: header says 0x${hex(header.crc)}, bytes give 0x${hex(actual)}`, undefined, pos);
  }
  checkHeaderFields(header, size, pos);
  return header;
}

/** Checks of header fields that need no record bytes; shared by validateBatch and the decoder. */
export function checkHeaderFields(header: RecordBatchHeader, size: number, pos: number): void {
  const compression = header.attributes & ATTR_COMPRESSION_MASK;
  if (compression > 4) {
    throw new CorruptRecordError("BAD_ATTRIBUTES", `unknown compression codec ${compression} in attributes 0x${hex(header.attributes)} at ${pos}`, undefined, pos);
  }
  if (header.attributes & ~0x7f) {
    throw new CorruptRecordError("BAD_ATTRIBUTES", `unknown attribute bits in 0x${hex(header.attributes)} at ${pos}`, undefined, pos);
  }
  const { recordCount, lastOffsetDelta } = header;
  if (lastOffsetDelta < 0) {
    throw new CorruptRecordError("BAD_RECORD_COUNT", `negative last offset delta ${lastOffsetDelta} at ${pos}`, undefined, pos);
  }
  if (recordCount < 0) {
    throw new CorruptRecordError("BAD_RECORD_COUNT", `negative record count ${recordCount} at ${pos}`, undefined, pos);
  }
  if (compression === 0 && recordCount * MIN_RECORD_BYTES > size - RECORD_BATCH_OVERHEAD) {
    throw new CorruptRecordError("BAD_RECORD_COUNT", `record count ${recordCount} cannot fit in ${size - RECORD_BATCH_OVERHEAD} bytes of records at ${pos}`, undefined, pos);
  }
  // Offset deltas strictly increase up to lastOffsetDelta, so a batch holds at most
  // lastOffsetDelta + 1 records; this also bounds counts inside compressed batches.
  if (recordCount > 0 && lastOffsetDelta < recordCount - 1) {
    throw new CorruptRecordError("BAD_RECORD_COUNT", `${recordCount} records cannot have a last offset delta of ${lastOffsetDelta} at ${pos}`, undefined, pos);
  }
}

export function lastOffsetOf(header: Pick<RecordBatchHeader, "baseOffset" | "lastOffsetDelta">): number {
  return header.baseOffset + header.lastOffsetDelta;
}

/** The offset the batch after this one starts at. */
export function nextOffsetOf(header: Pick<RecordBatchHeader, "baseOffset" | "lastOffsetDelta">): number {
  return header.baseOffset + header.lastOffsetDelta + 1;
}

export function compressionOf(header: Pick<RecordBatchHeader, "attributes">): number {
  return header.attributes & ATTR_COMPRESSION_MASK;
}

export function isControlBatch(header: Pick<RecordBatchHeader, "attributes">): boolean {
  return (header.attributes & ATTR_CONTROL) !== 0;
}

export function isTransactionalBatch(header: Pick<RecordBatchHeader, "attributes">): boolean {
  return (header.attributes & ATTR_TRANSACTIONAL) !== 0;
}

export function timestampTypeOf(header: Pick<RecordBatchHeader, "attributes">): TimestampType {
  return header.attributes & ATTR_TIMESTAMP_TYPE ? TimestampType.LogAppendTime : TimestampType.CreateTime;
}

/** Stamps the base offset (outside the CRC, so the batch stays valid). */
export function setBaseOffset(buf: Buffer, pos: number, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw new InvalidRecordError(`base offset ${baseOffset} is not a non-negative safe integer`);
  writeInt64(buf, pos + BASE_OFFSET_OFFSET, baseOffset);
}

/** Stamps the partition leader epoch (outside the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < -1 || epoch > 0x7fffffff) throw new InvalidRecordError(`partition leader epoch ${epoch} is not an int32 >= -1`);
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Turns the batch at pos into a LogAppendTime batch stamped with appendTimeMs, as a leader does
 * for topics with message.timestamp.type=LogAppendTime. Both fields sit inside the CRC, so the
 * CRC is recomputed; call it only on a batch that validateBatch accepted.
 */
export function setLogAppendTime(buf: Buffer, pos: number, appendTimeMs: number): void {
  if (!Number.isSafeInteger(appendTimeMs)) throw new InvalidRecordError(`append time ${appendTimeMs} is not a safe integer`);
  const size = LOG_OVERHEAD + buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
  buf.writeInt16BE(buf.readInt16BE(pos + ATTRIBUTES_OFFSET) | ATTR_TIMESTAMP_TYPE, pos + ATTRIBUTES_OFFSET);
  writeInt64(buf, pos + MAX_TIMESTAMP_OFFSET, appendTimeMs);
  buf.writeUInt32BE(crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, pos + size)), pos + CRC_OFFSET);
}

export interface BatchView {
  /** Byte position of the batch in the buffer. */
  readonly position: number;
  /** Total bytes of the batch, LOG_OVERHEAD included. */
  readonly size: number;
  readonly header: RecordBatchHeader;
}

/**
 * Walks a concatenation of batches, validating each. Throws on the first bad or torn batch;
 * the error's `position` says where the valid prefix ends (what log recovery truncates to).
 */
export function* iterateBatches(buf: Buffer, maxBatchBytes?: number): Generator<BatchView> {
  let pos = 0;
  while (pos < buf.length) {
    const header = validateBatch(buf, pos, maxBatchBytes);
    const size = LOG_OVERHEAD + header.batchLength;
    yield { position: pos, size, header };
    pos += size;
  }
}

export function forEachBatch(buf: Buffer, fn: (view: BatchView) => void, maxBatchBytes?: number): number {
  let count = 0;
  for (const view of iterateBatches(buf, maxBatchBytes)) {
    fn(view);
    count++;
  }
  return count;
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}
