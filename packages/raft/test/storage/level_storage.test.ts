// LevelStorage against a real LevelDB in a temp dir: round trips across reopen, suffix
// overwrite, snapshots, compaction, and refusal to open a damaged store.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CompactedError, EntryType, UnavailableError, type Entry, type Snapshot } from "../../src/core/types.js";
import { CorruptStorageError, StorageContractError } from "../../src/storage/errors.js";
import { LevelStorage } from "../../src/storage/level_storage.js";
import { encodeRun, KEY_HARD_STATE, runKey } from "../../src/storage/record_codec.js";

const voters = [1, 2, 3];
const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(text),
});
const texts = (es: readonly Entry[]): string[] => es.map((e) => new TextDecoder().decode(e.data));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-raft-storage-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function reopen(s: LevelStorage): Promise<LevelStorage> {
  await s.close();
  return LevelStorage.open(dir, { voters });
}

async function rawDb(fn: (db: Level<Uint8Array, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  await db.open();
  await fn(db);
  await db.close();
}

describe("LevelStorage", () => {
  it("starts empty with the configured voters", async () => {
    const s = await LevelStorage.open(dir, { voters });
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: 0, commit: 0 }, voters, observers: [] });
    expect([s.firstIndex(), s.lastIndex(), s.term(0)]).toEqual([1, 0, 0]);
    expect(() => s.term(1)).toThrow(UnavailableError);
    await s.close();
  });

  it("persists hard state and entries across reopen", async () => {
    let s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 2, vote: 3, commit: 2 }, [entry(1, 1), entry(2, 2), entry(3, 2)]);
    s = await reopen(s);
    expect(s.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 2 });
    expect(texts(s.entries(1, 4, Infinity))).toEqual(["e1", "e2", "e3"]);
    expect([s.term(1), s.term(3), s.lastIndex()]).toEqual([1, 2, 3]);
    await s.close();
  });

  it("entries() respects maxBytes but always returns at least one entry", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1, 1, "aaaa"), entry(2, 1, "bbbb"), entry(3, 1, "cccc")]);
    expect(s.entries(1, 4, 1)).toHaveLength(1);
    expect(s.entries(1, 4, 8)).toHaveLength(2);
    expect(() => s.entries(1, 5, 100)).toThrow(UnavailableError);
    await s.close();
  });

  it("overwrites a conflicting suffix and forgets the old tail durably", async () => {
    let s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 1 }, [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)]);
    await s.save({ term: 2, vote: 2, commit: 1 }, [entry(2, 2, "new2")]);
    expect(s.lastIndex()).toBe(2);
    s = await reopen(s);
    expect(texts(s.entries(1, 3, Infinity))).toEqual(["e1", "new2"]);
    expect(s.lastIndex()).toBe(2);
    await s.close();
  });

  it("rejects appends that would leave a gap", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await expect(s.save({ term: 1, vote: 0, commit: 0 }, [entry(3, 1)])).rejects.toThrow(StorageContractError);
    expect(s.lastIndex()).toBe(0);
    await s.close();
  });

  it("compacts behind a local snapshot and keeps the tail", async () => {
    let s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 3, vote: 1, commit: 5 }, [1, 2, 3, 4, 5, 6].map((i) => entry(i, i < 4 ? 1 : 3)));
    const snap: Snapshot = { meta: { index: 4, term: 3, voters, observers: [] }, data: Uint8Array.of(9, 9) };
    await s.compact(snap);
    expect(() => s.term(3)).toThrow(CompactedError);
    expect(() => s.entries(4, 5, Infinity)).toThrow(CompactedError);
    s = await reopen(s);
    expect([s.firstIndex(), s.lastIndex(), s.term(4), s.term(6)]).toEqual([5, 6, 3, 3]);
    expect([...s.snapshot().data]).toEqual([9, 9]);
    expect(texts(s.entries(5, 7, Infinity))).toEqual(["e5", "e6"]);
    await expect(s.compact({ meta: { index: 6, term: 2, voters, observers: [] }, data: new Uint8Array() })).rejects.toThrow(
      StorageContractError,
    );
    await s.close();
  });

  it("a received snapshot replaces the whole log", async () => {
    let s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 1 }, [entry(1, 1), entry(2, 1)]);
    const snap: Snapshot = { meta: { index: 10, term: 4, voters, observers: [7] }, data: Uint8Array.of(1, 2, 3) };
    await s.save({ term: 4, vote: 0, commit: 10 }, [entry(11, 4)], snap);
    s = await reopen(s);
    expect([s.firstIndex(), s.lastIndex(), s.term(10), s.term(11)]).toEqual([11, 11, 4, 4]);
    expect(s.initialState().observers).toEqual([7]);
    expect(s.snapshot().meta.index).toBe(10);
    await s.close();
  });

  it("refuses to open when an entry's bytes are flipped", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1, 1)]);
    await s.save({ term: 1, vote: 1, commit: 0 }, [entry(2, 1)]);
    await s.close();
    await rawDb(async (db) => {
      const bad = encodeRun([entry(2, 1)]);
      bad[bad.length - 1]! ^= 0xff;
      await db.put(runKey(2), bad);
    });
    const err = await LevelStorage.open(dir, { voters }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStorageError);
    expect((err as Error).message).toMatch(/run at 2: run record checksum mismatch/);
  });

  it("refuses to open a log with a gap", async () => {
    const s = await LevelStorage.open(dir, { voters });
    for (const i of [1, 2, 3]) await s.save({ term: 1, vote: 1, commit: 0 }, [entry(i, 1)]);
    await s.close();
    await rawDb((db) => db.del(runKey(2)));
    await expect(LevelStorage.open(dir, { voters })).rejects.toThrow(/log gap: expected entry 2, found a run at 3/);
  });

  it("refuses to open a run whose declared count overruns its bytes", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1, 1)]);
    await s.close();
    await rawDb((db) => db.put(runKey(1), encodeRun([entry(1, 1)]).subarray(0, 20)));
    await expect(LevelStorage.open(dir, { voters })).rejects.toThrow(CorruptStorageError);
  });

  it("keeps runs consistent through overwrite inside a run and compaction across one", async () => {
    let s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 0 }, [1, 2, 3, 4, 5].map((i) => entry(i, 1)));
    await s.save({ term: 1, vote: 1, commit: 0 }, [6, 7, 8].map((i) => entry(i, 1)));
    // Overwrite from 4: the first run is cut, the second dropped.
    await s.save({ term: 2, vote: 2, commit: 3 }, [4, 5].map((i) => entry(i, 2, `t2-${i}`)));
    s = await reopen(s);
    expect(texts(s.entries(1, 6, Infinity))).toEqual(["e1", "e2", "e3", "t2-4", "t2-5"]);
    // Compact at 2: the run [1..3] stays whole (open skips its covered head).
    await s.compact({ meta: { index: 2, term: 1, voters, observers: [] }, data: new Uint8Array(0) });
    await s.save(undefined, [entry(6, 2)]);
    s = await reopen(s);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([3, 6]);
    expect(texts(s.entries(3, 7, Infinity))).toEqual(["e3", "t2-4", "t2-5", "e6"]);
    await s.close();
  });

  it("compaction writes only the snapshot; the covered runs are swept in the background", async () => {
    let s = await LevelStorage.open(dir, { voters });
    for (let i = 1; i <= 40; i++) await s.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1)]);
    await s.compact({ meta: { index: 30, term: 1, voters, observers: [] }, data: Uint8Array.of(7) });
    expect([s.firstIndex(), s.lastIndex()]).toEqual([31, 40]);
    await s.swept();
    expect(s.garbageRuns).toBe(0);
    s = await reopen(s);
    expect(texts(s.entries(31, 41, Infinity))).toEqual(Array.from({ length: 10 }, (_, k) => `e${31 + k}`));
    await s.close();
    await rawDb(async (db) => {
      const keys = await db.keys({ lt: runKey(31) }).all();
      expect(keys.filter((k) => k.length === runKey(1).length && k[0] === runKey(1)[0])).toEqual([]);
    });
  });

  it("a crash in the middle of a sweep leaves garbage below the snapshot, ignored and deleted on open", async () => {
    let s = await LevelStorage.open(dir, { voters });
    for (let i = 1; i <= 10; i++) await s.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1)]);
    await s.compact({ meta: { index: 6, term: 1, voters, observers: [] }, data: new Uint8Array(0) });
    await s.close();
    // What a sweep cut short leaves: run records wholly below the snapshot (even with gaps).
    await rawDb(async (db) => {
      await db.put(runKey(2), encodeRun([entry(2, 1)]));
      await db.put(runKey(4), encodeRun([entry(4, 1), entry(5, 1)]));
    });
    s = await LevelStorage.open(dir, { voters });
    expect([s.firstIndex(), s.lastIndex()]).toEqual([7, 10]);
    expect(texts(s.entries(7, 11, Infinity))).toEqual(["e7", "e8", "e9", "e10"]);
    await s.swept();
    expect(s.garbageRuns).toBe(0);
    await s.close();
    await rawDb(async (db) => {
      expect(await db.get(runKey(2))).toBeUndefined();
      expect(await db.get(runKey(4))).toBeUndefined();
    });
  });

  it("keeps a run across the snapshot point whole, and cuts it correctly when a later leader overwrites its tail", async () => {
    let s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 6 }, Array.from({ length: 10 }, (_, k) => entry(k + 1, 1)));
    await s.compact({ meta: { index: 5, term: 1, voters, observers: [] }, data: new Uint8Array(0) });
    s = await reopen(s);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([6, 10]);
    await s.save({ term: 2, vote: 2, commit: 6 }, [entry(8, 2, "t2-8")]);
    s = await reopen(s);
    expect(texts(s.entries(6, 9, Infinity))).toEqual(["e6", "e7", "t2-8"]);
    expect([s.term(7), s.term(8)]).toEqual([1, 2]);
    // Overwriting right from the snapshot point drops the crossing run's live part entirely.
    await s.save({ term: 3, vote: 3, commit: 5 }, [entry(6, 3, "t3-6")]);
    s = await reopen(s);
    expect(texts(s.entries(6, 7, Infinity))).toEqual(["t3-6"]);
    expect(s.lastIndex()).toBe(6);
    await s.close();
  });

  it("refuses to open when the run across the snapshot point disagrees with the snapshot's term", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 2, vote: 1, commit: 4 }, [1, 2, 3, 4, 5].map((i) => entry(i, 1)));
    await s.compact({ meta: { index: 3, term: 1, voters, observers: [] }, data: new Uint8Array(0) });
    await s.close();
    await rawDb((db) => db.put(runKey(1), encodeRun([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2), entry(5, 2)])));
    await expect(LevelStorage.open(dir, { voters })).rejects.toThrow(/term 2 at the snapshot index 3, the snapshot says 1/);
  });

  it("splits a large append into several runs that reload in order", async () => {
    let s = await LevelStorage.open(dir, { voters });
    const many = Array.from({ length: 10_000 }, (_, k) => entry(k + 1, 1));
    await s.save({ term: 1, vote: 1, commit: 0 }, many);
    s = await reopen(s);
    expect(s.lastIndex()).toBe(10_000);
    expect(texts(s.entries(9_999, 10_001, Infinity))).toEqual(["e9999", "e10000"]);
    await s.close();
  });

  it("refuses to open when the hard state is torn", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 1 }, [entry(1, 1)]);
    await s.close();
    await rawDb((db) => db.put(KEY_HARD_STATE, Uint8Array.of(1, 2, 3)));
    await expect(LevelStorage.open(dir, { voters })).rejects.toThrow(/hard state: hard state record has 3 bytes/);
  });

  it("refuses to open when the commit index is past the log", async () => {
    const s = await LevelStorage.open(dir, { voters });
    await s.save({ term: 1, vote: 1, commit: 1 }, [entry(1, 1)]);
    await s.close();
    await rawDb((db) => db.del(runKey(1)));
    await expect(LevelStorage.open(dir, { voters })).rejects.toThrow(/commit 1 is past the last entry 0/);
  });
});
