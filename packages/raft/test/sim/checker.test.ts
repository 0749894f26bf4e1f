// The checker flags each property it claims to check, on hand-made histories, and the
// simulator is deterministic: one seed, one run.
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../../src/core/memory_storage.js";
import { EntryType, type Entry } from "../../src/core/types.js";
import { SafetyChecker, SafetyViolation } from "../../src/sim/checker.js";
import { runSeed } from "../../src/sim/cluster.js";
import { Prng } from "../../src/sim/prng.js";

const enc = new TextEncoder();
const e = (index: number, term: number, v: string): Entry => ({ index, term, type: EntryType.Normal, data: enc.encode(v) });

function store(...entries: Entry[]): MemoryStorage {
  const s = new MemoryStorage([1, 2, 3]);
  s.append(entries);
  return s;
}

describe("SafetyChecker", () => {
  it("two leaders in one term", () => {
    const c = new SafetyChecker();
    c.onLeader(1, 2, false, store());
    expect(() => c.onLeader(2, 2, false, store())).toThrow(/two leaders in term 2/);
  });

  it("a commit index not durable on a majority of voters, and an entry applied before it is durable locally", () => {
    const c = new SafetyChecker();
    const synced = [store(e(1, 1, "a"), e(2, 1, "b")), store(e(1, 1, "a")), store()];
    expect(() => c.checkCommitDurable(1, 1, 1, synced)).not.toThrow();
    expect(() => c.checkCommitDurable(1, 2, 1, synced)).toThrow(/learned commit 2 \(term 1\) but only 1 of 3 voters hold it durably/);
    expect(() => c.checkCommitDurable(1, 1, 2, synced)).toThrow(/only 0 of 3/); // a different entry at 1
    expect(() => c.checkAppliedDurable(2, e(1, 1, "a"), synced[1]!)).not.toThrow();
    expect(() => c.checkAppliedDurable(2, e(2, 1, "b"), synced[1]!)).toThrow(/applied 2 \(term 1\) before it was durable there/);
  });

  it("an observer leading", () => {
    expect(() => new SafetyChecker().onLeader(4, 1, true, store())).toThrow(SafetyViolation);
  });

  it("leader completeness", () => {
    const c = new SafetyChecker();
    c.onApply(1, 0, 0, e(1, 1, "a"));
    expect(() => c.onLeader(2, 2, false, store())).toThrow(/ends at 0 but 1 was applied/);
    expect(() => c.onLeader(3, 3, false, store(e(1, 2, "b")))).toThrow(/has term 2 at 1/);
    expect(() => c.onLeader(1, 4, false, store(e(1, 1, "a")))).not.toThrow();
  });

  it("a committed entry changing, and a leader missing a committed (not yet applied) entry", () => {
    const c = new SafetyChecker();
    c.onCommit(1, 0, 2, store(e(1, 1, "a"), e(2, 1, "b")));
    expect(() => c.onCommit(2, 0, 2, store(e(1, 1, "a"), e(2, 2, "x")))).toThrow(/committed entry changed/);
    expect(() => c.onLeader(3, 3, false, store(e(1, 1, "a")))).toThrow(/2 was committed/);
  });

  it("state machine safety: a different entry, or a gap", () => {
    const c = new SafetyChecker();
    const h = c.onApply(1, 0, 0, e(1, 1, "a"));
    expect(() => c.onApply(2, 0, 0, e(1, 1, "b"))).toThrow(/state machine safety/);
    expect(() => c.onApply(1, 1, h, e(3, 1, "c"))).toThrow(/applied 3 right after 1/);
  });

  it("log matching", () => {
    const c = new SafetyChecker();
    const a = store(e(1, 1, "a"), e(2, 2, "b"));
    const b = store(e(1, 1, "a"), e(2, 2, "DIFFERENT"));
    expect(() => c.onWritten(1, a, [e(2, 2, "b")], [[2, b]])).toThrow(/log matching/);
    const d = store(e(1, 3, "x"), e(2, 2, "b"));
    expect(() => c.onWritten(1, a, [e(2, 2, "b")], [[2, d]])).toThrow(/differ at 1/);
  });

  it("term or commit going back", () => {
    const c = new SafetyChecker();
    expect(() => c.onHardState(1, { term: 3, vote: 0, commit: 5 }, { term: 2, vote: 0, commit: 5 })).toThrow(/term went back/);
    expect(() => c.onHardState(1, { term: 3, vote: 0, commit: 5 }, { term: 3, vote: 0, commit: 4 })).toThrow(/commit went back/);
    c.onSynced(1, { term: 3, vote: 1, commit: 5 });
    expect(() => c.onSynced(1, { term: 3, vote: 1, commit: 2 })).toThrow(/commit went back/);
  });

  it("a stale read, and a lost acknowledged proposal", () => {
    const c = new SafetyChecker();
    expect(() => c.onRead(1, 3, 4)).toThrow(/stale read/);
    c.onApply(1, 0, 0, e(1, 1, "a"));
    expect(() => c.onAcked(1, "1/0/b")).toThrow(/acked proposal/);
  });
});

describe("determinism", () => {
  it("the same seed gives the same run", () => {
    for (const voters of [3, 5]) {
      const a = runSeed(4242, voters);
      const b = runSeed(4242, voters);
      expect(a.ok).toBe(true);
      expect(b).toEqual(a);
      expect(a.stats.acked).toBeGreaterThan(0);
    }
  });

  it("the PRNG is seeded, uniform enough, and in range", () => {
    const x = new Prng(7);
    const y = new Prng(7);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const v = x.int(10);
      expect(v).toBe(y.int(10));
      counts[v]!++;
    }
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(new Prng(8).nextU32()).not.toBe(new Prng(7).nextU32());
  });
});
