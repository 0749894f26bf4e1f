// Kafka RecordBatch v2 encoding for the producer and decoding for the consumer, shaped for
// the SDK's hot path (CRC-32C from @brook/protocol, native when available). Encoding sizes the
// batch first and writes it into one Buffer, so each batch is encoded exactly once.
// Compression: none and gzip (node:zlib). Decoding validates magic, lengths and CRC-32C and
// throws RangeError on anything malformed.
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { crc32c } from "@brook/protocol";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const Compression = { none: 0, gzip: 1 } as const;
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

/** Encodes an uncompressed batch into one Buffer. */
export function encodeBatch(records: readonly BatchRecord[], meta: BatchMeta): Buffer {
  if (records.length === 0) throw new RangeError("a batch holds at least one record");
  if (meta.compression !== "none") throw new RangeError("compressed batches are encoded with encodeBatchAsync");
  const [base, max] = timestamps(records);
  const out = Buffer.allocUnsafe(HEADER + recordsSize(records, base));
  writeRecords(records, base, out, HEADER);
  writeHeader(out, records, meta, base, max);
  return out;
}

/** Encodes a batch, compressing its records off the event loop when asked to. */
export async function encodeBatchAsync(records: readonly BatchRecord[], meta: BatchMeta): Promise<Buffer> {
  if (meta.compression === "none") return encodeBatch(records, meta);
  const [base, max] = timestamps(records);
  const plain = Buffer.allocUnsafe(recordsSize(records, base));
  writeRecords(records, base, plain, 0);
  const compressed = await gzipAsync(plain);
  const out = Buffer.allocUnsafe(HEADER + compressed.length);
  compressed.copy(out, HEADER);
  writeHeader(out, records, meta, base, max);
  return out;
}

export interface DecodedRecord extends BatchRecord {
  readonly offset: number;
}

export interface DecodedBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly leaderEpoch: number;
  readonly records: DecodedRecord[];
}

class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      mul *= 128;
    }
    throw new RangeError("varint too long");
  }
  bytes(): Buffer | null {
    const n = this.varint();
    if (n < 0) return null;
    if (this.pos + n > this.end) throw new RangeError("truncated bytes");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function decodeRecords(buf: Buffer, start: number, end: number, count: number, baseOffset: number, baseTimestamp: number): DecodedRecord[] {
  const c = new Cursor(buf, start, end);
  const out: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const len = c.varint();
    const recEnd = c.pos + len;
    if (len < 0 || recEnd > end) throw new RangeError("record length exceeds its batch");
    c.pos++; // attributes
    const timestamp = baseTimestamp + c.varint();
    const offset = baseOffset + c.varint();
    const key = c.bytes();
    const value = c.bytes();
    const nh = c.varint();
    const headers: RecordHeader[] = [];
    for (let h = 0; h < nh; h++) {
      const k = c.bytes();
      headers.push({ key: k === null ? "" : k.toString("utf8"), value: c.bytes() });
    }
    c.pos = recEnd;
    out.push({ offset, timestamp, key, value, headers });
  }
  return out;
}

/** Decodes every whole batch in `buf` (a partial trailing batch is ignored, as Kafka does). */
export async function decodeBatches(buf: Buffer): Promise<DecodedBatch[]> {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos + HEADER <= buf.length) {
    const batchLength = buf.readInt32BE(pos + 8);
    const end = pos + 12 + batchLength;
    if (batchLength < HEADER - 12) throw new RangeError(`invalid batch length ${batchLength}`);
    if (end > buf.length) break;
    if (buf.readInt8(pos + 16) !== 2) throw new RangeError(`unsupported batch magic ${buf.readInt8(pos + 16)}`);
    if (crc32c(buf.subarray(pos + CRC_FROM, end)) !== buf.readUInt32BE(pos + 17)) throw new RangeError("batch CRC-32C mismatch");
    const baseOffset = Number(buf.readBigInt64BE(pos));
    const attributes = buf.readInt16BE(pos + 21);
    const lastOffset = baseOffset + buf.readInt32BE(pos + 23);
    const baseTimestamp = Number(buf.readBigInt64BE(pos + 27));
    const count = buf.readInt32BE(pos + 57);
    const control = (attributes & 0x20) !== 0;
    let records: DecodedRecord[] = [];
    if (!control) {
      const codec = attributes & 0x7;
      if (codec === 0) records = decodeRecords(buf, pos + HEADER, end, count, baseOffset, baseTimestamp);
      else if (codec === 1) {
        const plain = await gunzipAsync(buf.subarray(pos + HEADER, end));
        records = decodeRecords(plain, 0, plain.length, count, baseOffset, baseTimestamp);
      } else throw new RangeError(`unsupported compression codec ${codec}`);
    }
    out.push({ baseOffset, lastOffset, leaderEpoch: buf.readInt32BE(pos + 12), records });
    pos = end;
  }
  return out;
}
