// Output bound of LZ4 frames (the LZ4 Frame Format 1.6.x), computed from headers alone so the
// lz4 codec can refuse a decompression bomb before lz4-napi, which has no output cap, expands it.
// A compressed block regenerates at most its frame's block maximum size (64 KiB .. 4 MiB from
// the BD byte) and at most 255 bytes per input byte (LZ4's best case: each match-length byte adds
// 255); an uncompressed block regenerates exactly its size; skippable frames nothing.
import { CorruptRecordError } from "./errors/errors.js";
import { framesOutputBound } from "./frames.js";

const LZ4_MAGIC = 0x184d2204;
const MAX_RATIO = 255;
const BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

function corrupt(detail: string): CorruptRecordError {
  return new CorruptRecordError("BAD_COMPRESSED_DATA", `lz4: ${detail}`);
}

export function lz4OutputBound(data: Uint8Array): number {
  return framesOutputBound(data, { magic: LZ4_MAGIC, corrupt, readFrame: readLz4Frame });
}

function readLz4Frame(data: Uint8Array, view: DataView, pos: number): { end: number; bound: number } {
  let bound = 0;
  if (data.length - pos < 3) throw corrupt("truncated frame descriptor");
  const flg = data[pos]!;
  const bd = data[pos + 1]!;
  if (flg >> 6 !== 1) throw corrupt(`unsupported frame version ${flg >> 6}`);
  const blockChecksum = (flg >> 4) & 1;
  const contentSizeFlag = (flg >> 3) & 1;
  const contentChecksum = (flg >> 2) & 1;
  const dictId = flg & 1;
  const blockMax = BLOCK_MAX_BYTES[(bd >> 4) & 7]!;
  if (blockMax === 0) throw corrupt(`invalid block maximum size code ${(bd >> 4) & 7}`);
  pos += 2 + (contentSizeFlag ? 8 : 0) + (dictId ? 4 : 0) + 1; // FLG, BD, content size, dict id, header checksum
  if (pos > data.length) throw corrupt("truncated frame descriptor");
  for (;;) {
    if (data.length - pos < 4) throw corrupt("truncated block size");
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break; // end mark
    const uncompressed = word >>> 31 === 1;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw corrupt(`block of ${size} bytes exceeds the ${blockMax}-byte block maximum`);
    if (size + (blockChecksum ? 4 : 0) > data.length - pos) throw corrupt("block runs past the end");
    pos += size + (blockChecksum ? 4 : 0);
    bound += uncompressed ? size : Math.min(blockMax, size * MAX_RATIO);
  }
  if (contentChecksum) {
    if (data.length - pos < 4) throw corrupt("truncated content checksum");
    pos += 4;
  }
  return { end: pos, bound };
}
