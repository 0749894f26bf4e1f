// Benchmark: RecordBatch v2 encode/decode throughput and CRC-32C speed. Prints a table and exits
// in well under a minute. Records carry a null key and a random value of the stated size, so
// compression figures are a worst case. Run with `npx pnpm@10.34.8 bench protocol`.
import { randomBytes } from "node:crypto";
import * as zlib from "node:zlib";
import {
  CompressionType,
  compressionName,
  crc32cImplementation,
  crc32cJs,
  crc32cNative,
  decodeRecordBatch,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  isCompressionSupported,
  type RecordInput,
} from "../index.js";

const TARGET_NS = 600_000_000n;
const zlibHasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";

/** Repeats fn until ~TARGET_NS has passed (after a warm-up) and returns calls per second. */
function measure(fn: () => void): number {
  for (let i = 0; i < 50; i++) fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < TARGET_NS) {
    for (let i = 0; i < 20; i++) fn();
    calls += 20;
    elapsed = process.hrtime.bigint() - start;
  }
  return (calls * 1e9) / Number(elapsed);
}

/** As measure, for async work (awaited one call at a time). */
async function measureAsync(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < TARGET_NS) {
    await fn();
    calls++;
    elapsed = process.hrtime.bigint() - start;
  }
  return (calls * 1e9) / Number(elapsed);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function row(cells: string[]): void {
  console.log(cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(14))).join(""));
}

function crcBench(): void {
  console.log(`CRC-32C (crc32c() uses: ${crcImplementationLabel()})`);
  row(["input", "MB/s"]);
  for (const size of [16 * 1024, 1024 * 1024]) {
    const data = randomBytes(size);
    if (crc32cNative) {
      const native = crc32cNative;
      row([`native @node-rs/crc32, ${size / 1024} KiB`, fmt((measure(() => native(data)) * size) / 1e6)]);
    }
    row([`pure JS slicing-by-8, ${size / 1024} KiB`, fmt((measure(() => crc32cJs(data)) * size) / 1e6)]);
  }
  console.log("");
}

function crcImplementationLabel(): string {
  return crc32cImplementation === "native" ? "native" : "pure JS";
}

async function codecBench(): Promise<void> {
  console.log("RecordBatch v2 codec (MB/s counts batch bytes on the wire)");
  row(["records x size, compression", "enc rec/s", "enc MB/s", "dec rec/s", "dec MB/s"]);
  const cases: [number, number, CompressionType][] = [
    [1, 100, CompressionType.None],
    [1, 1024, CompressionType.None],
    [500, 100, CompressionType.None],
    [500, 1024, CompressionType.None],
  ];
  for (const type of [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
    if (isCompressionSupported(type)) cases.push([500, 1024, type]);
  }
  const baseTimestamp = 1_700_000_000_000;
  for (const [count, size, compression] of cases) {
    const records: RecordInput[] = Array.from({ length: count }, (_, i) => ({ key: null, value: randomBytes(size), timestamp: baseTimestamp + i }));
    const options = { compression, producerId: 1000, producerEpoch: 0, baseSequence: 0 };
    // zstd without node:zlib zstd has only an async (native, off-loop) compressor.
    const encoded = await encodeRecordBatchAsync(records, options);
    const syncEncode = compression !== CompressionType.Zstd || zlibHasZstd;
    const enc = syncEncode ? measure(() => encodeRecordBatch(records, options)) : await measureAsync(() => encodeRecordBatchAsync(records, options));
    const dec = measure(() => decodeRecordBatch(encoded));
    row([
      `${count} x ${size} B, ${compressionName(compression)}${syncEncode ? "" : " (async enc)"}`,
      fmt(enc * count),
      fmt((enc * encoded.length) / 1e6),
      fmt(dec * count),
      fmt((dec * encoded.length) / 1e6),
    ]);
  }
}

crcBench();
await codecBench();
