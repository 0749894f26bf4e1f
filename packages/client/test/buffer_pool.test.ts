// The producer's slab pool: what it lends, what it takes back, and that a slab is never lent
// twice at once (two holders would overwrite each other's batch or request).
import { describe, expect, it } from "vitest";
import { BufferPool } from "../src/producer/buffer_pool.js";

describe("BufferPool", () => {
  it("lends a slab for sizes from half of it up to all of it, and lends it again once released", () => {
    const pool = new BufferPool(1024, 2);
    const a = pool.take(1000);
    expect(a.length).toBe(1000);
    expect(a.buffer.byteLength).toBe(1024);
    const b = pool.take(512);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(a);
    expect(pool.idle).toBe(1);
    const c = pool.take(600);
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(600);
    expect(pool.idle).toBe(0);
  });

  it("gives small and oversized requests buffers of their own and ignores them on release", () => {
    const pool = new BufferPool(1024, 2);
    for (const size of [511, 1025, 4096]) {
      const buf = pool.take(size);
      expect(buf.length).toBe(size);
      pool.release(buf);
    }
    expect(pool.idle).toBe(0);
    pool.release(Buffer.alloc(1024)); // not from the pool
    expect(pool.idle).toBe(0);
  });

  it("does not lend a slab twice when it is released twice", () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take(512);
    pool.release(a);
    pool.release(a);
    pool.release(a.subarray(0, 10));
    expect(pool.idle).toBe(1);
    const x = pool.take(512);
    const y = pool.take(512);
    expect(x.buffer).not.toBe(y.buffer);
  });

  it("keeps at most maxFree idle slabs", () => {
    const pool = new BufferPool(1024, 2);
    const taken = [pool.take(512), pool.take(512), pool.take(512)];
    for (const t of taken) pool.release(t);
    expect(pool.idle).toBe(2);
  });
});
