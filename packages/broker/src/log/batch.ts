// Header-level view of Kafka RecordBatch v2 bytes for the log: reading, validating and stamping
// a batch without touching its records (DESIGN.md, data plane). The layout and the checks are
// @brook/protocol's; this module adapts them to the log's names and turns corruption into the
// broker's CORRUPT_MESSAGE error.
//
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 (=2)
//   crc uint32 (CRC-32C of attributes..end) | attributes int16 | lastOffsetDelta int32
//   baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16
//   baseSequence int32 | recordsCount int32 | records...
//
// baseOffset and partitionLeaderEpoch lie outside the CRC, which is what lets the leader
// stamp them in place.
import {
  ATTR_TIMESTAMP_TYPE,
  CorruptRecordError,
  LOG_OVERHEAD,
  RECORD_BATCH_OVERHEAD,
  readBatchHeader as readProtocolHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatch as validateProtocolBatch,
  type RecordBatchHeader,
} from "@brook/protocol";
import { crc32c } from "@brook/protocol";
import { corrupt } from "./errors.js";

export { LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, setBaseOffset, setPartitionLeaderEpoch };

const COMPRESSION_MASK = 0x07;

export interface BatchHeader {
  readonly baseOffset: number;
  /** Total size in bytes, LOG_OVERHEAD included. */
  readonly sizeBytes: number;
  readonly partitionLeaderEpoch: number;
  readonly magic: number;
  readonly crc: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordsCount: number;
}

export function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta;
}

export function lastSequenceOf(h: BatchHeader): number {
  // Sequences wrap at int32 max (Kafka DefaultRecordBatch.incrementSequence).
  const last = h.baseSequence + h.lastOffsetDelta;
  return last > 0x7fffffff ? last - 0x80000000 : last;
}

export function isCompressed(h: BatchHeader): boolean {
  return (h.attributes & COMPRESSION_MASK) !== 0;
}

function toHeader(h: RecordBatchHeader): BatchHeader {
  return {
    baseOffset: h.baseOffset,
    sizeBytes: LOG_OVERHEAD + h.batchLength,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    magic: h.magic,
    crc: h.crc,
    attributes: h.attributes,
    lastOffsetDelta: h.lastOffsetDelta,
    baseTimestamp: h.baseTimestamp,
    maxTimestamp: h.maxTimestamp,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    recordsCount: h.recordCount,
  };
}

/** Reads the fixed header at `pos`; the caller ensures RECORD_BATCH_OVERHEAD bytes are there. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  return toHeader(readProtocolHeader(buf, pos));
}

/**
 * Checks the batch at `pos` of `buf`: complete, magic 2, known attributes, a record count the
 * bytes can hold, CRC-32C. Throws CORRUPT_MESSAGE; never decodes individual records.
 */
export function validateBatch(buf: Buffer, pos: number): BatchHeader {
  try {
    return toHeader(validateProtocolBatch(buf, pos));
  } catch (err) {
    if (err instanceof CorruptRecordError) throw corrupt(`record batch at byte ${pos}: ${err.message}`);
    throw err;
  }
}

/**
 * Marks the batch at `pos` as LogAppendTime with `timestampMs` as its maxTimestamp and
 * recomputes its CRC (both fields are inside it), as Kafka's LogValidator does in place.
 */
export function setLogAppendTime(buf: Buffer, pos: number, h: BatchHeader, timestampMs: number): BatchHeader {
  const attributes = h.attributes | ATTR_TIMESTAMP_TYPE;
  buf.writeInt16BE(attributes, pos + 21);
  buf.writeBigInt64BE(BigInt(timestampMs), pos + 35);
  const crc = crc32c(buf.subarray(pos + 21, pos + h.sizeBytes));
  buf.writeUInt32BE(crc, pos + 17);
  return { ...h, attributes, maxTimestamp: timestampMs, crc };
}

/**
 * Timestamp and offset of each record of an uncompressed batch, for offsetForTimestamp's
 * final step (the only place the log reads inside a batch). Returns null for compressed
 * batches; the caller then answers at batch granularity.
 */
export function recordTimestamps(batch: Buffer, h: BatchHeader): Array<{ offset: number; timestamp: number }> | null {
  // LogAppendTime: every record carries the batch's maxTimestamp, so the batch answers.
  if (isCompressed(h) || (h.attributes & ATTR_TIMESTAMP_TYPE) !== 0) return null;
  const out: Array<{ offset: number; timestamp: number }> = [];
  let pos = RECORD_BATCH_OVERHEAD;
  for (let i = 0; i < h.recordsCount && pos < batch.length; i++) {
    const len = readVarint(batch, pos);
    const bodyStart = len.next;
    let p = bodyStart + 1; // attributes int8
    const tsDelta = readVarint(batch, p);
    p = tsDelta.next;
    const offDelta = readVarint(batch, p);
    out.push({ offset: h.baseOffset + offDelta.value, timestamp: h.baseTimestamp + tsDelta.value });
    pos = bodyStart + len.value;
  }
  return out;
}

/** Zigzag varint (up to 64 bits, returned as a JS number). */
function readVarint(buf: Buffer, pos: number): { value: number; next: number } {
  let raw = 0n;
  let shift = 0n;
  let p = pos;
  for (;;) {
    if (p >= buf.length) throw corrupt(`varint runs past the end of the batch at byte ${pos}`);
    const b = buf[p++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7n;
    if (shift > 63n) throw corrupt(`varint too long at byte ${pos}`);
  }
  const value = (raw >> 1n) ^ -(raw & 1n);
  return { value: Number(value), next: p };
}
