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

  it("charges a cached slice for the whole message it pins, so slices cannot pin more than maxBytes", () => {
    const cache = new TailCache(150_000);
    const h = (base: number) => [{ baseOffset: base, lastOffsetDelta: 0, sizeBytes: 10 } as never];
    const first = Buffer.alloc(100_000, 7);
    cache.add(0, first.subarray(100, 110), h(0));
    expect(cache.read(0, 10)).toEqual(Buffer.alloc(10, 7));
    // Two 10-byte slices pin 200,000 bytes: past maxBytes, so the older one goes.
    cache.add(10, Buffer.alloc(100_000, 8).subarray(5, 15), h(1));
    expect(cache.findBatch(0)).toBeNull();
    expect(cache.read(10, 10)).toEqual(Buffer.alloc(10, 8));
    // Slices of one small buffer are charged only for it: many of them fit.
    const whole = Buffer.alloc(1_000, 5);
    const small = new TailCache(150_000);
    for (let i = 0; i < 100; i++) small.add(i * 10, whole.subarray(i * 10, i * 10 + 10), h(i));
    expect(small.findBatch(0)).not.toBeNull();
  });

  it("finds batches and reads ranges among thousands of chunks, as a linear walk would, through evictions", () => {
    // Followers of small batches ask for the newest of thousands of cached chunks: the lookup
    // is a binary search, checked here against a plain walk over what is still cached.
    const cache = new TailCache(256 * 1024); // ~2,000 chunks at once
    const b = (base: number, count: number, size: number) => ({ baseOffset: base, lastOffsetDelta: count - 1, sizeBytes: size }) as never as { baseOffset: number; lastOffsetDelta: number; sizeBytes: number };
    const all: { position: number; header: { baseOffset: number; lastOffsetDelta: number; sizeBytes: number }; byte: number }[] = [];
    let position = 0;
    let offset = 0;
    for (let i = 0; i < 5_000; i++) {
      const n = 1 + (i % 3); // batches per append
      const headers = [];
      const parts = [];
      for (let j = 0; j < n; j++) {
        const count = 1 + ((i + j) % 4);
        const size = 40 + ((i * 7 + j) % 50);
        const h = b(offset, count, size);
        headers.push(h);
        all.push({ position: position + parts.reduce((a, p) => a + p.length, 0), header: h, byte: (i + j) % 251 });
        parts.push(Buffer.alloc(size, (i + j) % 251));
        offset += count;
      }
      const buf = Buffer.concat(parts);
      cache.add(position, buf, headers as never);
      position += buf.length;
      if (i % 500 === 499) {
        // Every batch still cached is found by each of its offsets; earlier ones are not.
        const cachedFrom = all.findIndex((x) => cache.read(x.position, x.header.sizeBytes) !== null);
        expect(cachedFrom).toBeGreaterThanOrEqual(0);
        for (let k = cachedFrom; k < all.length; k += 7) {
          const x = all[k]!;
          expect(cache.findBatch(x.header.baseOffset + x.header.lastOffsetDelta)).toEqual({ position: x.position, header: x.header });
          expect(cache.read(x.position, x.header.sizeBytes)).toEqual(Buffer.alloc(x.header.sizeBytes, x.byte));
        }
        const first = all[cachedFrom]!;
        if (cachedFrom > 0) expect(cache.findBatch(first.header.baseOffset - 1)).toBeNull();
        expect(cache.findBatch(offset)).toBeNull(); // past the end
        // A read spanning many chunks is the concatenation of their bytes.
        const span = all.slice(all.length - 40);
        expect(cache.read(span[0]!.position, position - span[0]!.position)).toEqual(Buffer.concat(span.map((x) => Buffer.alloc(x.header.sizeBytes, x.byte))));
      }
    }
    expect(cache.findBatch(0)).toBeNull(); // the oldest were evicted along the way
  });
});
