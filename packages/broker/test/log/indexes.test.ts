import { describe, expect, it } from "vitest";
import { OffsetIndex } from "../../src/log/offset_index.js";
import { TimeIndex } from "../../src/log/time_index.js";

describe("OffsetIndex", () => {
  const idx = new OffsetIndex(100);
  for (let i = 1; i <= 50; i++) idx.append(100 + i * 10, i * 4096);

  it("finds the last entry at or below an offset by binary search", () => {
    expect(idx.lookup(99)).toEqual({ offset: 100, position: 0 });
    expect(idx.lookup(100)).toEqual({ offset: 100, position: 0 });
    expect(idx.lookup(109)).toEqual({ offset: 100, position: 0 });
    expect(idx.lookup(110)).toEqual({ offset: 110, position: 4096 });
    expect(idx.lookup(255)).toEqual({ offset: 250, position: 15 * 4096 });
    expect(idx.lookup(10_000)).toEqual({ offset: 600, position: 50 * 4096 });
  });

  it("ignores entries that do not increase and truncates by offset", () => {
    const i2 = new OffsetIndex(0);
    i2.append(10, 100);
    i2.append(10, 200);
    i2.append(20, 50);
    expect(i2.entries).toBe(1);
    i2.append(30, 300);
    i2.truncateToOffset(30);
    expect(i2.entries).toBe(1);
    expect(i2.lookup(35)).toEqual({ offset: 10, position: 100 });
  });

  it("round-trips through Kafka's 8-byte entry format and rejects torn or inconsistent files", () => {
    const bytes = idx.encode();
    expect(bytes.length).toBe(50 * 8);
    const back = OffsetIndex.decode(100, bytes, 1 << 30);
    expect(back?.lookup(255)).toEqual(idx.lookup(255));
    expect(OffsetIndex.decode(100, bytes.subarray(0, 13), 1 << 30)).toBeNull();
    expect(OffsetIndex.decode(100, bytes, 4096 * 10)).toBeNull(); // positions past the log end
    const swapped = Buffer.concat([bytes.subarray(8, 16), bytes.subarray(0, 8)]);
    expect(OffsetIndex.decode(100, swapped, 1 << 30)).toBeNull();
  });
});

describe("TimeIndex", () => {
  it("starts the scan at the last entry with an earlier timestamp", () => {
    const t = new TimeIndex(0);
    t.maybeAppend(1000, 0);
    t.maybeAppend(2000, 10);
    t.maybeAppend(1500, 20); // not increasing: ignored
    t.maybeAppend(3000, 30);
    expect(t.entries).toBe(3);
    expect(t.lookup(500)).toBe(0);
    expect(t.lookup(1000)).toBe(0);
    expect(t.lookup(2000)).toBe(0);
    expect(t.lookup(2001)).toBe(10);
    expect(t.lookup(99_999)).toBe(30);
    const back = TimeIndex.decode(0, t.encode());
    expect(back?.lookup(2001)).toBe(10);
    expect(TimeIndex.decode(0, t.encode().subarray(0, 20))).toBeNull();
  });
});
