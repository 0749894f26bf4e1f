// Group commit of pipelined Readys: which queued Readys share one storage write, and what it is.
import { describe, expect, it } from "vitest";
import { EntryType, type Entry, type Ready, type Snapshot } from "../../src/core/types.js";
import { mergeEntries, takeBatch } from "../../src/node/save_batch.js";

const ent = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index]) });
const snap = (index: number): Snapshot => ({ meta: { index, term: 1, voters: [1], observers: [] }, data: new Uint8Array(0) });

function ready(over: Partial<Ready>): Ready {
  return { entries: [], messages: [], messagesAfterPersist: [], committedEntries: [], readStates: [], mustSync: false, ...over };
}

describe("mergeEntries", () => {
  it("appends, and lets a later Ready overwrite an earlier one's suffix", () => {
    expect(mergeEntries([ent(1, 1), ent(2, 1)], [ent(3, 1)]).map((e) => e.index)).toEqual([1, 2, 3]);
    expect(mergeEntries([ent(1, 1), ent(2, 1), ent(3, 1)], [ent(2, 2)]).map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 2]]);
    expect(mergeEntries([ent(5, 1)], [ent(4, 2), ent(5, 2)]).map((e) => [e.index, e.term])).toEqual([[4, 2], [5, 2]]);
    expect(() => mergeEntries([ent(1, 1)], [ent(3, 1)])).toThrow(/gap/);
  });
});

describe("takeBatch", () => {
  it("writes every queued Ready in one batch: newest hard state, entries merged, sync if any needs it", () => {
    const q = [
      ready({ entries: [ent(1, 1)], hardState: { term: 1, vote: 1, commit: 0 }, mustSync: true }),
      ready({ hardState: { term: 1, vote: 1, commit: 1 } }),
      ready({ entries: [ent(2, 1), ent(3, 1)], mustSync: true }),
    ];
    const b = takeBatch(q);
    expect(q).toEqual([]);
    expect(b.readys.length).toBe(3);
    expect(b.hardState).toEqual({ term: 1, vote: 1, commit: 1 });
    expect(b.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(b.mustSync).toBe(true);
    expect(b.snapshot).toBeUndefined();
  });

  it("never puts a received snapshot in the same write as older entries", () => {
    const q = [ready({ entries: [ent(1, 1)], mustSync: true }), ready({ snapshot: snap(10), mustSync: true }), ready({ entries: [ent(11, 1)], mustSync: true })];
    const first = takeBatch(q);
    expect(first.readys.length).toBe(1);
    expect(first.snapshot).toBeUndefined();
    const second = takeBatch(q);
    expect(second.snapshot?.meta.index).toBe(10);
    expect(second.entries.map((e) => e.index)).toEqual([11]);
    expect(q).toEqual([]);
  });
});
