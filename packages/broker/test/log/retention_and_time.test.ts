// Retention by time and size with an injected clock, reads below the log start, lookups by
// timestamp, truncation of a real log to the KIP-101/279 divergence point.
import { beforeEach, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import { PartitionLog } from "../../src/log/partition_log.js";
import { OffsetOutOfRangeError } from "../../src/log/errors.js";
import { divergenceOffset } from "../../src/log/epoch_cache.js";
import { validateBatch } from "../../src/log/batch.js";
import { ManualClock, batchOf, buildBatch, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

const tmp = tempDirPerTest();
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(10_000_000);
});

const HOUR = 3_600_000;

describe("retention", () => {
  it("deletes whole segments older than retention.ms, only below the high watermark, and moves the log start", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 500, retentionMs: 2 * HOUR }), { clock, logger: quietLogger });
    // Five segments of two batches each, one hour apart.
    for (let s = 0; s < 5; s++) {
      for (let b = 0; b < 2; b++) await log.appendAsLeader(batchOf(2, { size: 80, baseTimestamp: clock.now }), 1);
      clock.advance(HOUR);
    }
    const segsBefore = log.segmentCount;
    expect(segsBefore).toBeGreaterThanOrEqual(5);
    // Nothing is replicated yet: retention must not delete anything.
    expect(await log.deleteRecordsForRetention(clock.now)).toBe(0);
    log.highWatermark = log.logEndOffset;
    const deleted = await log.deleteRecordsForRetention(clock.now);
    expect(deleted).toBeGreaterThan(0);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]);
    expect(log.logStartOffset).toBeGreaterThan(0);
    // Every kept segment's newest record is within retention.
    const { records } = await log.read(log.logStartOffset, 1 << 20, log.logEndOffset);
    expect(clock.now - validateBatch(records, 0).maxTimestamp).toBeLessThanOrEqual(3 * HOUR);
    const err = await log.read(0, 100, log.logEndOffset).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffsetOutOfRangeError);
    expect(err).toMatchObject({ logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset });
    // Files are really gone, and the log start survives a restart.
    const logs = (await readdir(tmp.dir)).filter((n) => n.endsWith(".log"));
    expect(logs.length).toBe(log.segmentCount);
    const start = log.logStartOffset;
    await log.close();
    const back = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 500, retentionMs: 2 * HOUR }), { clock, logger: quietLogger });
    expect(back.logStartOffset).toBe(start);
    await back.close();
  });

  it("with everything expired, rolls the active segment and empties the log at its end", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ retentionMs: HOUR }), { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(3, { baseTimestamp: clock.now }), 1);
    log.highWatermark = 3;
    clock.advance(2 * HOUR);
    await log.applyRetention();
    expect(log.logStartOffset).toBe(3);
    expect(log.logEndOffset).toBe(3);
    expect((await log.read(3, 100, 3)).records.length).toBe(0);
    expect((await log.appendAsLeader(batchOf(1, { baseTimestamp: clock.now }), 1)).baseOffset).toBe(3);
    await log.close();
  });

  it("deletes oldest segments while the log is larger than retention.bytes", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 500, retentionBytes: 1200 }), { clock, logger: quietLogger });
    for (let i = 0; i < 20; i++) await log.appendAsLeader(batchOf(2, { size: 80, baseTimestamp: clock.now }), 1);
    log.highWatermark = log.logEndOffset;
    const before = log.sizeBytes;
    expect(before).toBeGreaterThan(1200);
    await log.applyRetention();
    expect(log.sizeBytes).toBeLessThanOrEqual(1200 + 500);
    expect(log.sizeBytes).toBeGreaterThanOrEqual(1200 - 500);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]);
    expect(log.logEndOffset).toBe(40);
    await log.close();
  });
});

describe("lookups by timestamp", () => {
  it("finds the first record at or after a timestamp across segments and inside a batch", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 600, indexIntervalBytes: 100 }), { clock, logger: quietLogger });
    // Batch i has records at 1000*i + {0,1,2,3}.
    for (let i = 0; i < 20; i++) await log.appendAsLeader(batchOf(4, { size: 30, baseTimestamp: 1000 * i }), 1);
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 0, leaderEpoch: 1 });
    expect(await log.offsetForTimestamp(7002)).toEqual({ offset: 30, timestamp: 7002, leaderEpoch: 1 });
    expect(await log.offsetForTimestamp(7004)).toEqual({ offset: 32, timestamp: 8000, leaderEpoch: 1 });
    expect(await log.offsetForTimestamp(19_003)).toMatchObject({ offset: 79 });
    expect(await log.offsetForTimestamp(19_004)).toBeNull();
    expect(await log.offsetForTimestamp(7002, 30)).toBeNull(); // below the high watermark only
    await log.close();
  });

  it("still finds them after a restart from persisted time indexes", async () => {
    const config = testConfig({ segmentBytes: 600, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    for (let i = 0; i < 20; i++) await log.appendAsLeader(batchOf(4, { size: 30, baseTimestamp: 1000 * i }), 1);
    await log.close();
    log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    expect(await log.offsetForTimestamp(12_001)).toMatchObject({ offset: 49, timestamp: 12_001 });
    await log.close();
  });
});

describe("truncation by leader epoch on real logs", () => {
  it("KIP-279 divergence: the follower truncates to where the logs agree, then copies the leader", async () => {
    const leader = await PartitionLog.open(`${tmp.dir}/leader`, testConfig(), { clock, logger: quietLogger });
    const follower = await PartitionLog.open(`${tmp.dir}/follower`, testConfig(), { clock, logger: quietLogger });
    // Common prefix in epoch 1 (offsets 0-3).
    for (let i = 0; i < 2; i++) {
      const b = batchOf(2, { tag: `common${i}` });
      await leader.appendAsLeader(b, 1);
      await follower.appendAsFollower(Buffer.from(b));
    }
    // The follower then led epoch 2 alone and wrote 4-7; the leader wrote 4-5 in epoch 3.
    await follower.appendAsLeader(batchOf(2, { tag: "lost" }), 2);
    await follower.appendAsLeader(batchOf(2, { tag: "lost" }), 2);
    await leader.appendAsLeader(batchOf(2, { tag: "kept" }), 3);
    const cut = divergenceOffset({
      leader: leader.epochCache(),
      leaderLogEndOffset: leader.logEndOffset,
      follower: follower.epochCache(),
      followerLogEndOffset: follower.logEndOffset,
      followerHighWatermark: follower.highWatermark,
    });
    expect(cut).toBe(4);
    await follower.truncateTo(cut);
    expect(follower.logEndOffset).toBe(4);
    expect(follower.latestEpoch).toBe(1);
    const { records } = await leader.read(4, 1 << 20, leader.logEndOffset);
    await follower.appendAsFollower(records);
    const a = await leader.read(0, 1 << 20, 6);
    const b = await follower.read(0, 1 << 20, 6);
    expect(Buffer.compare(a.records, b.records)).toBe(0);
    expect(follower.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 4 });
    await leader.close();
    await follower.close();
  });

  it("truncateTo across segments removes whole later segments; truncateFullyAndStartAt restarts the log", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 300 }), { clock, logger: quietLogger });
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batchOf(2, { size: 50 }), 1);
    const n = log.segmentCount;
    expect(n).toBeGreaterThan(3);
    log.highWatermark = 20;
    await log.truncateTo(5); // inside batch 4-5: the whole batch goes
    expect(log.logEndOffset).toBe(4);
    expect(log.highWatermark).toBe(4);
    expect(log.segmentCount).toBeLessThan(n);
    expect((await log.appendAsLeader(batchOf(1), 2)).baseOffset).toBe(4);
    await log.truncateFullyAndStartAt(100);
    expect([log.logStartOffset, log.logEndOffset, log.segmentCount]).toEqual([100, 100, 1]);
    await expect(log.read(4, 100, 200)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await log.appendAsFollower(buildBatch({ baseOffset: 100, partitionLeaderEpoch: 7, records: [{ value: "x" }] }));
    expect(log.logEndOffset).toBe(101);
    await log.close();
  });
});
