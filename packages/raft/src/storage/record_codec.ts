// Byte layout of every record the level store holds, each sealed with a CRC-32 so a flipped
// bit or a torn value is detected on open instead of being replayed.
//
// Keys (one byte tag, big-endian numbers so level iterates entries in log order):
//   "v"                -> format version record
//   "h"                -> hard state          crc32 u32 | term u64 | vote u64 | commit u64
//   "s"                -> snapshot meta       crc32 u32 | index u64 | term u64 | dataCrc u32 | dataLen u64
//                                             | nVoters u32 | voters u64* | nObservers u32 | observers u64*
//   "d"                -> snapshot data       raw bytes (checked against dataCrc/dataLen in "s")
//   "e" + first u64 BE -> a run of entries    crc32 u32 | first u64 | count u32
//                                             | count x (term u64 | type u8 | length u32 | data)
// A run holds consecutive entries written together (one Ready's worth, capped), so a group
// commit costs one level op instead of one per entry; runs tile the log from the snapshot on.
// The crc covers every byte after it. u64 values are JS safe integers (< 2^53).
import { crc32 } from "node:zlib";
import type { Entry, HardState, SnapshotMeta } from "../core/types.js";

export const FORMAT_VERSION = 1;
export const KEY_VERSION = Uint8Array.of(0x76); // "v"
export const KEY_HARD_STATE = Uint8Array.of(0x68); // "h"
export const KEY_SNAPSHOT_META = Uint8Array.of(0x73); // "s"
export const KEY_SNAPSHOT_DATA = Uint8Array.of(0x64); // "d"
const RUN_TAG = 0x65; // "e"

/** Thrown by decoders; the store wraps it with its directory into a CorruptStorageError. */
export class RecordError extends Error {
  override readonly name = "RecordError";
}

export function runKey(index: number): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = RUN_TAG;
  writeU64(new DataView(key.buffer), 1, index);
  return key;
}

/** Bounds that select every entry key, for range iteration. */
export const RUN_KEY_LOW = Uint8Array.of(RUN_TAG);
export const RUN_KEY_HIGH = Uint8Array.of(RUN_TAG + 1);

export function runKeyIndex(key: Uint8Array): number {
  if (key.length !== 9 || key[0] !== RUN_TAG) throw new RecordError(`malformed run key of ${key.length} bytes`);
  return readU64(new DataView(key.buffer, key.byteOffset, key.byteLength), 1);
}

export function encodeVersion(): Uint8Array {
  return seal(4, (v) => v.setUint32(4, FORMAT_VERSION));
}

export function decodeVersion(buf: Uint8Array): number {
  return open(buf, 8, "version").getUint32(4);
}

export function encodeHardState(hs: HardState): Uint8Array {
  return seal(24, (v) => {
    writeU64(v, 4, hs.term);
    writeU64(v, 12, hs.vote);
    writeU64(v, 20, hs.commit);
  });
}

export function decodeHardState(buf: Uint8Array): HardState {
  const v = open(buf, 28, "hard state");
  return { term: readU64(v, 4), vote: readU64(v, 12), commit: readU64(v, 20) };
}

/** Encodes consecutive entries as one run record. */
export function encodeRun(entries: readonly Entry[]): Uint8Array {
  let size = 4 + 8 + 4;
  for (const e of entries) size += 13 + e.data.byteLength;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  writeU64(v, 4, entries[0]!.index);
  v.setUint32(12, entries.length);
  let at = 16;
  for (const e of entries) {
    writeU64(v, at, e.term);
    v.setUint8(at + 8, e.type);
    v.setUint32(at + 9, e.data.byteLength);
    out.set(e.data, at + 13);
    at += 13 + e.data.byteLength;
  }
  v.setUint32(0, crc32(out.subarray(4)));
  return out;
}

/** Decodes a run record; entries' data are views into `buf`. */
export function decodeRun(buf: Uint8Array): Entry[] {
  const v = open(buf, -16, "run");
  const first = readU64(v, 4);
  const count = v.getUint32(12);
  const entries: Entry[] = [];
  let at = 16;
  for (let k = 0; k < count; k++) {
    if (at + 13 > buf.byteLength) throw new RecordError(`run at ${first} truncated at entry ${first + k}`);
    const length = v.getUint32(at + 9);
    if (at + 13 + length > buf.byteLength) throw new RecordError(`run at ${first} truncated in entry ${first + k}`);
    entries.push({ index: first + k, term: readU64(v, at), type: v.getUint8(at + 8), data: buf.subarray(at + 13, at + 13 + length) });
    at += 13 + length;
  }
  if (at !== buf.byteLength) throw new RecordError(`run at ${first} has trailing bytes`);
  return entries;
}

export interface StoredSnapshotMeta extends SnapshotMeta {
  readonly dataCrc: number;
  readonly dataLength: number;
}

export function encodeSnapshotMeta(meta: SnapshotMeta, data: Uint8Array): Uint8Array {
  const size = 4 + 8 + 8 + 4 + 8 + 4 + 8 * meta.voters.length + 4 + 8 * meta.observers.length;
  return seal(size - 4, (v) => {
    writeU64(v, 4, meta.index);
    writeU64(v, 12, meta.term);
    v.setUint32(20, crc32(data));
    writeU64(v, 24, data.byteLength);
    let at = 32;
    for (const ids of [meta.voters, meta.observers]) {
      v.setUint32(at, ids.length);
      at += 4;
      for (const id of ids) {
        writeU64(v, at, id);
        at += 8;
      }
    }
  });
}

export function decodeSnapshotMeta(buf: Uint8Array): StoredSnapshotMeta {
  const v = open(buf, -36, "snapshot meta");
  let at = 32;
  const readIds = (): number[] => {
    if (at + 4 > buf.byteLength) throw new RecordError("snapshot meta truncated");
    const n = v.getUint32(at);
    at += 4;
    if (at + 8 * n > buf.byteLength) throw new RecordError("snapshot meta truncated");
    const ids: number[] = [];
    for (let i = 0; i < n; i++, at += 8) ids.push(readU64(v, at));
    return ids;
  };
  const voters = readIds();
  const observers = readIds();
  if (at !== buf.byteLength) throw new RecordError("snapshot meta has trailing bytes");
  return { index: readU64(v, 4), term: readU64(v, 12), dataCrc: v.getUint32(20), dataLength: readU64(v, 24), voters, observers };
}

export function checkSnapshotData(meta: StoredSnapshotMeta, data: Uint8Array): void {
  if (data.byteLength !== meta.dataLength) {
    throw new RecordError(`snapshot data is ${data.byteLength} bytes, meta says ${meta.dataLength}`);
  }
  if (crc32(data) !== meta.dataCrc) throw new RecordError("snapshot data checksum mismatch");
}

/** Allocates 4 + bodyLength bytes, lets `fill` write the body after the crc, then seals it. */
function seal(bodyLength: number, fill: (v: DataView) => void): Uint8Array {
  const out = new Uint8Array(4 + bodyLength);
  const v = new DataView(out.buffer);
  fill(v);
  v.setUint32(0, crc32(out.subarray(4)));
  return out;
}

/** Checks length (exact, or at least -n when n < 0) and crc; returns a view over the record. */
function open(buf: Uint8Array, length: number, what: string): DataView {
  if (length >= 0 ? buf.byteLength !== length : buf.byteLength < -length) {
    throw new RecordError(`${what} record has ${buf.byteLength} bytes`);
  }
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0) !== crc32(buf.subarray(4))) throw new RecordError(`${what} record checksum mismatch`);
  return v;
}

function writeU64(v: DataView, at: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a u64 safe integer: ${n}`);
  v.setUint32(at, Math.floor(n / 0x1_0000_0000));
  v.setUint32(at + 4, n >>> 0);
}

function readU64(v: DataView, at: number): number {
  const n = v.getUint32(at) * 0x1_0000_0000 + v.getUint32(at + 4);
  if (!Number.isSafeInteger(n)) throw new RecordError(`u64 at ${at} exceeds 2^53`);
  return n;
}
