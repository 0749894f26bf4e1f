// Reads served from a segment's in-memory tail must be byte-identical to reads of the file:
// compared against the same log reopened (nothing cached) at every offset, across appends of
// one and several batches, a segment roll and a truncation.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { PartitionLog } from "../../src/log/partition_log.js";
import { TailCache } from "../../src/log/tail_cache.js";
import { ManualClock, batchOf, quietLogger, tempDir, testConfig } from "./helpers.js";

let dir: string;
let cleanup: () => Promise<void>;
let clock: ManualClock;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  clock = new ManualClock();
});
afterEach(async () => cleanup());

async function readAll(log: PartitionLog, maxBytes: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let o = log.logStartOffset; o < log.logEndOffset; o++) out.push(Buffer.from((await log.read(o, maxBytes, log.logEndOffset)).records));
  return out;
}

describe("segment tail cache", () => {
  it("serves exactly the file's bytes at every offset, through rolls and truncation", async () => {
    const path = join(dir, "t-0");
    const log = await PartitionLog.open(path, testConfig({ segmentBytes: 4096 }), { clock, logger: quietLogger });
    for (let i = 0; i < 40; i++) {
      const multi = i % 3 === 0 ? Buffer.concat([batchOf(2, { tag: `a${i}` }), batchOf(3, { tag: `b${i}` })]) : batchOf(1 + (i % 4), { tag: `c${i}`, size: 20 + i });
      await log.appendAsLeader(multi, 1);
    }
    expect(log.segmentCount).toBeGreaterThan(1);
    await log.truncateTo(log.logEndOffset - 7);
    await log.appendAsLeader(batchOf(2, { tag: "after" }), 2);
    const small = await readAll(log, 1);
    const large = await readAll(log, 1 << 20);
    const mid = await readAll(log, 300);
    await log.close();
    const reopened = await PartitionLog.open(path, testConfig({ segmentBytes: 4096 }), { clock, logger: quietLogger });
    expect(await readAll(reopened, 1)).toEqual(small);
    expect(await readAll(reopened, 1 << 20)).toEqual(large);
    expect(await readAll(reopened, 300)).toEqual(mid);
    await reopened.close();
  });

  it("keeps only about maxBytes, newest first, and forgets everything on a gap", () => {
    const cache = new TailCache(100);
    const b = (base: number, size: number) => ({ baseOffset: base, lastOffsetDelta: 0, sizeBytes: size }) as never;
    cache.add(0, Buffer.alloc(60, 1), [b(0, 60)]);
    cache.add(60, Buffer.alloc(60, 2), [b(1, 60)]);
    expect(cache.findBatch(0)).toBeNull(); // evicted
    expect(cache.findBatch(1)).toEqual({ position: 60, header: b(1, 60) });
    expect(cache.read(60, 60)).toEqual(Buffer.alloc(60, 2));
    expect(cache.read(0, 10)).toBeNull();
    cache.add(500, Buffer.alloc(10, 3), [b(9, 10)]);
    expect(cache.findBatch(1)).toBeNull();
    expect(cache.read(500, 10)).toEqual(Buffer.alloc(10, 3));
  });

  it("copies a small slice of a large message rather than pinning the message", () => {
    const cache = new TailCache(1 << 20);
    const message = Buffer.alloc(100_000, 7);
    cache.add(0, message.subarray(100, 110), [{ baseOffset: 0, lastOffsetDelta: 0, sizeBytes: 10 } as never]);
    message.fill(9); // had the cache kept a view, it would now read nines
    expect(cache.read(0, 10)).toEqual(Buffer.alloc(10, 7));
  });
});
