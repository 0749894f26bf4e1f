// The consumer's view of fetched records, kept as bytes until the application takes them.
// A Fetch response's batches are checked once when they arrive (magic, lengths, CRC-32C;
// compressed ones are inflated then, off the event loop) and indexed as runs; a RecordCursor then walks the records in place,
// one at a time, allocating only what the application receives (the key/value slices and the
// message). Decoding everything up front made thousands of small objects per fetch that
// outlived the young generation while they waited in the prefetch buffer: most of the
// consumer's CPU went to the garbage collector.
import { compressionCodec, crc32c, isCompressionSupported } from "@brook/protocol";

/**
 * Most bytes one compressed batch may inflate to: far above any batch a producer writes
 * (max.message.bytes defaults to 1 MiB, compression ratios of 10-50x are typical), and a
 * bound on what a corrupt or hostile batch can make this process allocate.
 */
export const MAX_INFLATED_BATCH_BYTES = 256 * 1024 * 1024;
const HEADER = 61; // batch bytes before the first record
const CRC_FROM = 21; // the CRC covers attributes..end

/** One batch's records as bytes. */
export interface RecordRun {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  readonly baseOffset: number;
  readonly baseTimestamp: number;
}

export interface IndexedBatches {
  readonly runs: RecordRun[];
  /** Records in the runs (those below the fetch offset included). */
  readonly count: number;
  /** Offset after the last whole batch, or -1 when there is none. */
  readonly nextOffset: number;
}

/**
 * Checks and indexes every whole batch of `buf` (a trailing partial batch is ignored). Throws
 * RangeError on malformed input. `checkCrcs` false skips the CRC-32C (Kafka's check.crcs):
 * a sixth or so of the consumer's CPU, spent re-reading every byte the broker already checked.
 */
export async function indexBatches(buf: Buffer, checkCrcs = true): Promise<IndexedBatches> {
  const runs: RecordRun[] = [];
  let count = 0;
  let nextOffset = -1;
  let pos = 0;
  while (pos + HEADER <= buf.length) {
    const batchLength = buf.readInt32BE(pos + 8);
    if (batchLength < HEADER - 12) throw new RangeError(`invalid batch length ${batchLength}`);
    const end = pos + 12 + batchLength;
    if (end > buf.length) break;
    if (buf[pos + 16] !== 2) throw new RangeError(`unsupported batch magic ${buf.readInt8(pos + 16)}`);
    if (checkCrcs && crc32c(buf.subarray(pos + CRC_FROM, end)) !== buf.readUInt32BE(pos + 17)) throw new RangeError("batch CRC-32C mismatch");
    const baseOffset = Number(buf.readBigInt64BE(pos));
    const attributes = buf.readInt16BE(pos + 21);
    nextOffset = baseOffset + buf.readInt32BE(pos + 23) + 1;
    const n = buf.readInt32BE(pos + 57);
    if ((attributes & 0x20) === 0 && n > 0) {
      const baseTimestamp = Number(buf.readBigInt64BE(pos + 27));
      const codec = attributes & 0x7;
      if (codec === 0) runs.push({ buf, start: pos + HEADER, end, count: n, baseOffset, baseTimestamp });
      else if (isCompressionSupported(codec)) {
        const plain = await compressionCodec(codec).decompress(buf.subarray(pos + HEADER, end), MAX_INFLATED_BATCH_BYTES);
        runs.push({ buf: plain, start: 0, end: plain.length, count: n, baseOffset, baseTimestamp });
      } else throw new RangeError(`unsupported compression codec ${codec} (this machine cannot inflate it)`);
      count += n;
    }
    pos = end;
  }
  return { runs, count, nextOffset };
}

const NO_HEADERS: Readonly<Record<string, Buffer | null>> = Object.freeze({});

/**
 * Walks the records of some runs from offset `from` on. After next() returns true, offset
 * and timestamp describe the current record and key(), value(), headers() read it.
 */
export class RecordCursor {
  offset = -1;
  timestamp = 0;
  private run = 0;
  private left: number;
  private pos: number;
  private keyAt = 0;
  private keyLen = -1;
  private valueAt = 0;
  private valueLen = -1;
  private headerCount = 0;
  private headersAt = 0;

  constructor(
    private readonly runs: readonly RecordRun[],
    private readonly from: number,
  ) {
    this.left = runs[0]?.count ?? 0;
    this.pos = runs[0]?.start ?? 0;
  }

  next(): boolean {
    for (;;) {
      while (this.left === 0) {
        if (++this.run >= this.runs.length) return false;
        const r = this.runs[this.run]!;
        this.left = r.count;
        this.pos = r.start;
      }
      this.left--;
      const r = this.runs[this.run]!;
      const buf = r.buf;
      const len = this.varint(buf, r.end);
      const recEnd = this.pos + len;
      if (len < 0 || recEnd > r.end) throw new RangeError("record length exceeds its batch");
      this.pos++; // attributes
      this.timestamp = r.baseTimestamp + this.varint(buf, recEnd);
      this.offset = r.baseOffset + this.varint(buf, recEnd);
      this.keyLen = this.varint(buf, recEnd);
      this.keyAt = this.pos;
      if (this.keyLen > 0) this.pos += this.keyLen;
      this.valueLen = this.varint(buf, recEnd);
      this.valueAt = this.pos;
      if (this.valueLen > 0) this.pos += this.valueLen;
      if (this.pos > recEnd) throw new RangeError("truncated record");
      this.headerCount = this.varint(buf, recEnd);
      this.headersAt = this.pos;
      this.pos = recEnd;
      if (this.offset >= this.from) return true;
    }
  }

  key(): Buffer | null {
    return this.keyLen < 0 ? null : this.runs[this.run]!.buf.subarray(this.keyAt, this.keyAt + this.keyLen);
  }

  value(): Buffer | null {
    return this.valueLen < 0 ? null : this.runs[this.run]!.buf.subarray(this.valueAt, this.valueAt + this.valueLen);
  }

  headers(): Readonly<Record<string, Buffer | null>> {
    if (this.headerCount <= 0) return NO_HEADERS;
    const r = this.runs[this.run]!;
    const out: Record<string, Buffer | null> = {};
    const save = this.pos;
    this.pos = this.headersAt;
    try {
      for (let i = 0; i < this.headerCount; i++) {
        const kl = this.varint(r.buf, r.end);
        if (kl < 0 || this.pos + kl > r.end) throw new RangeError("truncated header key");
        const k = r.buf.toString("utf8", this.pos, this.pos + kl);
        this.pos += kl;
        const vl = this.varint(r.buf, r.end);
        if (vl > 0 && this.pos + vl > r.end) throw new RangeError("truncated header value");
        out[k] = vl < 0 ? null : r.buf.subarray(this.pos, this.pos + vl);
        if (vl > 0) this.pos += vl;
      }
    } finally {
      this.pos = save;
    }
    return out;
  }

  /** Zigzag varint at this.pos, bounded by `end`. */
  private varint(buf: Buffer, end: number): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new RangeError("truncated varint");
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      mul *= 128;
    }
    throw new RangeError("varint too long");
  }
}
