// zstd for RecordBatch v2 on Node versions without node:zlib zstd: native @mongodb-js/zstd
// (libzstd on its own thread) for async compression and decompression, pure-JS fzstd for
// synchronous decompression. Neither library can cap its output, so before either runs,
// zstdOutputBound walks the frame and block headers (RFC 8878) and computes the most bytes the
// input can regenerate; inputs whose bound exceeds the caller's cap are refused unread. Honest
// encoders fill blocks, so the bound is close to the real size. Dictionaries are not supported.
// There is no synchronous compressor here: compressSync throws UnsupportedCompressionError.
import { createRequire } from "node:module";
import { CorruptRecordError, RecordTooLargeError, UnsupportedCompressionError } from "./errors/errors.js";
import { framesOutputBound } from "./frames.js";

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;

function corrupt(detail: string): CorruptRecordError {
  return new CorruptRecordError("BAD_COMPRESSED_DATA", `zstd: ${detail}`);
}

/** Upper bound of the bytes `data` decompresses to; throws CorruptRecordError on malformed headers. */
export function zstdOutputBound(data: Uint8Array): number {
  return framesOutputBound(data, { magic: ZSTD_MAGIC, corrupt, readFrame: readZstdFrame });
}

function readZstdFrame(data: Uint8Array, _view: DataView, pos: number): { end: number; bound: number } {
  if (pos >= data.length) throw corrupt("truncated frame header");
  const fhd = data[pos++]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  if (fhd & 0x08) throw corrupt("reserved frame header bit set");
  let window = 0;
  if (!singleSegment) {
    if (pos >= data.length) throw corrupt("truncated window descriptor");
    const wd = data[pos++]!;
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  const dictBytes = [0, 1, 2, 4][dictFlag]!;
  if (data.length - pos < dictBytes) throw corrupt("truncated dictionary id");
  let dictId = 0;
  for (let i = 0; i < dictBytes; i++) dictId += data[pos + i]! * 2 ** (8 * i);
  pos += dictBytes;
  if (dictId !== 0) throw corrupt(`frame needs dictionary ${dictId}, dictionaries are not supported`);
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (data.length - pos < fcsBytes) throw corrupt("truncated frame content size");
  let contentSize = -1;
  if (fcsBytes > 0) {
    contentSize = 0;
    for (let i = 0; i < fcsBytes; i++) contentSize += data[pos + i]! * 2 ** (8 * i);
    if (fcsBytes === 2) contentSize += 256;
  }
  pos += fcsBytes;
  if (singleSegment) window = contentSize;
  const blockMax = Math.min(window, BLOCK_MAX);
  let frameBound = 0;
  for (;;) {
    if (data.length - pos < 3) throw corrupt("truncated block header");
    const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
    pos += 3;
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 0) {
      if (size > data.length - pos) throw corrupt("raw block runs past the end");
      pos += size;
      frameBound += size;
    } else if (type === 1) {
      if (pos >= data.length) throw corrupt("RLE block runs past the end");
      pos += 1;
      frameBound += size;
    } else if (type === 2) {
      if (size > data.length - pos) throw corrupt("compressed block runs past the end");
      if (size > blockMax) throw corrupt(`compressed block of ${size} bytes exceeds the ${blockMax}-byte block maximum`);
      pos += size;
      frameBound += blockMax;
    } else {
      throw corrupt("reserved block type");
    }
    if (last) break;
  }
  if (checksum) {
    if (data.length - pos < 4) throw corrupt("truncated content checksum");
    pos += 4;
  }
  return { end: pos, bound: contentSize >= 0 ? Math.min(contentSize, frameBound) : frameBound };
}

interface NativeZstd {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}
interface Fzstd {
  Decompress: new (ondata: (chunk: Uint8Array, final?: boolean) => unknown) => { push(chunk: Uint8Array, final?: boolean): unknown };
}

export interface ZstdFallback {
  compressSync(data: Buffer): Buffer;
  compress(data: Buffer): Promise<Buffer>;
  decompressSync(data: Buffer, maxBytes: number): Buffer;
  decompress(data: Buffer, maxBytes: number): Promise<Buffer>;
}

function checkBound(data: Buffer, maxBytes: number): void {
  const bound = zstdOutputBound(data);
  if (bound > maxBytes) throw new RecordTooLargeError(`zstd data may expand to ${bound} bytes, more than the ${maxBytes} allowed`);
}

function checkOutput(out: Buffer, maxBytes: number): Buffer {
  if (out.length > maxBytes) throw new RecordTooLargeError(`zstd output is ${out.length} bytes, more than the ${maxBytes} allowed`);
  return out;
}

function typed(err: unknown): Error {
  if (err instanceof CorruptRecordError || err instanceof RecordTooLargeError) return err;
  return new CorruptRecordError("BAD_COMPRESSED_DATA", `zstd data cannot be decompressed: ${(err as Error).message}`, { cause: err });
}

/** The fallback zstd codec, or undefined when either library fails to load. */
export function loadZstdFallback(): ZstdFallback | undefined {
  const require = createRequire(import.meta.url);
  let native: NativeZstd;
  let fzstd: Fzstd;
  try {
    native = require("@mongodb-js/zstd") as NativeZstd;
    fzstd = require("fzstd") as Fzstd;
  } catch {
    return undefined;
  }
  return {
    compressSync: () => {
      throw new UnsupportedCompressionError("synchronous zstd compression needs node:zlib zstd (Node >= 22.15); use encodeRecordBatchAsync");
    },
    compress: (data) => native.compress(data, 3),
    decompressSync: (data, maxBytes) => {
      try {
        checkBound(data, maxBytes);
        const chunks: Uint8Array[] = [];
        let total = 0;
        const stream = new fzstd.Decompress((chunk) => {
          total += chunk.length;
          if (total > maxBytes) throw new RecordTooLargeError(`zstd output exceeds the ${maxBytes} bytes allowed`);
          chunks.push(chunk);
        });
        stream.push(data, true);
        return Buffer.concat(chunks, total);
      } catch (err) {
        throw typed(err);
      }
    },
    decompress: async (data, maxBytes) => {
      try {
        checkBound(data, maxBytes);
        return checkOutput(await native.decompress(data), maxBytes);
      } catch (err) {
        throw typed(err);
      }
    },
  };
}
