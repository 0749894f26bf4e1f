// Harness (tests and benchmarks): encodes and decodes Kafka RecordBatch v2 bytes (uncompressed) so tests can
// produce real batches and check what they read back. Stand-in until @brook/protocol
// exports its codec; byte layout per Kafka's DefaultRecordBatch.
import { crc32c } from "@brook/protocol";

function zigzagVarint(n: number, out: number[]): void {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
    mul *= 0x80;
  }
  return [v % 2 === 0 ? v / 2 : -(v + 1) / 2, pos];
}

export interface BatchOptions {
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly timestampMs?: number;
}

export function encodeBatch(values: readonly Buffer[], opts: BatchOptions = {}): Buffer {
  const ts = opts.timestampMs ?? Date.now();
  const recs: Buffer[] = values.map((value, i) => {
    const body: number[] = [0]; // attributes
    zigzagVarint(0, body); // timestamp delta
    zigzagVarint(i, body); // offset delta
    zigzagVarint(-1, body); // null key
    const head = Buffer.from(body);
    const vlen: number[] = [];
    zigzagVarint(value.length, vlen);
    const tail: number[] = [];
    zigzagVarint(0, tail); // headers
    const rec = Buffer.concat([head, Buffer.from(vlen), value, Buffer.from(tail)]);
    const len: number[] = [];
    zigzagVarint(rec.length, len);
    return Buffer.concat([Buffer.from(len), rec]);
  });
  const records = Buffer.concat(recs);
  const b = Buffer.alloc(61 + records.length);
  b.writeBigInt64BE(0n, 0);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt32BE(-1, 12);
  b.writeInt8(2, 16);
  b.writeInt16BE(0, 21);
  b.writeInt32BE(values.length - 1, 23);
  b.writeBigInt64BE(BigInt(ts), 27);
  b.writeBigInt64BE(BigInt(ts), 35);
  b.writeBigInt64BE(BigInt(opts.producerId ?? -1), 43);
  b.writeInt16BE(opts.producerEpoch ?? -1, 51);
  b.writeInt32BE(opts.baseSequence ?? -1, 53);
  b.writeInt32BE(values.length, 57);
  records.copy(b, 61);
  b.writeUInt32BE(crc32c(b.subarray(21)), 17);
  return b;
}

/** Every record in concatenated batches, with its absolute offset. */
export function decodeRecords(buf: Buffer): { offset: number; value: Buffer }[] {
  const out: { offset: number; value: Buffer }[] = [];
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const base = Number(buf.readBigInt64BE(pos));
    const size = buf.readInt32BE(pos + 8) + 12;
    if (pos + size > buf.length) break; // a partial trailing batch is allowed in fetches
    const count = buf.readInt32BE(pos + 57);
    let p = pos + 61;
    for (let i = 0; i < count; i++) {
      let len: number;
      [len, p] = readVarint(buf, p);
      const end = p + len;
      p += 1; // attributes
      let delta: number;
      [, p] = readVarint(buf, p); // timestamp delta
      [delta, p] = readVarint(buf, p);
      let klen: number;
      [klen, p] = readVarint(buf, p);
      if (klen > 0) p += klen;
      let vlen: number;
      [vlen, p] = readVarint(buf, p);
      out.push({ offset: base + delta, value: buf.subarray(p, p + Math.max(0, vlen)) });
      p = end;
    }
    pos += size;
  }
  return out;
}
