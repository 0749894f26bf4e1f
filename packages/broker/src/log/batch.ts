// Header-level view of Kafka RecordBatch v2 bytes: reading, validating and stamping a batch
// without touching its records (DESIGN.md, data plane). Local until @brook/protocol exports
// its codec; the layout below is Kafka's and is the contract.
//
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 (=2)
//   crc uint32 (CRC-32C of attributes..end) | attributes int16 | lastOffsetDelta int32
//   baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16
//   baseSequence int32 | recordsCount int32 | records...
//
// baseOffset and partitionLeaderEpoch lie outside the CRC, which is what lets the leader
// stamp them in place.
import { crc32c } from "./crc32c.js";
import { corrupt } from "./errors.js";

/** Bytes before batchLength's payload: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;
/** A batch with no records. */
export const RECORD_BATCH_OVERHEAD = 61;
const CRC_START = 21;
const MAGIC_V2 = 2;
/** attributes bit 4: part of a transaction; bit 5: a control batch. */
const TRANSACTIONAL_FLAG = 0x10;
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

export function isTransactional(h: BatchHeader): boolean {
  return (h.attributes & TRANSACTIONAL_FLAG) !== 0;
}

export function isCompressed(h: BatchHeader): boolean {
  return (h.attributes & COMPRESSION_MASK) !== 0;
}

/** Reads the fixed header at `pos`; the caller ensures RECORD_BATCH_OVERHEAD bytes are there. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  return {
    baseOffset: Number(buf.readBigInt64BE(pos)),
    sizeBytes: LOG_OVERHEAD + buf.readInt32BE(pos + 8),
    partitionLeaderEpoch: buf.readInt32BE(pos + 12),
    magic: buf.readInt8(pos + 16),
    crc: buf.readUInt32BE(pos + 17),
    attributes: buf.readInt16BE(pos + 21),
    lastOffsetDelta: buf.readInt32BE(pos + 23),
    baseTimestamp: Number(buf.readBigInt64BE(pos + 27)),
    maxTimestamp: Number(buf.readBigInt64BE(pos + 35)),
    producerId: Number(buf.readBigInt64BE(pos + 43)),
    producerEpoch: buf.readInt16BE(pos + 51),
    baseSequence: buf.readInt32BE(pos + 53),
    recordsCount: buf.readInt32BE(pos + 57),
  };
}

/**
 * Checks the batch at `pos` of `buf`: enough bytes, magic 2, sane sizes and counts, CRC.
 * Throws CORRUPT_MESSAGE; never looks at individual records.
 */
export function validateBatch(buf: Buffer, pos: number): BatchHeader {
  const remaining = buf.length - pos;
  if (remaining < RECORD_BATCH_OVERHEAD)
    throw corrupt(`truncated record batch at byte ${pos}: ${remaining} bytes left, header needs ${RECORD_BATCH_OVERHEAD}`);
  const h = readBatchHeader(buf, pos);
  if (h.magic !== MAGIC_V2) throw corrupt(`record batch at byte ${pos} has magic ${h.magic}; only v2 is supported`);
  if (h.sizeBytes < RECORD_BATCH_OVERHEAD || h.sizeBytes > remaining)
    throw corrupt(`record batch at byte ${pos} claims ${h.sizeBytes} bytes but ${remaining} are present`);
  if (h.lastOffsetDelta < 0 || h.recordsCount < 0)
    throw corrupt(`record batch at byte ${pos} has negative lastOffsetDelta or record count`);
  const actual = crc32c(buf, pos + CRC_START, pos + h.sizeBytes);
  if (actual !== h.crc)
    throw corrupt(`record batch at byte ${pos} fails its CRC: stored ${h.crc.toString(16)}, computed ${actual.toString(16)}`);
  return h;
}

export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  buf.writeBigInt64BE(BigInt(offset), pos);
}

export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + 12);
}

/**
 * Timestamp and offset of each record of an uncompressed batch, for offsetForTimestamp's
 * final step (the only place the log reads inside a batch). Returns null for compressed
 * batches; the caller then answers at batch granularity.
 */
export function recordTimestamps(batch: Buffer, h: BatchHeader): Array<{ offset: number; timestamp: number }> | null {
  if (isCompressed(h)) return null;
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
