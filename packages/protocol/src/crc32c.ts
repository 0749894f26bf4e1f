// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2.
// Contract: crc32c(data, crc) continues a running checksum, so crc32c(b, crc32c(a)) equals
// crc32c(a ++ b); results are unsigned 32-bit numbers. The native SIMD implementation from
// @node-rs/crc32 is used when it loads (it is several times faster, see README); the pure-JS
// slicing-by-8 table is the fallback and is exported for tests and the benchmark.
import { createRequire } from "node:module";

const POLY = 0x82f63b78;

// T[k*256 + b] = CRC of byte b followed by k zero bytes: lets the loop fold 8 bytes per step.
const T = (() => {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
})();

export function crc32cJs(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  for (; i < end8; i += 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + data[i + 4]!]! ^
      T[512 + data[i + 5]!]! ^
      T[256 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
  }
  for (; i < n; i++) c = T[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type NativeCrc = (input: Buffer, initial?: number) => number;

function loadNative(): ((data: Uint8Array, crc?: number) => number) | undefined {
  if (process.env["BROOK_CRC32C_JS"] === "1") return undefined;
  try {
    const mod = createRequire(import.meta.url)("@node-rs/crc32") as { crc32c?: NativeCrc };
    const fn = mod.crc32c;
    if (typeof fn !== "function") return undefined;
    const wrapped = (data: Uint8Array, crc = 0): number =>
      fn(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength), crc) >>> 0;
    // Refuse a binding that disagrees with the standard check value rather than corrupt logs.
    if (wrapped(Buffer.from("123456789")) !== 0xe3069283) return undefined;
    return wrapped;
  } catch {
    return undefined;
  }
}

/** The native implementation, or undefined when its binding is not available here. */
export const crc32cNative = loadNative();

/** Which implementation `crc32c` uses on this process. */
export const crc32cImplementation: "native" | "js" = crc32cNative ? "native" : "js";

export const crc32c: (data: Uint8Array, crc?: number) => number = crc32cNative ?? crc32cJs;
