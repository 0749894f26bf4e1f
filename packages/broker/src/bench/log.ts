// Partition-log benchmark on real files in a temp dir (one process, no network):
//   1. append throughput, 1 KiB records in 16-record batches (Kafka's default 16 KiB
//      batch.size), 6 partitions with concurrent writers each, in durable mode (every append
//      waits for the broker-wide group-commit fsync) and in replicated mode (no fsync wait)
//   2. read throughput: whole batches, 1 MiB per read, from the start of every partition
// Figures only; bounded to well under a minute. `BENCH_LOG_MB` scales the volume written.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32c } from "@brook/protocol";
import { DEFAULT_LOG_CONFIG, type FlushMode } from "../log/config.js";
import { LogManager } from "../log/log_manager.js";
import { systemClock, silentLogger } from "../log/types.js";

const PARTITIONS = 6;
const WRITERS_PER_PARTITION = 8;
const TOTAL_MB = Number(process.env.BENCH_LOG_MB ?? 256);

/** One uncompressed RecordBatch v2 with `n` records of `size`-byte values (no keys, no headers). */
function makeBatch(n: number, size: number): Buffer {
  const recs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    // attributes(1) tsDelta(1: 0) offsetDelta(varint) keyLen(-1) valueLen(varint) value headers(0)
    const body = Buffer.concat([Buffer.from([0, 0]), varint(i), varint(-1), varint(size), Buffer.alloc(size, 0x62), varint(0)]);
    recs.push(Buffer.concat([varint(body.length), body]));
  }
  const records = Buffer.concat(recs);
  const buf = Buffer.alloc(61 + records.length);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt8(2, 16);
  buf.writeInt32BE(n - 1, 23);
  const now = BigInt(Date.now());
  buf.writeBigInt64BE(now, 27);
  buf.writeBigInt64BE(now, 35);
  buf.writeBigInt64BE(-1n, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(n, 57);
  records.copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

function varint(v: number): Buffer {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z & 0x7f) | 0x80);
    z = Math.floor(z / 128);
  }
  out.push(z);
  return Buffer.from(out);
}

interface Shape {
  readonly recordBytes: number;
  readonly recordsPerBatch: number;
  readonly totalMb: number;
}

async function appendRun(mode: FlushMode, dataDir: string, shape: Shape, quiet = false): Promise<void> {
  const RECORDS_PER_BATCH = shape.recordsPerBatch;
  const mgr = await LogManager.open(dataDir, { ...DEFAULT_LOG_CONFIG, flushMode: mode }, { clock: systemClock, logger: silentLogger });
  const template = makeBatch(RECORDS_PER_BATCH, shape.recordBytes);
  const batches = Math.ceil((shape.totalMb * 1024 * 1024) / template.length);
  const perWriter = Math.ceil(batches / (PARTITIONS * WRITERS_PER_PARTITION));
  const logs = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => mgr.getOrCreate(`bench-${mode}`, p)));
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    logs.flatMap((log) =>
      Array.from({ length: WRITERS_PER_PARTITION }, async () => {
        for (let i = 0; i < perWriter; i++) {
          const start = performance.now();
          // A fresh buffer per request, as a gRPC handler gets: stamping happens in place.
          const info = await log.appendAsLeader(Buffer.from(template), 1);
          if (mode === "durable") await mgr.flusher.flush(log, info.lastOffset + 1);
          latencies.push(performance.now() - start);
        }
      }),
    ),
  );
  const secs = (performance.now() - t0) / 1000;
  const records = perWriter * PARTITIONS * WRITERS_PER_PARTITION * RECORDS_PER_BATCH;
  const bytes = perWriter * PARTITIONS * WRITERS_PER_PARTITION * template.length;
  latencies.sort((a, b) => a - b);
  const q = (x: number): string => latencies[Math.min(latencies.length - 1, Math.floor(x * latencies.length))]!.toFixed(2);
  const appends = latencies.length;
  if (!quiet) console.log(
    `append ${label(mode, shape)} ${Math.round(records / secs).toLocaleString("en")} records/s, ` +
      `${(bytes / 1024 / 1024 / secs).toFixed(1)} MB/s (${(bytes / 1024 / 1024).toFixed(0)} MB in ${secs.toFixed(2)} s; ` +
      `append${mode === "durable" ? "+fsync" : ""} latency p50 ${q(0.5)} ms p99 ${q(0.99)} ms` +
      (mode === "durable"
        ? `; ${mgr.flusher.passes} group-commit passes, ${(appends / Math.max(1, mgr.flusher.passes)).toFixed(1)} appends per pass)`
        : ")"),
  );

  const r0 = performance.now();
  let readBytes = 0;
  let readRecords = 0;
  for (const log of logs) {
    let next = log.logStartOffset;
    while (next < log.logEndOffset) {
      const { records: buf } = await log.read(next, 1024 * 1024, log.logEndOffset);
      readBytes += buf.length;
      // Advance past the last whole batch read.
      let pos = 0;
      while (pos < buf.length) {
        const size = 12 + buf.readInt32BE(pos + 8);
        const last = Number(buf.readBigInt64BE(pos)) + buf.readInt32BE(pos + 23);
        readRecords += buf.readInt32BE(pos + 57);
        next = last + 1;
        pos += size;
      }
    }
  }
  const rsecs = (performance.now() - r0) / 1000;
  if (!quiet) console.log(
    `read   ${label(mode, shape)} ${Math.round(readRecords / rsecs).toLocaleString("en")} records/s, ` +
      `${(readBytes / 1024 / 1024 / rsecs).toFixed(1)} MB/s (1 MiB reads, page cache warm)`,
  );
  await mgr.close();
}

function label(mode: FlushMode, shape: Shape): string {
  return `${mode.padEnd(10)} ${String(shape.recordBytes).padStart(4)} B:`;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "brook-bench-log-"));
  const shapes: Shape[] = [
    { recordBytes: 1024, recordsPerBatch: 16, totalMb: TOTAL_MB },
    { recordBytes: 100, recordsPerBatch: 128, totalMb: Math.max(16, Math.round(TOTAL_MB / 4)) },
  ];
  try {
    console.log(`${PARTITIONS} partitions x ${WRITERS_PER_PARTITION} writers; batches of 16 x 1 KiB and 128 x 100 B records; real files in ${dataDir}`);
    // Warm-up (JIT, page cache, allocator), not reported.
    await appendRun("replicated", join(dataDir, "warmup"), { recordBytes: 1024, recordsPerBatch: 16, totalMb: 16 }, true);
    for (const shape of shapes) {
      for (const mode of ["durable", "replicated"] as const) await appendRun(mode, join(dataDir, `${mode}-${shape.recordBytes}`), shape);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
