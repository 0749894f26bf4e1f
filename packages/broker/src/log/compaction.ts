// Log compaction's record-level logic, pure (buffers in, buffers out): walking the records of
// RecordBatch v2 batches, the key -> latest offset map, and rewriting one batch with only the
// records to keep. A kept record's bytes are copied verbatim: its offset and timestamp deltas
// are relative to the batch's base offset and base timestamp, which the rewritten batch keeps,
// so every offset is preserved. The batch keeps its header fields (base offset, last offset
// delta, timestamps, producer id/epoch/sequence, leader epoch); only length, record count and
// CRC change. Compressed batches are inflated and the kept records compressed again with the
// same codec. Batches left with no record are replaced, per run of them in one leader epoch,
// by one empty batch (header only) spanning their offsets, so a segment keeps its offset range
// and a follower copying the log still finds every batch contiguous with its log end.
//
// Kafka semantics: for every key the latest record wins; older records of that key go. A
// tombstone (null value) stays until its batch is older than delete.retention.ms, so
// consumers that were behind still see the delete. Records without a key are kept. Control
// batches are kept as they are.
import { compressionCodec, crc32c } from "@brook/protocol";
import { RECORD_BATCH_OVERHEAD, readBatchHeader, type BatchHeader } from "./batch.js";

const RECORDS_COUNT_AT = 57;
const CRC_AT = 17;
const CRC_FROM = 21;
const LENGTH_AT = 8;
const MAX_INFLATED = 1 << 28;

/** One record as compaction sees it (key bytes shared with the batch). */
export interface RecordRef {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly tombstone: boolean;
  /** Bytes of the whole record (length varint included) within the batch's record area. */
  readonly start: number;
  readonly end: number;
}

function readVarint(buf: Buffer, pos: number, end: number): { value: number; next: number } {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new RangeError("truncated varint");
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return { value: result % 2 === 0 ? result / 2 : -(result + 1) / 2, next: pos };
    mul *= 128;
  }
  throw new RangeError("varint too long");
}

/** The records of an uncompressed record area (`area` holds `count` records back to back). */
export function recordsOf(area: Buffer, count: number, baseOffset: number): RecordRef[] {
  const out: RecordRef[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const start = pos;
    const len = readVarint(area, pos, area.length);
    const end = len.next + len.value;
    if (len.value < 0 || end > area.length) throw new RangeError("record length exceeds its batch");
    let p = len.next + 1; // attributes
    p = readVarint(area, p, end).next; // timestamp delta
    const offsetDelta = readVarint(area, p, end);
    const keyLen = readVarint(area, offsetDelta.next, end);
    p = keyLen.next;
    let key: Buffer | null = null;
    if (keyLen.value >= 0) {
      if (p + keyLen.value > end) throw new RangeError("truncated record key");
      key = area.subarray(p, p + keyLen.value);
      p += keyLen.value;
    }
    const valueLen = readVarint(area, p, end);
    out.push({ offset: baseOffset + offsetDelta.value, key, tombstone: valueLen.value < 0, start, end });
    pos = end;
  }
  return out;
}

/** The record area of a batch at `pos` in `buf`, inflated when compressed. */
export async function recordArea(buf: Buffer, pos: number, h: BatchHeader): Promise<Buffer> {
  const raw = buf.subarray(pos + RECORD_BATCH_OVERHEAD, pos + h.sizeBytes);
  const codec = h.attributes & 0x7;
  return codec === 0 ? raw : compressionCodec(codec).decompress(raw, MAX_INFLATED);
}

export const isControl = (h: BatchHeader): boolean => (h.attributes & 0x20) !== 0;

/** Map keys: the key's bytes as a latin1 string (a byte-exact, compact JS map key). */
export const mapKey = (key: Buffer): string => key.toString("latin1");

/**
 * Key -> offset of its latest record, for the records seen; adding offsets in increasing
 * order keeps the latest. `full` once `maxKeys` distinct keys are held: the caller stops the
 * dirty range at a batch boundary (as Kafka's cleaner does with its bounded offset map).
 */
export class OffsetMap {
  private readonly latest = new Map<string, number>();
  constructor(readonly maxKeys: number) {}

  get size(): number {
    return this.latest.size;
  }

  get full(): boolean {
    return this.latest.size >= this.maxKeys;
  }

  put(key: Buffer, offset: number): void {
    this.latest.set(mapKey(key), offset);
  }

  get(key: Buffer): number | undefined {
    return this.latest.get(mapKey(key));
  }
}

export interface RetainRule {
  /** Latest offsets of the keys seen in the dirty range. */
  readonly map: OffsetMap;
  /** Tombstones in batches whose maxTimestamp is below this are removed. */
  readonly deleteHorizonMs: number;
}

/** Whether a record survives compaction. */
export function retain(r: RecordRef, batchMaxTimestamp: number, rule: RetainRule): boolean {
  if (r.key === null) return true;
  const latest = rule.map.get(r.key);
  if (latest !== undefined && latest > r.offset) return false;
  if (r.tombstone && batchMaxTimestamp < rule.deleteHorizonMs) return false;
  return true;
}

/**
 * The batch at `pos` rewritten with the records `keep` accepts: the same bytes when it keeps
 * them all, null when it keeps none.
 */
export async function rewriteBatch(buf: Buffer, pos: number, keep: (r: RecordRef, h: BatchHeader) => boolean): Promise<Buffer | null> {
  const h = readBatchHeader(buf, pos);
  const original = buf.subarray(pos, pos + h.sizeBytes);
  if (isControl(h)) return original;
  const area = await recordArea(buf, pos, h);
  const records = recordsOf(area, h.recordsCount, h.baseOffset);
  const kept = records.filter((r) => keep(r, h));
  if (kept.length === records.length) return original;
  if (kept.length === 0) return null;
  const plain = Buffer.concat(kept.map((r) => area.subarray(r.start, r.end)));
  const codec = h.attributes & 0x7;
  const body = codec === 0 ? plain : await compressionCodec(codec).compress(plain);
  const out = Buffer.allocUnsafe(RECORD_BATCH_OVERHEAD + body.length);
  original.copy(out, 0, 0, RECORD_BATCH_OVERHEAD);
  body.copy(out, RECORD_BATCH_OVERHEAD);
  out.writeInt32BE(out.length - 12, LENGTH_AT);
  out.writeInt32BE(kept.length, RECORDS_COUNT_AT);
  out.writeUInt32BE(crc32c(out.subarray(CRC_FROM)), CRC_AT);
  return out;
}

/**
 * A batch with no record covering offsets [first.baseOffset, lastOffset] (the batches a pass
 * emptied): header only, no producer, first's leader epoch and timestamp type, CRC computed.
 */
export function emptyBatch(first: BatchHeader, lastOffset: number, maxTimestamp: number): Buffer {
  const out = Buffer.alloc(RECORD_BATCH_OVERHEAD);
  out.writeBigInt64BE(BigInt(first.baseOffset), 0);
  out.writeInt32BE(RECORD_BATCH_OVERHEAD - 12, LENGTH_AT);
  out.writeInt32BE(first.partitionLeaderEpoch, 12);
  out.writeInt8(2, 16);
  out.writeInt16BE(first.attributes & 0x08, 21); // timestamp type only: not compressed, not transactional
  out.writeInt32BE(lastOffset - first.baseOffset, 23);
  out.writeBigInt64BE(BigInt(first.baseTimestamp), 27);
  out.writeBigInt64BE(BigInt(maxTimestamp), 35);
  out.writeBigInt64BE(-1n, 43);
  out.writeInt16BE(-1, 51);
  out.writeInt32BE(-1, 53);
  out.writeInt32BE(0, RECORDS_COUNT_AT);
  out.writeUInt32BE(crc32c(out.subarray(CRC_FROM)), CRC_AT);
  return out;
}

/** Calls `fn` for each whole batch in `buf` (positions within `buf`); returns the bytes walked. */
export function forEachBatch(buf: Buffer, fn: (h: BatchHeader, pos: number) => void): number {
  let pos = 0;
  while (pos + RECORD_BATCH_OVERHEAD <= buf.length) {
    const h = readBatchHeader(buf, pos);
    if (h.sizeBytes < RECORD_BATCH_OVERHEAD || pos + h.sizeBytes > buf.length) break;
    fn(h, pos);
    pos += h.sizeBytes;
  }
  return pos;
}
