// Log compaction on real files: the cleaner rewrites inactive segments of a PartitionLog and
// swaps them in; a crash at every step of the swap is simulated and the log reopened.
import { readdir } from "node:fs/promises";
import { CompressionType, decodeRecordBatchesAsync, encodeRecordBatch } from "@brook/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { LogCleaner, type SwapStep } from "../../src/log/cleaner.js";
import { LogManager } from "../../src/log/log_manager.js";
import { logConfigFromKafka } from "../../src/log/config.js";
import { PartitionLog } from "../../src/log/partition_log.js";
import { ManualClock, quietLogger, tempDir, testConfig } from "./helpers.js";

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function openLog(dir: string, clock: ManualClock): Promise<PartitionLog> {
  // Small segments: many inactive ones to clean.
  return PartitionLog.open(dir, testConfig({ segmentBytes: 2048, flushMode: "durable" }), { clock, logger: quietLogger });
}

/** Appends batches of `perBatch` records; returns every record written, by offset. */
async function fill(log: PartitionLog, clock: ManualClock, n: number, keyOf: (i: number) => string | null, valueOf: (i: number) => string | null, opts: { perBatch?: number; gzip?: boolean } = {}): Promise<Rec[]> {
  const out: Rec[] = [];
  const per = opts.perBatch ?? 4;
  for (let i = 0; i < n; i += per) {
    const recs = [];
    for (let j = i; j < Math.min(n, i + per); j++) {
      const k = keyOf(j);
      const v = valueOf(j);
      recs.push({ key: k === null ? null : Buffer.from(k), value: v === null ? null : Buffer.from(v) });
    }
    const info = await log.appendAsLeader(
      encodeRecordBatch(recs, { baseTimestamp: clock.nowMs(), ...(opts.gzip === true ? { compression: CompressionType.Gzip } : {}) }),
      0,
    );
    recs.forEach((r, j) => out.push({ offset: info.baseOffset + j, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null }));
  }
  await log.flush();
  log.highWatermark = log.logEndOffset;
  return out;
}

/** Everything a consumer reading from the log start sees. */
async function readAll(log: PartitionLog): Promise<Rec[]> {
  const out: Rec[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, 1 << 20, log.highWatermark);
    if (records.length === 0) break;
    for (const b of await decodeRecordBatchesAsync(records)) {
      for (const r of b.records) if (r.offset >= offset) out.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
      offset = b.baseOffset + b.lastOffsetDelta + 1;
    }
  }
  return out;
}

function latestByKey(recs: readonly Rec[]): Map<string, Rec> {
  const m = new Map<string, Rec>();
  for (const r of recs) if (r.key !== null) m.set(r.key, r);
  return m;
}

/** What must hold of any log derived from `original` by compaction (complete or not). */
function expectConsistent(got: readonly Rec[], original: readonly Rec[]): void {
  const byOffset = new Map(original.map((r) => [r.offset, r]));
  for (let i = 1; i < got.length; i++) expect(got[i]!.offset).toBeGreaterThan(got[i - 1]!.offset);
  for (const r of got) expect(r).toEqual(byOffset.get(r.offset)); // offsets preserved, nothing altered
  const latest = latestByKey(original);
  const seen = latestByKey(got);
  for (const [k, r] of latest) if (r.value !== null) expect(seen.get(k), `key ${k}`).toEqual(r);
  for (const r of original) if (r.key === null) expect(got).toContainEqual(r); // keyless records are kept
}

async function setup(): Promise<{ dir: string; clock: ManualClock; log: PartitionLog }> {
  const { dir, cleanup } = await tempDir("brook-compact-");
  cleanups.push(cleanup);
  const clock = new ManualClock();
  const log = await openLog(dir, clock);
  cleanups.unshift(() => log.close().catch(() => undefined));
  return { dir, clock, log };
}

const settings = { minCleanableDirtyRatio: 0.01, deleteRetentionMs: 60_000 };

describe("log compaction", () => {
  it("keeps the latest record per key in the cleaned part, with offsets and order preserved, and leaves the active segment alone", async () => {
    const { clock, log } = await setup();
    const original = await fill(log, clock, 400, (i) => (i % 50 === 49 ? null : `k${i % 20}`), (i) => `v${i}-${"x".repeat(20)}`);
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    const sizeBefore = log.sizeBytes;
    const cleaner = new LogCleaner({ clock, logger: quietLogger });
    const res = await cleaner.clean(log, settings);
    expect(res.segmentsCleaned).toBeGreaterThan(0);
    expect(log.sizeBytes).toBeLessThan(sizeBefore);
    const got = await readAll(log);
    expectConsistent(got, original);
    // Below the active segment, one record per key (plus keyless ones); the active segment keeps all.
    const cleanedPart = got.filter((r) => r.offset < activeBase && r.key !== null);
    expect(new Set(cleanedPart.map((r) => r.key)).size).toBe(cleanedPart.length);
    expect(got.filter((r) => r.offset >= activeBase)).toEqual(original.filter((r) => r.offset >= activeBase));
    // Reading from an offset whose record was removed starts at the next kept one.
    const removed = original.find((r) => r.offset < activeBase && !got.some((g) => g.offset === r.offset))!;
    let at = removed.offset;
    let first: number | undefined;
    while (first === undefined) {
      const batches = await decodeRecordBatchesAsync((await log.read(at, 1 << 20, log.highWatermark)).records);
      first = batches.flatMap((b) => b.records).find((r) => r.offset >= removed.offset)?.offset;
      at = batches.at(-1)!.baseOffset + batches.at(-1)!.lastOffsetDelta + 1;
    }
    expect(first).toBe(got.find((g) => g.offset > removed.offset)!.offset);
    // A follower copying the compacted log from the start finds every batch contiguous with
    // its log end (emptied batches leave an empty batch spanning their offsets) and ends equal.
    const { dir: followerDir, cleanup: cleanFollower } = await tempDir("brook-compact-follower-");
    cleanups.push(cleanFollower);
    const follower = await openLog(followerDir, clock);
    cleanups.unshift(() => follower.close().catch(() => undefined));
    while (follower.logEndOffset < log.logEndOffset) {
      const { records } = await log.read(follower.logEndOffset, 4096, log.logEndOffset);
      await follower.appendAsFollower(records);
    }
    await follower.flush();
    follower.highWatermark = follower.logEndOffset;
    expect(await readAll(follower)).toEqual(got);
    // A restart finds the same log (indexes rebuilt or loaded).
    await log.close();
    const reopened = await openLog(log.dir, clock);
    cleanups.unshift(() => reopened.close().catch(() => undefined));
    expect(await readAll(reopened)).toEqual(got);
    // Nothing new is dirty: a second pass does nothing.
    expect((await cleaner.clean(reopened, settings)).segmentsCleaned).toBe(0);
  });

  it("records no progress when a swap is dropped, and forgets its progress on truncation", async () => {
    // A segment that was cleaned but not swapped still holds values that newer tombstones
    // hide: checkpointing past it would let them come back once the tombstones expire.
    const { dir, clock, log } = await setup();
    await fill(log, clock, 300, (i) => `d${i % 9}`, (i) => `v${i}-${"d".repeat(24)}`);
    const hw = log.highWatermark;
    let lowered = false;
    const dropping = new LogCleaner({
      clock,
      logger: quietLogger,
      afterStep: (step) => {
        if (step === "cleaned-written" && !lowered) {
          lowered = true;
          log.highWatermark = 0; // the segment is no longer below the HW: its swap is dropped
        }
      },
    });
    const res = await dropping.clean(log, settings);
    expect(lowered).toBe(true);
    expect(res.firstDirtyOffset).toBe(0);
    expect(await readdir(dir)).not.toContain("cleaner.checkpoint");
    // A full pass records its progress; a truncation drops it.
    log.highWatermark = hw;
    const full = await new LogCleaner({ clock, logger: quietLogger }).clean(log, settings);
    expect(full.firstDirtyOffset).toBeGreaterThan(0);
    expect(await readdir(dir)).toContain("cleaner.checkpoint");
    await log.truncateTo(log.logEndOffset - 5);
    expect(await readdir(dir)).not.toContain("cleaner.checkpoint");
  });

  it("keeps tombstones for delete.retention.ms, then removes them", async () => {
    const { clock, log } = await setup();
    const original = await fill(log, clock, 120, (i) => `k${i % 10}`, (i) => `v${i}-${"y".repeat(30)}`);
    // Delete k3 and k7, then push them out of the active segment with more data.
    original.push(...(await fill(log, clock, 2, (i) => (i === 0 ? "k3" : "k7"), () => null, { perBatch: 2 })));
    original.push(...(await fill(log, clock, 80, (i) => `other${i % 5}`, (i) => `w${i}-${"z".repeat(30)}`)));
    const cleaner = new LogCleaner({ clock, logger: quietLogger });
    await cleaner.clean(log, settings);
    let got = await readAll(log);
    expectConsistent(got, original);
    expect(got.filter((r) => r.key === "k3" || r.key === "k7")).toEqual(original.filter((r) => r.value === null)); // only the tombstones
    // After delete.retention.ms the next pass (new dirty data) removes them.
    clock.advance(settings.deleteRetentionMs + 1);
    original.push(...(await fill(log, clock, 80, (i) => `more${i % 5}`, (i) => `u${i}-${"q".repeat(30)}`)));
    await cleaner.clean(log, settings);
    got = await readAll(log);
    expectConsistent(got, original);
    expect(got.some((r) => r.key === "k3" || r.key === "k7")).toBe(false);
    expect(latestByKey(got).get("k4")?.value).toBe(latestByKey(original).get("k4")?.value);
  });

  it("compacts gzip batches, recompressing what is kept", async () => {
    const { clock, log } = await setup();
    const original = await fill(log, clock, 300, (i) => `g${i % 7}`, (i) => `value-${i}-${"w".repeat(40)}`, { perBatch: 6, gzip: true });
    const res = await new LogCleaner({ clock, logger: quietLogger }).clean(log, settings);
    expect(res.segmentsCleaned).toBeGreaterThan(0);
    const got = await readAll(log);
    expectConsistent(got, original);
    expect(got.length).toBeLessThan(original.length);
  });

  for (const step of ["cleaned-written", "swap-renamed", "indexes-removed", "log-renamed"] as const satisfies readonly SwapStep[]) {
    it(`recovers a consistent log after a crash at "${step}"`, async () => {
      const { dir, clock, log } = await setup();
      const original = await fill(log, clock, 300, (i) => `c${i % 9}`, (i) => `v${i}-${"c".repeat(24)}`);
      let crashed = false;
      const crashing = new LogCleaner({
        clock,
        logger: quietLogger,
        afterStep: (s) => {
          if (s === step && !crashed) {
            crashed = true;
            throw new Error(`simulated crash at ${s}`);
          }
        },
      });
      await expect(crashing.clean(log, settings)).rejects.toThrow(/simulated crash/);
      // The crashed process is gone: a new one opens the directory as it was left.
      const after = await openLog(dir, clock);
      cleanups.unshift(() => after.close().catch(() => undefined));
      after.highWatermark = after.logEndOffset;
      const files = await readdir(dir);
      expect(files.filter((f) => f.endsWith(".cleaned") || f.endsWith(".swap"))).toEqual([]);
      expectConsistent(await readAll(after), original);
      // And cleaning resumes and finishes.
      await new LogCleaner({ clock, logger: quietLogger }).clean(after, settings);
      const got = await readAll(after);
      expectConsistent(got, original);
      const activeBase = after.segmentBaseOffsets().at(-1)!;
      const cleanedPart = got.filter((r) => r.offset < activeBase);
      expect(new Set(cleanedPart.map((r) => r.key)).size).toBe(cleanedPart.length);
    });
  }

  it("runs in the log manager's background rounds for cleanup.policy=compact logs only", async () => {
    const { dir, cleanup } = await tempDir("brook-compact-mgr-");
    cleanups.push(cleanup);
    const clock = new ManualClock();
    const manager = await LogManager.open(dir, testConfig({ segmentBytes: 2048 }), { clock, logger: quietLogger, cleanerIntervalMs: 1_000 });
    cleanups.unshift(() => manager.close());
    const compactConfig = logConfigFromKafka({ "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.01", "segment.bytes": "2048" });
    expect(compactConfig.cleanupPolicy).toBe("compact");
    const compacted = await manager.getOrCreate("offsets", 0, compactConfig);
    const plain = await manager.getOrCreate("events", 0, {});
    const originalCompacted = await fill(compacted, clock, 300, (i) => `k${i % 5}`, (i) => `v${i}-${"m".repeat(24)}`);
    const originalPlain = await fill(plain, clock, 300, (i) => `k${i % 5}`, (i) => `v${i}-${"m".repeat(24)}`);
    clock.advance(1_500);
    await manager.poll(clock.nowMs());
    await manager.stop(); // waits for the round
    const got = await readAll(compacted);
    expectConsistent(got, originalCompacted);
    expect(got.length).toBeLessThan(originalCompacted.length);
    expect(await readAll(plain)).toEqual(originalPlain);
    expect(() => logConfigFromKafka({ "cleanup.policy": "shred" })).toThrow(/cleanup.policy/);
    expect(() => logConfigFromKafka({ "min.cleanable.dirty.ratio": "2" })).toThrow(/dirty.ratio/);
  });
});
