// Kafka RecordBatch v2 encoding for the producer, shaped for the SDK's hot path (CRC-32C from
// @brook/protocol, native when available). Encoding sizes the batch first and writes it into
// one Buffer, so each batch is encoded exactly once. Compression: every codec of
// @brook/protocol (gzip, snappy, lz4, zstd; the native ones when their module loads here),
// always off the event loop. The consumer reads batches in place (consumer/record_cursor.ts).
import { compressionCodec, crc32c } from "@brook/protocol";

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface BatchRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
}

export interface BatchMeta {
  readonly producerId: number; // -1 = not idempotent
  readonly producerEpoch: number;
  readonly baseSequence: number; // -1 = none
  readonly compression: CompressionName;
}

const HEADER = 61; // bytes before the first record
/** Bytes of a batch before its first record. */
export const BATCH_HEADER_BYTES = HEADER;
const CRC_FROM = 21; // attributes start: the CRC covers attributes..end

const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);

function varintSize(n: number): number {
  let v = zigzag(n);
  let size = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  let v = zigzag(n);
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

function bytesSize(b: Buffer | null): number {
  return b === null ? varintSize(-1) : varintSize(b.length) + b.length;
}

/** Bytes one record takes inside a batch (before compression); used for size limits. */
export function recordSize(r: BatchRecord, offsetDelta: number, timestampDelta: number): number {
  const body = bodySize(r, offsetDelta, timestampDelta);
  return varintSize(body) + body;
}

function bodySize(r: BatchRecord, offsetDelta: number, timestampDelta: number): number {
  let size = 1 + varintSize(timestampDelta) + varintSize(offsetDelta) + bytesSize(r.key) + bytesSize(r.value) + varintSize(r.headers.length);
  for (const h of r.headers) {
    const k = Buffer.byteLength(h.key, "utf8");
    size += varintSize(k) + k + bytesSize(h.value);
  }
  return size;
}

/**
 * Body sizes of the batch being encoded, computed once by recordsSize and read back by
 * writeRecords (encoding is synchronous up to the write, so one scratch array serves all).
 */
let bodySizes = new Int32Array(1024);

/** Total bytes of `records` in a batch, remembering each body size for writeRecords. */
function recordsSize(records: readonly BatchRecord[], baseTimestamp: number): number {
  if (bodySizes.length < records.length) bodySizes = new Int32Array(Math.max(records.length, 2 * bodySizes.length));
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const body = bodySize(r, i, r.timestamp - baseTimestamp);
    bodySizes[i] = body;
    size += varintSize(body) + body;
  }
  return size;
}

/** Writes the records sized by the recordsSize call just before. */
function writeRecords(records: readonly BatchRecord[], baseTimestamp: number, out: Buffer, start: number): number {
  let pos = start;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const tsDelta = r.timestamp - baseTimestamp;
    pos = writeVarint(out, pos, bodySizes[i]!);
    out[pos++] = 0;
    pos = writeVarint(out, pos, tsDelta);
    pos = writeVarint(out, pos, i);
    pos = writeBytes(out, pos, r.key);
    pos = writeBytes(out, pos, r.value);
    pos = writeVarint(out, pos, r.headers.length);
    for (const h of r.headers) {
      const k = Buffer.byteLength(h.key, "utf8");
      pos = writeVarint(out, pos, k);
      pos += out.write(h.key, pos, "utf8");
      pos = writeBytes(out, pos, h.value);
    }
  }
  return pos;
}

function writeBytes(out: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(out, pos, -1);
  pos = writeVarint(out, pos, b.length);
  out.set(b, pos); // TypedArray.set: no trip through Buffer.copy's argument checks
  return pos + b.length;
}

function writeHeader(out: Buffer, records: readonly BatchRecord[], meta: BatchMeta, baseTimestamp: number, maxTimestamp: number): void {
  out.writeBigInt64BE(0n, 0); // base offset: stamped by the leader
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt32BE(-1, 12); // partition leader epoch: stamped by the leader
  out.writeInt8(2, 16);
  out.writeInt16BE(Compression[meta.compression], 21);
  out.writeInt32BE(records.length - 1, 23);
  out.writeBigInt64BE(BigInt(baseTimestamp), 27);
  out.writeBigInt64BE(BigInt(maxTimestamp), 35);
  out.writeBigInt64BE(BigInt(meta.producerId), 43);
  out.writeInt16BE(meta.producerEpoch, 51);
  out.writeInt32BE(meta.baseSequence, 53);
  out.writeInt32BE(records.length, 57);
  out.writeUInt32BE(crc32c(out.subarray(CRC_FROM)), 17);
}

function timestamps(records: readonly BatchRecord[]): [number, number] {
  let base = Infinity;
  let max = -Infinity;
  for (const r of records) {
    if (r.timestamp < base) base = r.timestamp;
    if (r.timestamp > max) max = r.timestamp;
  }
  return [base, max];
}

/** Where an encoded batch's memory comes from (the producer lends pooled slabs). */
export type Alloc = (size: number) => Buffer;

const allocUnsafe: Alloc = (size) => Buffer.allocUnsafe(size);

/** Encodes an uncompressed batch into one Buffer from `alloc`. */
export function encodeBatch(records: readonly BatchRecord[], meta: BatchMeta, alloc: Alloc = allocUnsafe): Buffer {
  if (records.length === 0) throw new RangeError("a batch holds at least one record");
  if (meta.compression !== "none") throw new RangeError("compressed batches are encoded with encodeBatchAsync");
  const [base, max] = timestamps(records);
  const out = alloc(HEADER + recordsSize(records, base));
  writeRecords(records, base, out, HEADER);
  writeHeader(out, records, meta, base, max);
  return out;
}

/** Encodes a batch, compressing its records off the event loop when asked to. */
export async function encodeBatchAsync(records: readonly BatchRecord[], meta: BatchMeta, alloc: Alloc = allocUnsafe): Promise<Buffer> {
  if (meta.compression === "none") return encodeBatch(records, meta, alloc);
  const [base, max] = timestamps(records);
  const plain = Buffer.allocUnsafe(recordsSize(records, base));
  writeRecords(records, base, plain, 0);
  const compressed = await compressionCodec(Compression[meta.compression]).compress(plain);
  const out = alloc(HEADER + compressed.length);
  compressed.copy(out, HEADER);
  writeHeader(out, records, meta, base, max);
  return out;
}
