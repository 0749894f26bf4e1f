// Bad input never touches the log; idempotent-producer dedup, gaps and epochs; disk failures.
import { describe, expect, it } from "vitest";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { PartitionLog } from "../../src/log/partition_log.js";
import { LogCode, LogStorageError } from "../../src/log/errors.js";
import { validateBatch } from "../../src/log/batch.js";
import { crc32c } from "@brook/protocol";
import { FaultyIo, ManualClock, appendQueued, batchOf, buildBatch, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

const tmp = tempDirPerTest();
const clock = new ManualClock();

const segFile = (): string => join(tmp.dir, "00000000000000000000.log");

async function expectIntact(log: PartitionLog, end: number, bytes: number): Promise<void> {
  expect(log.logEndOffset).toBe(end);
  expect((await stat(segFile())).size).toBe(bytes);
}

describe("bad input leaves the log intact", () => {
  it("rejects corrupt, truncated, wrong-magic, empty, inconsistent and oversized batches", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ maxMessageBytes: 1000 }), { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(2), 1);
    const size = (await stat(segFile())).size;

    const flipped = batchOf(2);
    flipped[70] = flipped[70]! ^ 1;
    await expect(log.appendAsLeader(flipped, 1)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    await expect(log.appendAsLeader(batchOf(2).subarray(0, 40), 1)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    await expect(log.appendAsLeader(batchOf(2).subarray(0, 80), 1)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    const magic = batchOf(1);
    magic.writeInt8(1, 16);
    await expect(log.appendAsLeader(magic, 1)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    await expect(log.appendAsLeader(Buffer.alloc(0), 1)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    const lengthLie = batchOf(1);
    lengthLie.writeInt32BE(0x7fffffff, 8);
    await expect(log.appendAsLeader(lengthLie, 1)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    await expect(log.appendAsLeader(batchOf(2, { size: 600 }), 1)).rejects.toMatchObject({ code: LogCode.MESSAGE_TOO_LARGE });
    const txn = batchOf(1, { producerId: 1, producerEpoch: 0, baseSequence: 0 });
    txn.writeInt16BE(0x10, 21);
    txn.writeUInt32BE(crc32c(txn.subarray(21)), 17);
    await expect(log.appendAsLeader(txn, 1)).rejects.toMatchObject({ code: LogCode.INVALID_RECORD });
    await expect(log.appendAsLeader(batchOf(1, { producerId: 1, producerEpoch: 0, baseSequence: -1 }), 1)).rejects.toMatchObject({
      code: LogCode.INVALID_RECORD,
    });
    // A good batch followed by a corrupt one: neither is written.
    await expect(log.appendAsLeader(Buffer.concat([batchOf(1), flipped]), 1)).rejects.toMatchObject({
      code: LogCode.CORRUPT_MESSAGE,
    });
    await expectIntact(log, 2, size);
    expect(log.offline).toBe(false);
    expect((await log.appendAsLeader(batchOf(1), 1)).baseOffset).toBe(2);
    await log.close();
  });

  it("rejects timestamps outside message.timestamp.difference.max.ms", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ messageTimestampDifferenceMaxMs: 1000 }), { clock, logger: quietLogger });
    await expect(log.appendAsLeader(batchOf(1, { baseTimestamp: clock.now - 5000 }), 1)).rejects.toMatchObject({
      code: LogCode.INVALID_TIMESTAMP,
    });
    expect((await log.appendAsLeader(batchOf(1, { baseTimestamp: clock.now - 500 }), 1)).baseOffset).toBe(0);
    await log.close();
  });

  it("rejects absurd read arguments with a typed error", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await expect(log.read(-1, 100, 10)).rejects.toMatchObject({ code: LogCode.OFFSET_OUT_OF_RANGE });
    await expect(log.read(0, -5, 10)).rejects.toMatchObject({ code: LogCode.INVALID_REQUEST });
    await expect(log.read(Number.NaN, 5, 10)).rejects.toMatchObject({ code: LogCode.INVALID_REQUEST });
    await log.close();
  });
});

describe("idempotent producer", () => {
  const pb = (seq: number, n = 2, epoch = 0, pid = 42): Buffer => batchOf(n, { producerId: pid, producerEpoch: epoch, baseSequence: seq });

  it("answers a retried batch with its original offsets and writes nothing", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    const first = await log.appendAsLeader(pb(0), 1);
    await log.appendAsLeader(batchOf(3), 1); // another writer in between
    const size = (await stat(segFile())).size;
    const retry = await log.appendAsLeader(pb(0), 1);
    expect(retry).toEqual({ ...first, duplicate: true });
    await expectIntact(log, 5, size);
    expect((await log.appendAsLeader(pb(2), 1)).baseOffset).toBe(5);
    await log.close();
  });

  it("an unknown producer's first batch must start at sequence 0: a later batch that overtakes it is rejected, not written", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    // Several batches in flight: the one at sequence 124 reaches the leader first.
    await expect(log.appendAsLeader(pb(124, 4), 1)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(log.logEndOffset).toBe(0);
    expect((await log.appendAsLeader(pb(0, 124), 1)).baseOffset).toBe(0);
    // The client's retry of the overtaking batch now lands after it, in order.
    expect((await log.appendAsLeader(pb(124, 4), 1)).baseOffset).toBe(124);
    await log.close();
  });

  it("remembers the last 5 batches per producer", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    for (let i = 0; i < 6; i++) await log.appendAsLeader(pb(i * 2), 1);
    for (let i = 1; i < 6; i++) expect((await log.appendAsLeader(pb(i * 2), 1)).duplicate).toBe(true);
    // The sixth-newest is forgotten; its sequence is no longer the next one either.
    await expect(log.appendAsLeader(pb(0), 1)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect(log.logEndOffset).toBe(12);
    await log.close();
  });

  it("rejects a sequence gap and a stale epoch; a new epoch restarts at 0", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await log.appendAsLeader(pb(0, 2, 3), 1);
    await expect(log.appendAsLeader(pb(3, 2, 3), 1)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    await expect(log.appendAsLeader(pb(2, 2, 2), 1)).rejects.toMatchObject({ code: LogCode.INVALID_PRODUCER_EPOCH });
    await expect(log.appendAsLeader(pb(5, 2, 4), 1)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect((await log.appendAsLeader(pb(0, 2, 4), 1)).baseOffset).toBe(2);
    expect(log.logEndOffset).toBe(4);
    // producerCheck=false (e.g. internal topics) skips the check.
    expect((await log.appendAsLeader(pb(100, 1, 4), 1, false)).baseOffset).toBe(4);
    await log.close();
  });

  it("expires producer state after producer.id.expiration.ms, then treats the id as new (its first batch must start at 0)", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig({ producerIdExpirationMs: 60_000 }), { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(2, { producerId: 42, producerEpoch: 0, baseSequence: 0, baseTimestamp: clock.now }), 1);
    await log.deleteRecordsForRetention(clock.now + 30_000);
    await expect(log.appendAsLeader(pb(7), 1)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    await log.deleteRecordsForRetention(clock.now + 61_000);
    await expect(log.appendAsLeader(pb(7), 1)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect((await log.appendAsLeader(pb(0), 1)).baseOffset).toBe(2);
    await log.close();
  });

  it("keeps a producer's history before the truncation point even when all its recent batches were cut", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    const first = await log.appendAsLeader(pb(0, 1), 1);
    await log.checkpoint();
    for (let seq = 1; seq <= 5; seq++) await log.appendAsLeader(pb(seq, 1), 1);
    await log.truncateTo(1); // every one of the last 5 batches goes
    expect(log.logEndOffset).toBe(1);
    // The retry of the batch still in the log is recognised, and the sequence continues after it.
    expect(await log.appendAsLeader(pb(0, 1), 2)).toEqual({ ...first, duplicate: true });
    await expect(log.appendAsLeader(pb(3, 1), 2)).rejects.toMatchObject({ code: LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER });
    expect((await log.appendAsLeader(pb(1, 1), 2)).baseOffset).toBe(1);
    await log.close();
  });

  it("forgets truncated batches, so a producer can resend them after a follower truncation", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await log.appendAsLeader(pb(0), 1);
    await log.appendAsLeader(pb(2), 1);
    await log.truncateTo(2);
    const again = await log.appendAsLeader(pb(2), 2);
    expect(again).toMatchObject({ baseOffset: 2, duplicate: false });
    await log.close();
  });
});

describe("disk failures", () => {
  it("a full disk fails the append with KAFKA_STORAGE_ERROR, cuts the partial batch and takes the log offline", async () => {
    const io = new FaultyIo();
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger, io });
    await log.appendAsLeader(batchOf(2), 1);
    await log.flush();
    const size = (await stat(segFile())).size;
    const events: LogStorageError[] = [];
    log.onOffline((e) => events.push(e));
    io.failWritesAfterBytes = 30; // the next batch is written partly, then ENOSPC
    await expect(log.appendAsLeader(batchOf(2), 1)).rejects.toBeInstanceOf(LogStorageError);
    expect(log.offline).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]!.code).toBe(LogCode.KAFKA_STORAGE_ERROR);
    await expectIntact(log, 2, size);
    await expect(log.appendAsLeader(batchOf(1), 1)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    await expect(log.read(0, 100, 2)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    await log.close();
    // After the disk is fixed the log reopens with exactly what was acknowledged.
    const back = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    expect(back.logEndOffset).toBe(2);
    const { records } = await back.read(0, 1 << 20, 2);
    expect(validateBatch(records, 0).baseOffset).toBe(0);
    await back.close();
  });

  it("a read-only file system at segment roll fails the append and takes the log offline, data intact", async () => {
    const io = new FaultyIo();
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 300 }), { clock, logger: quietLogger, io });
    await log.appendAsLeader(batchOf(2, { size: 80 }), 1);
    await log.flush();
    io.failOpen = true;
    await expect(log.appendAsLeader(batchOf(2, { size: 80 }), 1)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    expect(log.offline).toBe(true);
    expect(log.logEndOffset).toBe(2);
    await log.close();
    const back = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 300 }), { clock, logger: quietLogger });
    expect(back.logEndOffset).toBe(2);
    await back.close();
  });

  it("a failing fsync takes the log offline and never advances the flushed offset", async () => {
    const io = new FaultyIo();
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger, io });
    await appendQueued(log, [batchOf(1), batchOf(1)]);
    io.failSync = true;
    await expect(log.flush()).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    expect(log.flushedOffset).toBe(0);
    expect(log.durableEndOffset).toBe(0);
    expect(log.offline).toBe(true);
    await log.close();
  });
});

describe("follower appends", () => {
  it("accepts stamped batches contiguous with the log end and learns epochs from them", async () => {
    const log = await PartitionLog.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    const b0 = buildBatch({ baseOffset: 0, partitionLeaderEpoch: 1, records: [{ value: "a" }, { value: "b" }] });
    const b1 = buildBatch({ baseOffset: 2, partitionLeaderEpoch: 3, records: [{ value: "c" }] });
    await log.appendAsFollower(Buffer.concat([b0, b1]));
    expect(log.logEndOffset).toBe(3);
    expect(log.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 2 },
    ]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 2 });
    const gap = buildBatch({ baseOffset: 5, partitionLeaderEpoch: 3, records: [{ value: "d" }] });
    await expect(log.appendAsFollower(gap)).rejects.toMatchObject({ name: "UnexpectedAppendOffsetError" });
    const bad = buildBatch({ baseOffset: 3, partitionLeaderEpoch: 3, records: [{ value: "d" }] });
    bad[65] = bad[65]! ^ 1;
    await expect(log.appendAsFollower(bad)).rejects.toMatchObject({ code: LogCode.CORRUPT_MESSAGE });
    expect(log.logEndOffset).toBe(3);
    await log.close();
  });
});
