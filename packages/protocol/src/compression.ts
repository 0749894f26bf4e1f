// Compression codecs of RecordBatch v2 behind one interface, keyed by the attribute bits.
// Contract: decompression never returns more than maxBytes, and none expands input whose
// output could exceed it (gzip/zstd-in-zlib stop at the cap; snappy, lz4 and the zstd fallback
// bound the output from headers before decompressing) and failures
// are typed: bad input -> CorruptRecordError, too big -> RecordTooLargeError, unavailable codec
// -> UnsupportedCompressionError. Async variants run zlib on libuv's pool and the native codecs
// on their own threads, so callers can keep the event loop free.
//
// Wire formats follow the Java client: gzip is a gzip member; snappy uses xerial's block
// framing (raw snappy is also accepted on read, as librdkafka writes it); lz4 is an LZ4 frame.
// zstd uses node:zlib's zstd when present (Node >= 22.15), else the fallback in zstd.ts, which
// can only compress asynchronously.
import { createRequire } from "node:module";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { CorruptRecordError, RecordTooLargeError, UnsupportedCompressionError } from "./errors/errors.js";
import { lz4OutputBound } from "./lz4.js";
import { loadZstdFallback, type ZstdFallback } from "./zstd.js";

export const CompressionType = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

const NAMES = ["none", "gzip", "snappy", "lz4", "zstd"] as const;

export function compressionName(type: number): string {
  return NAMES[type] ?? `unknown(${type})`;
}

export interface CompressionCodec {
  readonly type: CompressionType;
  readonly name: string;
  compressSync(data: Buffer): Buffer;
  decompressSync(data: Buffer, maxBytes: number): Buffer;
  compress(data: Buffer): Promise<Buffer>;
  decompress(data: Buffer, maxBytes: number): Promise<Buffer>;
}

const identity: CompressionCodec = {
  type: CompressionType.None,
  name: "none",
  compressSync: (data) => data,
  decompressSync: (data, maxBytes) => checkSize(data, maxBytes),
  compress: async (data) => data,
  decompress: async (data, maxBytes) => checkSize(data, maxBytes),
};

function checkSize(data: Buffer, maxBytes: number): Buffer {
  if (data.length > maxBytes) throw new RecordTooLargeError(`decompressed records are ${data.length} bytes, more than the ${maxBytes} allowed`);
  return data;
}

function zlibError(name: string, err: unknown, maxBytes: number): Error {
  const code = (err as { code?: string }).code;
  if (code === "ERR_BUFFER_TOO_LARGE") return new RecordTooLargeError(`${name} output exceeds the ${maxBytes} bytes allowed`);
  return new CorruptRecordError("BAD_COMPRESSED_DATA", `${name} data cannot be decompressed: ${(err as Error).message}`, { cause: err });
}

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

const gzip: CompressionCodec = {
  type: CompressionType.Gzip,
  name: "gzip",
  compressSync: (data) => zlib.gzipSync(data),
  decompressSync: (data, maxBytes) => {
    try {
      return zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (err) {
      throw zlibError("gzip", err, maxBytes);
    }
  },
  compress: (data) => gzipAsync(data),
  decompress: async (data, maxBytes) => {
    try {
      return await gunzipAsync(data, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (err) {
      throw zlibError("gzip", err, maxBytes);
    }
  },
};

interface SnappyBinding {
  compressSync(input: Buffer): Buffer;
  uncompressSync(input: Buffer, opts: { asBuffer: true }): Buffer;
  compress(input: Buffer): Promise<Buffer>;
  uncompress(input: Buffer, opts: { asBuffer: true }): Promise<Buffer>;
}

interface Lz4Binding {
  compressFrameSync(input: Buffer): Buffer;
  decompressFrameSync(input: Buffer): Buffer;
  compressFrame(input: Buffer): Promise<Buffer>;
  decompressFrame(input: Buffer): Promise<Buffer>;
}

const requireOptional = createRequire(import.meta.url);
function loadOptional<T>(name: string): T | undefined {
  try {
    return requireOptional(name) as T;
  } catch {
    return undefined;
  }
}

// xerial snappy-java stream header: magic, then version 1 and min-compatible version 1.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_BLOCK_BYTES = 32 * 1024;

/** Uncompressed length declared at the head of a raw snappy block (a plain varint). */
function snappyDeclaredLength(block: Buffer): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
  throw new CorruptRecordError("BAD_COMPRESSED_DATA", "snappy block has no valid length preamble");
}

/** Splits xerial framing into raw snappy blocks, or returns the input as one raw block. */
function snappyBlocks(data: Buffer): Buffer[] {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return [data];
  const blocks: Buffer[] = [];
  let pos = XERIAL_HEADER_BYTES;
  while (pos < data.length) {
    if (data.length - pos < 4) throw new CorruptRecordError("BAD_COMPRESSED_DATA", "xerial snappy block length is truncated");
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos) throw new CorruptRecordError("BAD_COMPRESSED_DATA", `xerial snappy block of ${len} bytes does not fit the ${data.length - pos} remaining`);
    blocks.push(data.subarray(pos, pos + len));
    pos += len;
  }
  return blocks;
}

function checkSnappyBlocks(blocks: Buffer[], maxBytes: number): void {
  let total = 0;
  for (const block of blocks) total += snappyDeclaredLength(block);
  if (total > maxBytes) throw new RecordTooLargeError(`snappy data declares ${total} bytes, more than the ${maxBytes} allowed`);
}

function xerialFrame(blocks: Buffer[]): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (const block of blocks) {
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

function chunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_BYTES) out.push(data.subarray(pos, pos + XERIAL_BLOCK_BYTES));
  return out.length ? out : [data];
}

function snappyCodec(binding: SnappyBinding): CompressionCodec {
  const fail = (err: unknown): Error =>
    err instanceof CorruptRecordError || err instanceof RecordTooLargeError
      ? err
      : new CorruptRecordError("BAD_COMPRESSED_DATA", `snappy data cannot be decompressed: ${(err as Error).message}`, { cause: err });
  return {
    type: CompressionType.Snappy,
    name: "snappy",
    compressSync: (data) => xerialFrame(chunks(data).map((c) => binding.compressSync(c))),
    compress: async (data) => xerialFrame(await Promise.all(chunks(data).map((c) => binding.compress(c)))),
    decompressSync: (data, maxBytes) => {
      try {
        const blocks = snappyBlocks(data);
        checkSnappyBlocks(blocks, maxBytes);
        return Buffer.concat(blocks.map((b) => binding.uncompressSync(b, { asBuffer: true })));
      } catch (err) {
        throw fail(err);
      }
    },
    decompress: async (data, maxBytes) => {
      try {
        const blocks = snappyBlocks(data);
        checkSnappyBlocks(blocks, maxBytes);
        return Buffer.concat(await Promise.all(blocks.map((b) => binding.uncompress(b, { asBuffer: true }))));
      } catch (err) {
        throw fail(err);
      }
    },
  };
}

function lz4Codec(binding: Lz4Binding): CompressionCodec {
  const fail = (err: unknown): Error =>
    err instanceof RecordTooLargeError || err instanceof CorruptRecordError
      ? err
      : new CorruptRecordError("BAD_COMPRESSED_DATA", `lz4 data cannot be decompressed: ${(err as Error).message}`, { cause: err });
  const checkBound = (data: Buffer, maxBytes: number): void => {
    const bound = lz4OutputBound(data);
    if (bound > maxBytes) throw new RecordTooLargeError(`lz4 data may expand to ${bound} bytes, more than the ${maxBytes} allowed`);
  };
  return {
    type: CompressionType.Lz4,
    name: "lz4",
    compressSync: (data) => binding.compressFrameSync(data),
    compress: (data) => binding.compressFrame(data),
    decompressSync: (data, maxBytes) => {
      try {
        checkBound(data, maxBytes);
        return checkSize(binding.decompressFrameSync(data), maxBytes);
      } catch (err) {
        throw fail(err);
      }
    },
    decompress: async (data, maxBytes) => {
      try {
        checkBound(data, maxBytes);
        return checkSize(await binding.decompressFrame(data), maxBytes);
      } catch (err) {
        throw fail(err);
      }
    },
  };
}

interface ZstdZlib {
  zstdCompressSync(data: Buffer): Buffer;
  zstdDecompressSync(data: Buffer, opts: { maxOutputLength: number }): Buffer;
  zstdCompress(data: Buffer, cb: (err: Error | null, out: Buffer) => void): void;
  zstdDecompress(data: Buffer, opts: { maxOutputLength: number }, cb: (err: Error | null, out: Buffer) => void): void;
}

function zstdCodec(z: ZstdZlib): CompressionCodec {
  return {
    type: CompressionType.Zstd,
    name: "zstd",
    compressSync: (data) => z.zstdCompressSync(data),
    compress: (data) => new Promise((resolve, reject) => z.zstdCompress(data, (err, out) => (err ? reject(err) : resolve(out)))),
    decompressSync: (data, maxBytes) => {
      try {
        return z.zstdDecompressSync(data, { maxOutputLength: Math.max(1, maxBytes) });
      } catch (err) {
        throw zlibError("zstd", err, maxBytes);
      }
    },
    decompress: (data, maxBytes) =>
      new Promise((resolve, reject) =>
        z.zstdDecompress(data, { maxOutputLength: Math.max(1, maxBytes) }, (err, out) => (err ? reject(zlibError("zstd", err, maxBytes)) : resolve(out))),
      ),
  };
}

const snappyBinding = loadOptional<SnappyBinding>("snappy");
const lz4Binding = loadOptional<Lz4Binding>("lz4-napi");
const zlibWithZstd = zlib as unknown as Partial<ZstdZlib>;

function zstdFallbackCodec(z: ZstdFallback): CompressionCodec {
  return { type: CompressionType.Zstd, name: "zstd", ...z };
}

function loadZstd(): CompressionCodec | undefined {
  if (typeof zlibWithZstd.zstdCompressSync === "function") return zstdCodec(zlibWithZstd as ZstdZlib);
  const fallback = loadZstdFallback();
  return fallback ? zstdFallbackCodec(fallback) : undefined;
}

const CODECS: ReadonlyArray<CompressionCodec | undefined> = [
  identity,
  gzip,
  snappyBinding ? snappyCodec(snappyBinding) : undefined,
  lz4Binding ? lz4Codec(lz4Binding) : undefined,
  loadZstd(),
];

export function isCompressionSupported(type: number): boolean {
  return CODECS[type] !== undefined;
}

/** The codec for a compression type; throws UnsupportedCompressionError when unknown or unavailable. */
export function compressionCodec(type: number): CompressionCodec {
  const codec = CODECS[type];
  if (!codec) {
    throw new UnsupportedCompressionError(
      type >= 0 && type < NAMES.length ? `${compressionName(type)} compression is not available on this node` : `unknown compression type ${type}`,
    );
  }
  return codec;
}
