import { describe, expect, it } from "vitest";
import { MemoryStorage, SnapshotOutOfDateError } from "../../src/core/memory_storage.js";
import { CompactedError, EntryType, UnavailableError, type Entry } from "../../src/core/types.js";

function e(index: number, term: number, size = 0): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(size) };
}

function filled(n: number): MemoryStorage {
  const s = new MemoryStorage([1, 2, 3], [4]);
  s.append(Array.from({ length: n }, (_, i) => e(i + 1, 1)));
  return s;
}

describe("MemoryStorage", () => {
  it("starts empty with the configured voters and observers", () => {
    const s = new MemoryStorage([1, 2, 3], [4]);
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, voters: [1, 2, 3], observers: [4] });
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
  });

  it("append replaces a conflicting suffix and refuses a gap", () => {
    const s = filled(5);
    s.append([e(3, 2), e(4, 2)]);
    expect(s.lastIndex()).toBe(4);
    expect([s.term(2), s.term(3), s.term(4)]).toEqual([1, 2, 2]);
    expect(() => s.append([e(7, 2)])).toThrow(/missing log entry/);
  });

  it("entries honours [lo, hi), the byte limit (at least one entry) and its bounds", () => {
    const s = new MemoryStorage([1]);
    s.append([e(1, 1, 100), e(2, 1, 100), e(3, 1, 100)]);
    expect(s.entries(1, 4, Number.MAX_SAFE_INTEGER).map((x) => x.index)).toEqual([1, 2, 3]);
    expect(s.entries(1, 4, 200).map((x) => x.index)).toEqual([1]);
    expect(s.entries(2, 4, 1).map((x) => x.index)).toEqual([2]);
    expect(() => s.entries(1, 5, 1000)).toThrow(UnavailableError);
  });

  it("createSnapshot + compact keep the snapshot's term reachable and drop older entries", () => {
    const s = filled(10);
    s.append([e(11, 2)]);
    const snap = s.createSnapshot(8, new Uint8Array([7]));
    expect(snap.meta).toEqual({ index: 8, term: 1, voters: [1, 2, 3], observers: [4] });
    s.compact(8);
    expect([s.firstIndex(), s.lastIndex(), s.term(8), s.term(11)]).toEqual([9, 11, 1, 2]);
    expect(() => s.term(7)).toThrow(CompactedError);
    expect(() => s.entries(8, 10, 1000)).toThrow(CompactedError);
    expect(() => s.compact(5)).toThrow(CompactedError);
    expect(() => s.compact(12)).toThrow(UnavailableError);
    expect(() => s.createSnapshot(7, new Uint8Array())).toThrow(SnapshotOutOfDateError);
  });

  it("applySnapshot replaces the log; an older snapshot is refused", () => {
    const s = filled(3);
    s.applySnapshot({ meta: { index: 20, term: 4, voters: [1, 2, 3], observers: [] }, data: new Uint8Array([1]) });
    expect([s.firstIndex(), s.lastIndex(), s.term(20)]).toEqual([21, 20, 4]);
    expect(s.initialState().observers).toEqual([]);
    expect(() => s.applySnapshot({ meta: { index: 20, term: 4, voters: [1], observers: [] }, data: new Uint8Array() })).toThrow(SnapshotOutOfDateError);
    s.append([e(21, 4)]);
    expect(s.lastIndex()).toBe(21);
  });
});
