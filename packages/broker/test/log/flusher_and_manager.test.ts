// Group commit across partitions, and the broker-wide LogManager on a real data directory.
import { beforeEach, describe, expect, it } from "vitest";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LogFlusher } from "../../src/log/flusher.js";
import { LogManager, parsePartitionDirName } from "../../src/log/log_manager.js";
import { PartitionLog } from "../../src/log/partition_log.js";
import { LogCode } from "../../src/log/errors.js";
import { FaultyIo, ManualClock, appendQueued, batchOf, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

const tmp = tempDirPerTest();
let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock();
});

describe("LogFlusher", () => {
  it("covers every waiting append of a partition with one fsync per partition", async () => {
    const logs = await Promise.all([0, 1, 2].map((p) => PartitionLog.open(join(tmp.dir, `t-${p}`), testConfig(), { clock, logger: quietLogger })));
    for (const log of logs) await appendQueued(log, Array.from({ length: 10 }, () => batchOf(2)));
    const flusher = new LogFlusher();
    const waits = logs.flatMap((log) => Array.from({ length: 10 }, (_, i) => flusher.flush(log, 2 * (i + 1))));
    await Promise.all(waits);
    expect(flusher.passes).toBe(3);
    expect(flusher.logsFlushed).toBe(3);
    for (const log of logs) {
      expect(log.flushedOffset).toBe(20);
      expect(log.durableEndOffset).toBe(20);
    }
    await Promise.all(logs.map((l) => l.close()));
  });

  it("keeps up with concurrent appends: every waiter resolves only once its offset is flushed", async () => {
    const log = await PartitionLog.open(join(tmp.dir, "t-0"), testConfig(), { clock, logger: quietLogger });
    const flusher = new LogFlusher();
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        const info = await log.appendAsLeader(batchOf(1), 1);
        await flusher.flush(log, info.lastOffset + 1);
        expect(log.flushedOffset).toBeGreaterThan(info.lastOffset);
      }),
    );
    expect(log.flushedOffset).toBe(100);
    await log.close();
  });

  it("resolves at once in replicated mode (no fsync per write) and rejects waiters when the fsync fails", async () => {
    const replicated = await PartitionLog.open(join(tmp.dir, "r-0"), testConfig({ flushMode: "replicated" }), { clock, logger: quietLogger });
    await replicated.appendAsLeader(batchOf(2), 1);
    const flusher = new LogFlusher();
    await flusher.flush(replicated, 2);
    expect(flusher.passes).toBe(0);
    expect(replicated.durableEndOffset).toBe(2);
    expect(replicated.flushedOffset).toBe(0);

    const io = new FaultyIo();
    const failing = await PartitionLog.open(join(tmp.dir, "f-0"), testConfig(), { clock, logger: quietLogger, io });
    await appendQueued(failing, [batchOf(1), batchOf(1)]);
    io.failSync = true;
    await expect(flusher.flush(failing, 2)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    expect(failing.offline).toBe(true);
    await replicated.close();
    await failing.close();
  });
});

describe("LogManager", () => {
  it("names partition directories <topic>-<partition>, topics may contain dashes", () => {
    expect(parsePartitionDirName("orders-eu-12")).toEqual({ topic: "orders-eu", partition: 12 });
    expect(parsePartitionDirName("orders")).toBeNull();
  });

  it("creates partitions, reloads them all at start, removes them for good", async () => {
    let mgr = await LogManager.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    const a = await mgr.getOrCreate("orders-eu", 0);
    const b = await mgr.getOrCreate("orders-eu", 1, { flushMode: "replicated" });
    expect(await mgr.getOrCreate("orders-eu", 0)).toBe(a);
    await a.appendAsLeader(batchOf(3), 1);
    await b.appendAsLeader(batchOf(5), 1);
    await expect(mgr.getOrCreate("../etc", 0)).rejects.toThrow(/illegal topic/);
    await mgr.close();

    // A half-deleted partition from a crash is cleaned up, never loaded.
    await mkdir(join(tmp.dir, "gone-0.123-delete"));
    await writeFile(join(tmp.dir, "gone-0.123-delete", "x"), "x");
    mgr = await LogManager.open(tmp.dir, testConfig(), {
      clock,
      logger: quietLogger,
      topicConfigs: (t) => (t === "orders-eu" ? { flushMode: "replicated" } : undefined),
    });
    expect(mgr.all().map((e) => `${e.topic}/${e.partition}`).sort()).toEqual(["orders-eu/0", "orders-eu/1"]);
    expect(mgr.get("orders-eu", 0)!.logEndOffset).toBe(3);
    expect(mgr.get("orders-eu", 1)!.logEndOffset).toBe(5);
    expect(mgr.get("orders-eu", 1)!.config.flushMode).toBe("replicated");
    // A config arriving after load (from metadata) is applied to the open log.
    await mgr.getOrCreate("orders-eu", 1, { flushMode: "durable", retentionMs: 1000 });
    expect(mgr.get("orders-eu", 1)!.config).toMatchObject({ flushMode: "durable", retentionMs: 1000 });
    await mgr.deletionsSettled();
    expect(await readdir(tmp.dir)).not.toContain("gone-0.123-delete");

    await mgr.remove("orders-eu", 0);
    expect(mgr.get("orders-eu", 0)).toBeUndefined();
    // Renamed away (durably) before remove() returns; the files go in the background.
    expect(await readdir(tmp.dir)).not.toContain("orders-eu-0");
    await mgr.deletionsSettled();
    expect((await readdir(tmp.dir)).sort()).toEqual(["orders-eu-1"]);
    await mgr.close();
  });

  it("poll(now) runs retention and checkpoints when due and says when to come back", async () => {
    const mgr = await LogManager.open(tmp.dir, testConfig({ retentionMs: 60_000, segmentBytes: 400 }), {
      clock,
      logger: quietLogger,
      retentionCheckIntervalMs: 10_000,
      checkpointIntervalMs: 4_000,
    });
    const log = await mgr.getOrCreate("t", 0);
    await appendQueued(log, Array.from({ length: 8 }, () => batchOf(2, { size: 80, baseTimestamp: clock.now })));
    log.highWatermark = log.logEndOffset;
    expect(await mgr.poll(clock.now)).toBe(4_000);
    expect(log.flushedOffset).toBe(0);
    clock.advance(4_000);
    expect(await mgr.poll(clock.now)).toBe(4_000);
    expect(log.flushedOffset).toBe(16); // the checkpoint flushed first
    clock.advance(120_000);
    await mgr.poll(clock.now);
    expect(log.logStartOffset).toBe(16);
    await mgr.close();
  });

  it("keeps serving the other partitions when one cannot be opened at start", async () => {
    await mkdir(join(tmp.dir, "bad-0", "00000000000000000000.log"), { recursive: true }); // a directory where a file belongs
    const mgr = await LogManager.open(tmp.dir, testConfig(), { clock, logger: quietLogger });
    await (await mgr.getOrCreate("good", 0)).appendAsLeader(batchOf(1), 1);
    expect(mgr.failedPartitions()).toEqual([{ topic: "bad", partition: 0 }]);
    expect(mgr.get("bad", 0)).toBeUndefined();
    await mgr.close();
  });

  it("reports a partition whose disk failed", async () => {
    const io = new FaultyIo();
    const offline: string[] = [];
    const mgr = await LogManager.open(tmp.dir, testConfig(), {
      clock,
      logger: quietLogger,
      io,
      onOffline: (t, p, err) => offline.push(`${t}-${p}:${err.code}`),
    });
    const log = await mgr.getOrCreate("t", 3);
    io.failWritesAfterBytes = 0;
    await expect(log.appendAsLeader(batchOf(1), 1)).rejects.toMatchObject({ code: LogCode.KAFKA_STORAGE_ERROR });
    expect(offline).toEqual([`t-3:${LogCode.KAFKA_STORAGE_ERROR}`]);
    await mgr.close();
  });
});
