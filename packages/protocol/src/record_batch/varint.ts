// Zigzag varints of RecordBatch v2 records (protobuf-style base-128, least significant group
// first). Readers take an explicit end and throw CorruptRecordError instead of reading past it,
// so a lying length can never make them walk off the record. 64-bit values are JS numbers:
// exact up to 2^53, which covers every timestamp and offset delta Brook produces.
import { CorruptRecordError } from "../errors/errors.js";

/** Read cursor over one buffer; `pos` is advanced by every read. */
export interface Cursor {
  pos: number;
}

export function readVarint(buf: Buffer, cur: Cursor, end: number): number {
  let pos = cur.pos;
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) throw new CorruptRecordError("BAD_RECORD", `varint runs past the end of the record at byte ${pos}`);
    const b = buf[pos++]!;
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cur.pos = pos;
      return (result >>> 1) ^ -(result & 1);
    }
  }
  throw new CorruptRecordError("BAD_RECORD", `varint longer than 5 bytes at byte ${cur.pos}`);
}

export function readVarlong(buf: Buffer, cur: Cursor, end: number): number {
  let pos = cur.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new CorruptRecordError("BAD_RECORD", `varlong runs past the end of the record at byte ${pos}`);
    const b = buf[pos++]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      cur.pos = pos;
      // Zigzag without 32-bit bit operations: odd values are negative.
      return result % 2 === 1 ? -(result + 1) / 2 : result / 2;
    }
    scale *= 128;
  }
  throw new CorruptRecordError("BAD_RECORD", `varlong longer than 10 bytes at byte ${cur.pos}`);
}

/** Zigzag-encodes a 32-bit signed integer into its unsigned varint payload. */
export function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

/** Zigzag-encodes a safe integer (up to 2^53) for a varlong. */
export function zigzag64(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** Bytes taken by an unsigned varint payload (a zigzagged value). */
export function sizeOfUnsignedVarint(u: number): number {
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  let size = 5;
  for (let v = u / 0x800000000; v >= 1; v /= 128) size++;
  return size;
}

export function sizeOfVarint(n: number): number {
  return sizeOfUnsignedVarint(zigzag32(n));
}

export function sizeOfVarlong(n: number): number {
  return sizeOfUnsignedVarint(zigzag64(n));
}

/** Writes an unsigned varint payload at pos and returns the position after it. */
export function writeUnsignedVarint(buf: Buffer, pos: number, u: number): number {
  while (u >= 0x80000000) {
    buf[pos++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  return writeUnsignedVarint(buf, pos, zigzag32(n));
}

export function writeVarlong(buf: Buffer, pos: number, n: number): number {
  return writeUnsignedVarint(buf, pos, zigzag64(n));
}
