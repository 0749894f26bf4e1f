// Test helpers: a minimal RecordBatch v2 encoder (uncompressed records, Kafka layout) used to
// make input for the log, temp dirs, a manual clock, and fault-injecting LogIos over real files.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { crc32c } from "@brook/protocol";
import { nodeLogIo, type LogFile, type LogIo } from "../../src/log/log_file.js";
import { DEFAULT_LOG_CONFIG, type LogConfig } from "../../src/log/config.js";
import type { PartitionLog } from "../../src/log/partition_log.js";
import type { Clock, LogLogger } from "../../src/log/types.js";

export interface TestRecord {
  readonly value: Buffer | string;
  readonly key?: Buffer | string | null;
  readonly timestampDelta?: number;
}

export interface BatchSpec {
  readonly records: readonly TestRecord[];
  readonly baseOffset?: number;
  readonly baseTimestamp?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly partitionLeaderEpoch?: number;
}

function varint(n: number): number[] {
  let z = BigInt(n) >= 0n ? BigInt(n) << 1n : (-BigInt(n) << 1n) - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number((z & 0x7fn) | 0x80n));
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}

function bytesOf(v: Buffer | string): Buffer {
  return typeof v === "string" ? Buffer.from(v) : v;
}

export function buildBatch(spec: BatchSpec): Buffer {
  const baseTs = spec.baseTimestamp ?? 1_000;
  const recs: Buffer[] = [];
  let maxTs = baseTs;
  spec.records.forEach((r, i) => {
    const tsd = r.timestampDelta ?? 0;
    maxTs = Math.max(maxTs, baseTs + tsd);
    const key = r.key === undefined || r.key === null ? null : bytesOf(r.key);
    const value = bytesOf(r.value);
    const body = Buffer.concat([
      Buffer.from([0]),
      Buffer.from(varint(tsd)),
      Buffer.from(varint(i)),
      Buffer.from(key === null ? varint(-1) : varint(key.length)),
      key ?? Buffer.alloc(0),
      Buffer.from(varint(value.length)),
      value,
      Buffer.from(varint(0)), // headers
    ]);
    recs.push(Buffer.concat([Buffer.from(varint(body.length)), body]));
  });
  const records = Buffer.concat(recs);
  const buf = Buffer.alloc(61 + records.length);
  buf.writeBigInt64BE(BigInt(spec.baseOffset ?? 0), 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(spec.partitionLeaderEpoch ?? -1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(0, 21);
  buf.writeInt32BE(spec.records.length - 1, 23);
  buf.writeBigInt64BE(BigInt(baseTs), 27);
  buf.writeBigInt64BE(BigInt(maxTs), 35);
  buf.writeBigInt64BE(BigInt(spec.producerId ?? -1), 43);
  buf.writeInt16BE(spec.producerEpoch ?? -1, 51);
  buf.writeInt32BE(spec.baseSequence ?? -1, 53);
  buf.writeInt32BE(spec.records.length, 57);
  records.copy(buf, 61);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

/** A batch of `n` records of `size` bytes each, values tagged with `tag`. */
/**
 * Appends `batches` queued together, as a busy leader's appends arrive: plain writes left for
 * the flush. (A lone append to a flushed durable log is written through with O_DSYNC and is
 * flushed when it returns, which tests of the flush path must avoid.)
 */
export async function appendQueued(log: PartitionLog, batches: readonly Buffer[], epoch = 1): Promise<void> {
  if (batches.length < 2) throw new Error("appendQueued needs two or more batches");
  await Promise.all(batches.map((b) => log.appendAsLeader(b, epoch)));
}

export function batchOf(n: number, opts: Omit<BatchSpec, "records"> & { size?: number; tag?: string } = {}): Buffer {
  const records: TestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const v = Buffer.alloc(opts.size ?? 16, 0x61);
    Buffer.from(`${opts.tag ?? "r"}${i}`).copy(v);
    records.push({ value: v, timestampDelta: i });
  }
  return buildBatch({ ...opts, records });
}

export class ManualClock implements Clock {
  constructor(public now = 1_000_000) {}
  nowMs(): number {
    return this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

export const quietLogger: LogLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function tempDir(prefix = "brook-log-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function testConfig(over: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...over };
}

/**
 * Real files whose writes can be made to fail like a full disk: after `failAfterBytes` more
 * bytes the write stores only the part that fits and throws ENOSPC; fsync can fail with EIO.
 */
export class FaultyIo implements LogIo {
  failWritesAfterBytes = Infinity;
  failSync = false;
  /** Opening (creating) files fails like a file system remounted read-only. */
  failOpen = false;

  openFile(path: string, create: boolean): Promise<LogFile> {
    if (this.failOpen) return Promise.reject(Object.assign(new Error(`EROFS: read-only file system, open '${path}'`), { code: "EROFS" }));
    return nodeLogIo.openFile(path, create).then((f) => this.wrap(f));
  }

  private wrap(f: LogFile): LogFile {
    const io = this;
    return {
      async write(buf, position) {
        if (buf.length > io.failWritesAfterBytes) {
          const fits = Math.max(0, io.failWritesAfterBytes);
          if (fits > 0) await f.write(buf.subarray(0, fits), position);
          io.failWritesAfterBytes = 0;
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        }
        io.failWritesAfterBytes -= buf.length;
        return f.write(buf, position);
      },
      async writeDurable(buf, position) {
        // A write and a sync in one: either fault applies.
        if (io.failSync) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
        await this.write(buf, position);
        await f.sync();
      },
      read: (b, o, l, p) => f.read(b, o, l, p),
      async sync() {
        if (io.failSync) throw Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
        return f.sync();
      },
      truncate: (l) => f.truncate(l),
      size: () => f.size(),
      close: () => f.close(),
    };
  }
}

/**
 * Real files on a disk that fills up at once: while `disk.failing` is set, every write and
 * fsync fails with ENOSPC, and with `failOpen` so does opening a file. Unlike FaultyIo, whose
 * faults are counted in bytes, this one is switched by a test that does not hold the log
 * (a broker's whole log directory).
 */
export function fullDiskIo(disk: { readonly failing: boolean }, opts: { readonly failOpen?: boolean } = {}): LogIo {
  const enospc = (what: string) => Object.assign(new Error(`ENOSPC: no space left on device, ${what}`), { code: "ENOSPC" });
  return {
    async openFile(path, create) {
      if (opts.failOpen === true && disk.failing) throw enospc(`open '${path}'`);
      const f = await nodeLogIo.openFile(path, create);
      return {
        write: (buf, pos) => (disk.failing ? Promise.reject(enospc("write")) : f.write(buf, pos)),
        writeDurable: (buf, pos) => (disk.failing ? Promise.reject(enospc("write")) : f.writeDurable(buf, pos)),
        read: (buf, off, len, pos) => f.read(buf, off, len, pos),
        sync: () => (disk.failing ? Promise.reject(enospc("write")) : f.sync()),
        truncate: (len) => f.truncate(len),
        size: () => f.size(),
        close: () => f.close(),
      };
    },
  };
}

/**
 * A fresh temp directory for every test of the calling file, removed after the test. Call it
 * once at the file's top level; `dir` is the running test's directory.
 */
export function tempDirPerTest(prefix?: string): { readonly dir: string } {
  let current: { dir: string; cleanup: () => Promise<void> } | undefined;
  beforeEach(async () => {
    current = await tempDir(prefix);
  });
  afterEach(async () => current?.cleanup());
  return {
    get dir(): string {
      if (current === undefined) throw new Error("tempDirPerTest: dir is only there while a test runs");
      return current.dir;
    },
  };
}
