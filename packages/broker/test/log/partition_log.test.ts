import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import { PartitionLog } from "../../src/log/partition_log.js";
import { LogCode, OffsetOutOfRangeError } from "../../src/log/errors.js";
import { readBatchHeader } from "../../src/log/batch.js";
import { ManualClock, batchOf, quietLogger, tempDir, testConfig } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
let clock: ManualClock;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  clock = new ManualClock();
});
afterEach(async () => cleanup());

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
    const log = await PartitionLog.open(dir, testConfig(), { clock, logger: quietLogger });
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
    const log = await PartitionLog.open(dir, testConfig(), { clock, logger: quietLogger });
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
    const log = await PartitionLog.open(dir, testConfig({ segmentBytes: 2000, segmentMs: 60_000 }), { clock, logger: quietLogger });
    for (let i = 0; i < 10; i++) await log.appendAsLeader(batchOf(2, { size: 400 }), 1);
    expect(log.segmentCount).toBeGreaterThanOrEqual(4);
    const files = await readdir(dir);
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
