// Operations racing on one log: reads beside retention and truncation, appends beside flushes,
// and the LogManager's own timer. Whatever the interleaving, a read answers valid whole batches
// or a typed error, and nothing is lost or duplicated.
import { describe, expect, it } from "vitest";
import { PartitionLog } from "../../src/log/partition_log.js";
import { LogManager } from "../../src/log/log_manager.js";
import { OffsetOutOfRangeError } from "../../src/log/errors.js";
import { validateBatch } from "../../src/log/batch.js";
import { systemClock } from "../../src/log/types.js";
import { ManualClock, batchOf, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

const tmp = tempDirPerTest();

describe("concurrent operations", () => {
  it("reads racing retention get valid batches or OFFSET_OUT_OF_RANGE, never garbage or a crash", async () => {
    const clock = new ManualClock(10_000_000);
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 400, retentionMs: 1000 }), { clock, logger: quietLogger });
    for (let i = 0; i < 40; i++) await log.appendAsLeader(batchOf(2, { size: 60, baseTimestamp: clock.now - 5000 }), 1);
    log.highWatermark = log.logEndOffset;
    const reads = Array.from({ length: 80 }, async (_, i) => {
      const offset = i % 80;
      try {
        const { records } = await log.read(offset, 1 << 16, log.highWatermark);
        for (let pos = 0; pos < records.length; ) pos += validateBatch(records, pos).sizeBytes;
        return "ok";
      } catch (err) {
        expect(err).toBeInstanceOf(OffsetOutOfRangeError);
        return "out-of-range";
      }
    });
    const retention = log.deleteRecordsForRetention(clock.now);
    const outcomes = await Promise.all(reads);
    expect(await retention).toBeGreaterThan(0);
    expect(outcomes.every((o) => o === "ok" || o === "out-of-range")).toBe(true);
    expect(log.offline).toBe(false);
    await log.close();
  });

  it("appends racing flushes, checkpoints and reads keep offsets dense and unique", async () => {
    const clock = new ManualClock();
    const log = await PartitionLog.open(tmp.dir, testConfig({ segmentBytes: 2000 }), { clock, logger: quietLogger });
    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const info = await log.appendAsLeader(batchOf(1 + (i % 3)), 1);
        if (i % 7 === 0) await log.checkpoint();
        if (i % 5 === 0) await log.flush();
        if (i % 4 === 0) await log.read(0, 1 << 10, log.logEndOffset);
        return info;
      }),
    );
    const sorted = results.map((r) => [r.baseOffset, r.lastOffset] as const).sort((a, b) => a[0] - b[0]);
    let next = 0;
    for (const [base, last] of sorted) {
      expect(base).toBe(next);
      next = last + 1;
    }
    expect(log.logEndOffset).toBe(next);
    await log.close();
  });

  it("LogManager.start() checkpoints on its own timer until stopped", async () => {
    const mgr = await LogManager.open(tmp.dir, testConfig(), { clock: systemClock, logger: quietLogger, checkpointIntervalMs: 50 });
    const log = await mgr.getOrCreate("t", 0);
    await log.appendAsLeader(batchOf(2, { baseTimestamp: Date.now() }), 1);
    mgr.start();
    const deadline = Date.now() + 30_000; // liveness bound only
    while (log.flushedOffset < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(log.flushedOffset).toBe(2);
    await mgr.stop();
    await mgr.close();
  });
});
