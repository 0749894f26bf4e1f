import { beforeEach, describe, expect, it } from "vitest";
import { readdir, readlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { PartitionLog } from "../../src/log/partition_log.js";
import { LogCode, OffsetOutOfRangeError } from "../../src/log/errors.js";
import { readBatchHeader } from "../../src/log/batch.js";
import { nodeLogIo, type LogFile, type LogIo } from "../../src/log/log_file.js";

function bind(f: LogFile): LogFile {
  return {
    write: (b, p) => f.write(b, p),
    writeDurable: (b, p) => f.writeDurable(b, p),
    read: (b, o, l, p) => f.read(b, o, l, p),
    sync: () => f.sync(),
    truncate: (l) => f.truncate(l),
    size: () => f.size(),
    close: () => f.close(),
  };
}
import { ManualClock, appendQueued, batchOf, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

const tmp = tempDirPerTest();
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock();
});

function headersOf(buf: Buffer): Array<{ baseOffset: number; last: number; epoch: number }> {
  const out = [];
  for (let pos = 0; pos < buf.length; ) {
    const h = readBatchHeader(buf, pos);
    out.push({ baseOffset: h.baseOffset, last: h.baseOffset + h.lastOffsetDelta, epoch: h.partitionLeaderEpoch });
    pos += h.sizeBytes;
  }
  return out;
}

describe("PartitionLog appends and reads", () => {
  it("stamps base offsets and leader epoch, reads whole batches back from any offset", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    const a = await log.appendAsLeader(batchOf(3), 5);
    const b = await log.appendAsLeader(batchOf(2), 5);
    expect(a).toEqual({ baseOffset: 0, lastOffset: 2, logAppendTimeMs: -1, duplicate: false });
    expect(b.baseOffset).toBe(3);
    expect(log.logEndOffset).toBe(5);
    expect(log.latestEpoch).toBe(5);
    const all = await log.read(0, 1 << 20, log.logEndOffset);
    expect(headersOf(all.records)).toEqual([
      { baseOffset: 0, last: 2, epoch: 5 },
      { baseOffset: 3, last: 4, epoch: 5 },
    ]);
    // Offset inside the first batch: the batch containing it comes back.
    expect(headersOf((await log.read(1, 1 << 20, 5)).records)[0]!.baseOffset).toBe(0);
    expect(headersOf((await log.read(3, 1 << 20, 5)).records)).toEqual([{ baseOffset: 3, last: 4, epoch: 5 }]);
    await log.close();
  });

  it("never reads past maxOffset and returns at least one batch beyond maxBytes", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    for (let i = 0; i < 4; i++) await log.appendAsLeader(batchOf(2, { size: 500 }), 1);
    expect(headersOf((await log.read(0, 10, 8)).records)).toHaveLength(1);
    expect(headersOf((await log.read(0, 1 << 20, 4)).records).map((h) => h.baseOffset)).toEqual([0, 2]);
    expect((await log.read(4, 1 << 20, 4)).records.length).toBe(0);
    expect((await log.read(8, 1 << 20, 8)).records.length).toBe(0);
    await expect(log.read(9, 100, 9)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(9, 100, 9)).rejects.toMatchObject({ code: LogCode.OFFSET_OUT_OF_RANGE, logStartOffset: 0, logEndOffset: 8 });
    await log.close();
  });

  it("rolls segments by size and by age and serves reads across them", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 2000, segmentMs: 60_000 }), { clock, logger: quietLogger });
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batchOf(2, { size: 400 }), 1);
    expect(log.segmentCount).toBeGreaterThanOrEqual(4);
    const files = await readdir(tmp.dir);
    expect(files).toContain("00000000000000000000.log");
    for (let off = 0; off < 20; off += 2) {
      const r = await log.read(off, 1, 20);
      expect(headersOf(r.records)[0]!.baseOffset).toBe(off);
    }
    const before = log.segmentCount;
    await log.appendAsLeader(batchOf(1), 1);
    clock.advance(60_000);
    await log.appendAsLeader(batchOf(1), 1);
    expect(log.segmentCount).toBe(before + 1);
    await log.close();
  });
});

describe("segment.ms across restarts", () => {
  it("counts the active segment's age from its first batch, not from the restart", async () => {
    const config = testConfig({ segmentMs: 60_000 });
    let log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(1, { baseTimestamp: clock.now }), 1);
    await log.close();
    clock.advance(30_000);
    log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    clock.advance(31_000);
    await log.appendAsLeader(batchOf(1, { baseTimestamp: clock.now }), 1);
    expect(log.segmentCount).toBe(2);
    await log.close();
  });
});

describe("PartitionLog guards", () => {
  it("fences appends from an older leader epoch", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(1), 4);
    await log.assignEpoch(6, 1);
    await expect(log.appendAsLeader(batchOf(1), 5)).rejects.toMatchObject({ code: LogCode.FENCED_LEADER_EPOCH });
    expect(log.logEndOffset).toBe(1);
    expect((await log.appendAsLeader(batchOf(1), 6)).baseOffset).toBe(1);
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 4, endOffset: 1 });
    await log.close();
  });

  it("applies topic-config changes to later appends", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(2, { size: 300 }), 1);
    log.updateConfig(testConfig({ maxMessageBytes: 200 }));
    await expect(log.appendAsLeader(batchOf(2, { size: 300 }), 1)).rejects.toMatchObject({ code: LogCode.MESSAGE_TOO_LARGE });
    expect(() => log.updateConfig(testConfig({ segmentBytes: -1 }))).toThrow(/segment.bytes/);
    await log.close();
  });

  it("a closed log refuses reads and writes with a typed error instead of going offline", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(2), 1);
    await log.close();
    await expect(log.read(0, 100, 2)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    await expect(log.appendAsLeader(batchOf(1), 1)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    expect(log.offline).toBe(false);
  });

  it("concurrent flushes never report data flushed before its fsync finished", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const io: LogIo = {
      openFile: async (path, create) => {
        const f = await nodeLogIo.openFile(path, create);
        return {
          ...bind(f),
          sync: async () => {
            await gate;
            await f.sync();
          },
          writeDurable: async (b, p) => {
            await gate;
            await f.writeDurable(b, p);
          },
        };
      },
    };
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger, io });
    await appendQueued(log, [batchOf(1), batchOf(1)]);
    let done = 0;
    const first = log.flush().then(() => done++);
    const second = log.flush().then(() => done++);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(0);
    expect(log.flushedOffset).toBe(0);
    release();
    await Promise.all([first, second]);
    expect(log.flushedOffset).toBe(2);
    await log.close();
  });
});

describe("write-through (O_DSYNC) appends", () => {
  /** Real files; counts the durable writes and fsyncs the log issues. */
  function countingIo(): { io: LogIo; durableWrites: number; syncs: number } {
    const counts = { durableWrites: 0, syncs: 0 };
    const io: LogIo = {
      openFile: async (path, create) => {
        const f = await nodeLogIo.openFile(path, create);
        return {
          ...bind(f),
          sync: () => {
            counts.syncs++;
            return f.sync();
          },
          writeDurable: (b, p) => {
            counts.durableWrites++;
            return f.writeDurable(b, p);
          },
        };
      },
    };
    return Object.assign(counts, { io });
  }

  it("a lone append to a flushed durable log is durable when it returns, with no fsync", async () => {
    const c = countingIo();
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger, io: c.io });
    const syncsAtOpen = c.syncs;
    await log.appendAsLeader(batchOf(3), 1);
    expect(log.flushedOffset).toBe(3);
    await log.flush();
    expect(c.durableWrites).toBe(1);
    expect(c.syncs).toBe(syncsAtOpen);
    // Appends queued together take the plain write and share one fsync (group commit).
    await appendQueued(log, [batchOf(1), batchOf(1), batchOf(1)]);
    expect(c.durableWrites).toBe(1);
    expect(log.flushedOffset).toBe(3);
    await log.flush();
    expect(log.flushedOffset).toBe(6);
    expect(c.syncs).toBe(syncsAtOpen + 1);
    // Flushed again: the next lone append is written through, and survives a reopen.
    await log.appendAsLeader(batchOf(2), 1);
    expect(c.durableWrites).toBe(2);
    expect(log.flushedOffset).toBe(8);
    await log.close();
    const again = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    expect(again.logEndOffset).toBe(8);
    await again.close();
  });

  it("keeps the O_DSYNC handle of the active segment only", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 600 }), { clock, logger: quietLogger });
    const handlesOn = async (file: string): Promise<number> => {
      const fds = await readdir("/proc/self/fd");
      const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")));
      return targets.filter((t) => t === join(tmp.dir, file)).length;
    };
    await log.appendAsLeader(batchOf(1, { size: 200 }), 1); // written through: a second handle
    expect(await handlesOn("00000000000000000000.log")).toBe(2);
    for (let i = 0; i < 3; i++) await log.appendAsLeader(batchOf(1, { size: 200 }), 1); // rolls
    expect(log.segmentCount).toBeGreaterThan(1);
    expect(await handlesOn("00000000000000000000.log")).toBe(1);
    await log.close();
  });

  it("is never used while earlier appends are unflushed, nor with flush.mode=replicated", async () => {
    const c = countingIo();
    const log = await PartitionLog.open(tmp.dir, testConfig({ flushMode: "replicated" }), { clock, logger: quietLogger, io: c.io });
    for (let i = 0; i < 3; i++) await log.appendAsLeader(batchOf(1), 1);
    expect(c.durableWrites).toBe(0);
    await log.close();
    const d = countingIo();
    const durable = await PartitionLog.open(`${tmp.dir}/d`, testConfig(), { clock, logger: quietLogger, io: d.io });
    await appendQueued(durable, [batchOf(1), batchOf(1)]);
    // Unflushed data before it: a lone append now must not be counted as durable.
    await durable.appendAsLeader(batchOf(1), 1);
    expect(d.durableWrites).toBe(0);
    expect(durable.flushedOffset).toBe(0);
    await durable.flush();
    expect(durable.flushedOffset).toBe(3);
    await durable.close();
  });
});

describe("interop with @brook/protocol's codec", () => {
  it("stores producer-encoded batches unchanged apart from the stamped fields, and they decode back", async () => {
    const { encodeRecordBatch, decodeRecordBatch, CompressionType } = await import("@brook/protocol");
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    const plain = encodeRecordBatch(
      [
        { key: Buffer.from("k1"), value: Buffer.from("v1"), timestamp: 5_000 },
        { key: null, value: Buffer.from("v2"), timestamp: 5_007 },
      ],
      { producerId: 9, producerEpoch: 0, baseSequence: 0 },
    );
    const gz = encodeRecordBatch([{ value: Buffer.from("zipped"), timestamp: 6_000 }], {
      compression: CompressionType.Gzip,
      producerId: 9,
      producerEpoch: 0,
      baseSequence: 2,
    });
    await log.appendAsLeader(plain, 3);
    await log.appendAsLeader(gz, 3);
    const { records } = await log.read(0, 1 << 20, log.logEndOffset);
    const first = decodeRecordBatch(records, 0);
    expect(first.baseOffset).toBe(0);
    expect(first.partitionLeaderEpoch).toBe(3);
    expect(first.records.map((r) => r.value?.toString())).toEqual(["v1", "v2"]);
    const second = decodeRecordBatch(records, plain.length);
    expect(records.readInt16BE(plain.length + 21) & 0x7).toBe(CompressionType.Gzip); // stored compressed, as produced
    expect(second.baseOffset).toBe(2);
    expect(second.records[0]!.value?.toString()).toBe("zipped");
    // Timestamp lookups: exact inside an uncompressed batch, batch-level for a compressed one.
    expect(await log.offsetForTimestamp(5_001)).toMatchObject({ offset: 1, timestamp: 5_007 });
    expect(await log.offsetForTimestamp(5_500)).toMatchObject({ offset: 2, timestamp: 6_000 });
    await log.close();
  });
});

describe("message.timestamp.type=LogAppendTime", () => {
  it("stamps the broker clock into each batch, keeps the CRC valid and answers time lookups with it", async () => {
    const { decodeRecordBatch } = await import("@brook/protocol");
    const log = await PartitionLog.open(tmp.dir, testConfig({ messageTimestampType: "LogAppendTime", messageTimestampDifferenceMaxMs: 10 }), {
      clock,
      logger: quietLogger,
    });
    // Producer timestamps far in the past are fine: they are replaced, not checked.
    const info = await log.appendAsLeader(batchOf(3, { baseTimestamp: 1_000 }), 1);
    expect(info.logAppendTimeMs).toBe(clock.now);
    const { records } = await log.read(0, 1 << 20, 3);
    const decoded = decodeRecordBatch(records, 0); // validates the recomputed CRC
    expect(decoded.maxTimestamp).toBe(clock.now);
    expect(decoded.records.map((r) => r.timestamp)).toEqual([clock.now, clock.now, clock.now]);
    expect(await log.offsetForTimestamp(clock.now)).toEqual({ offset: 0, timestamp: clock.now, leaderEpoch: 1 });
    expect(await log.offsetForTimestamp(clock.now + 1)).toBeNull();
    await log.close();
  });
});

describe("index memory", () => {
  it("keeps indexes of only a few inactive segments in memory and reloads or rebuilds them on demand", async () => {
    const config = testConfig({ segmentBytes: 700, indexIntervalBytes: 100 });
    const log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    for (let i = 0; i < 60; i++) await log.appendAsLeader(batchOf(2, { size: 60, baseTimestamp: 1000 * i }), 1);
    expect(log.segmentCount).toBeGreaterThan(10);
    expect(log.segmentsWithIndexesLoaded()).toBe(1); // only the active one after rolling
    // Lose one inactive segment's index files: its next lookup rebuilds them from the batches.
    const victim = log.segmentBaseOffsets()[3]!;
    await rm(join(tmp.dir, `${String(victim).padStart(20, "0")}.index`));
    for (let o = 0; o < 120; o++) {
      const { records } = await log.read(o, 1, 120);
      expect(readBatchHeader(records, 0).baseOffset).toBe(o - (o % 2));
      expect(log.segmentsWithIndexesLoaded()).toBeLessThanOrEqual(5);
    }
    expect(await log.offsetForTimestamp(7000)).toMatchObject({ offset: 14 });
    await log.close();
    // The rebuilt index was persisted at close and is used after a restart.
    const back = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    expect(await readdir(tmp.dir)).toContain(`${String(victim).padStart(20, "0")}.index`);
    expect(readBatchHeader((await back.read(victim + 2, 1, 120)).records, 0).baseOffset).toBe(victim + 2);
    await back.close();
  });
});
