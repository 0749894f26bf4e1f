// LevelStorage: the durable Raft log on `level` (LevelDB). It owns hard state (term, vote,
// commit), the entries after the latest snapshot, and that snapshot (meta and data).
//
// Contract:
// - Reads are the core's synchronous RaftStorage. They are served from an in-memory mirror of
//   everything on disk (the uncompacted log is bounded by the shell's snapshot interval), so
//   the mirror is updated only after the write that made it true is durable.
// - Writes are async and go through `save` (one or more Readys: hard state, entries, a
//   received snapshot) and `compact` (a local snapshot). Entries are stored as runs
//   (record_codec.ts), so a save's entries are one level op. Each write is ONE level batch, so
//   it lands whole or not at all; with `sync: true` (the default) LevelDB fsyncs its write-ahead
//   log before the promise resolves. The shell awaits `save` before sending the Readys' acks
//   and votes and reporting them persisted, which is what makes term, vote and appended entries
//   durable before anything depending on them leaves (Raft thesis §3.8). Many proposals share
//   one synced batch (group commit).
// - Writes are serialized: one runs at a time, in call order.
// - Compaction is cheap on the write path: `compact` writes only the snapshot (one small synced
//   batch) and forgets the covered entries in the mirror; the run records it made unnecessary
//   are deleted afterwards in the background, in bounded range deletes (`clear`), outside the
//   write chain. Until then they are garbage below the snapshot, which `open` ignores (and
//   deletes), so a crash at any point of a sweep is harmless. A run across the snapshot point
//   is kept whole; open skips its covered head.
// - `open` checks everything it reads (per-record CRC-32, entry indexes contiguous from the
//   snapshot, terms non-decreasing, commit within the log) and throws CorruptStorageError
//   instead of starting on a damaged log.
import { Level } from "level";
import {
  CompactedError,
  UnavailableError,
  type Entry,
  type HardState,
  type NodeId,
  type RaftStorage,
  type Snapshot,
} from "../core/types.js";
import { CorruptStorageError, StorageContractError } from "./errors.js";
import {
  FORMAT_VERSION,
  KEY_HARD_STATE,
  KEY_SNAPSHOT_DATA,
  KEY_SNAPSHOT_META,
  KEY_VERSION,
  RUN_KEY_HIGH,
  RUN_KEY_LOW,
  RecordError,
  checkSnapshotData,
  decodeHardState,
  decodeRun,
  decodeSnapshotMeta,
  decodeVersion,
  encodeHardState,
  encodeRun,
  encodeSnapshotMeta,
  encodeVersion,
  runKey,
  runKeyIndex,
} from "./record_codec.js";

type Db = Level<Uint8Array, Uint8Array>;
type BatchOp = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

export interface LevelStorageOptions {
  /** The static voter set; used until a snapshot carries one. */
  readonly voters: readonly NodeId[];
  readonly observers?: readonly NodeId[];
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
/** Caps on one run record, so rewriting a run cut by truncation or compaction stays cheap. */
const RUN_MAX_ENTRIES = 4096;
const RUN_MAX_BYTES = 4 * 1024 * 1024;
/** Run records deleted per background range delete (each ~1-2 ms of LevelDB work off-thread). */
const SWEEP_CHUNK = 512;

export class LevelStorage implements RaftStorage {
  readonly #db: Db;
  readonly #dir: string;
  #hardState: HardState;
  #snapshot: Snapshot;
  /** entries[i] has log index snapshot.meta.index + 1 + i. */
  #entries: Entry[];
  /**
   * First index of every live run record, ascending; runs tile [firstIndex, lastIndex]. The
   * first may start below firstIndex (a run across the snapshot point).
   */
  #runs: number[];
  /** Starts of run records wholly below the snapshot, ascending, still to be deleted. */
  readonly #garbage: number[];
  #sweeping: Promise<void> | undefined;
  #writeChain: Promise<void> = Promise.resolve();
  #syncedWrites = 0;
  #closed = false;

  private constructor(db: Db, dir: string, loaded: Loaded) {
    this.#db = db;
    this.#dir = dir;
    this.#hardState = loaded.hardState;
    this.#snapshot = loaded.snapshot;
    this.#entries = loaded.entries;
    this.#runs = loaded.runs;
    this.#garbage = loaded.garbage;
    this.#sweep();
  }

  /** Opens (creating if absent) the store in `dir` and verifies it. */
  static async open(dir: string, options: LevelStorageOptions): Promise<LevelStorage> {
    const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    await db.open();
    try {
      const loaded = await load(db, dir, options);
      return new LevelStorage(db, dir, loaded);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  get dir(): string {
    return this.#dir;
  }

  // ---- RaftStorage (synchronous reads from the mirror) ----

  initialState(): { hardState: HardState; voters: readonly NodeId[]; observers: readonly NodeId[] } {
    return { hardState: this.#hardState, voters: this.#snapshot.meta.voters, observers: this.#snapshot.meta.observers };
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    const out: Entry[] = [];
    let bytes = 0;
    const offset = this.#snapshot.meta.index + 1;
    for (let i = lo; i < hi; i++) {
      const e = this.#entries[i - offset]!;
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    const snapIndex = this.#snapshot.meta.index;
    if (i === snapIndex) return this.#snapshot.meta.term;
    if (i < snapIndex) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new UnavailableError(i);
    return this.#entries[i - snapIndex - 1]!.term;
  }

  firstIndex(): number {
    return this.#snapshot.meta.index + 1;
  }

  lastIndex(): number {
    return this.#snapshot.meta.index + this.#entries.length;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  hardState(): HardState {
    return this.#hardState;
  }

  /** Run records below the snapshot not yet deleted by the background sweep. */
  get garbageRuns(): number {
    return this.#garbage.length;
  }

  /** Resolves once the background sweep has nothing left to delete (for tests). */
  async swept(): Promise<void> {
    while (this.#sweeping !== undefined) await this.#sweeping;
  }

  /** Synced batches written by save() so far (group commit makes this far fewer than entries). */
  get syncedWrites(): number {
    return this.#syncedWrites;
  }

  // ---- writes ----

  /**
   * Durably stores one Ready's worth of state in a single batch: a received snapshot (which
   * replaces the whole log, as in etcd's ApplySnapshot), then entries (overwriting any
   * conflicting suffix), then the hard state. Resolves once fsynced when `sync` is true.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[], snapshot?: Snapshot, sync = true): Promise<void> {
    return this.#serialize(async () => {
      const ops: BatchOp[] = [];
      let snap = this.#snapshot;
      let log = this.#entries;
      let runs = this.#runs;
      let appendInPlace: readonly Entry[] | undefined;
      let garbage: number[] = [];
      if (snapshot !== undefined && snapshot.meta.index > snap.meta.index) {
        // The received snapshot replaces the whole log. Runs reaching past it must go in this
        // batch (open would read them as the log after it); runs wholly below are garbage.
        const [below, rest] = this.#partitionRunsAt(snapshot.meta.index);
        for (const first of rest) ops.push({ type: "del", key: runKey(first) });
        garbage = below;
        ops.push(...snapshotOps(snapshot));
        snap = snapshot;
        log = [];
        runs = [];
      }
      if (entries.length > 0) {
        const first = entries[0]!.index;
        const offset = snap.meta.index + 1;
        const last = snap.meta.index + log.length;
        if (first < offset) throw new StorageContractError(`append at ${first} is below the snapshot at ${snap.meta.index}`);
        if (first > last + 1) throw new StorageContractError(`append at ${first} leaves a gap after ${last}`);
        for (let k = 1; k < entries.length; k++) {
          if (entries[k]!.index !== first + k) throw new StorageContractError(`entries to append are not contiguous at ${first + k}`);
        }
        if (first <= last) {
          // Overwrite a conflicting suffix: drop the runs at or after `first`, cut the one across it.
          const kept: number[] = [];
          for (const start of runs) {
            if (start >= first) ops.push({ type: "del", key: runKey(start) });
            else kept.push(start);
          }
          const cut = kept.at(-1);
          if (cut !== undefined && !runs.includes(first)) {
            if (cut >= offset) {
              ops.push({ type: "put", key: runKey(cut), value: encodeRun(log.slice(cut - offset, first - offset)) });
            } else {
              // The run across the snapshot point: its covered head is not in the mirror, so
              // its live part moves to a key of its own (first > commit >= snapshot index).
              ops.push({ type: "del", key: runKey(cut) });
              kept.pop();
              if (first > offset) {
                ops.push({ type: "put", key: runKey(offset), value: encodeRun(log.slice(0, first - offset)) });
                kept.push(offset);
              }
            }
          }
          runs = kept;
        }
        const newRuns = runs === this.#runs ? [...runs] : runs;
        for (const piece of splitRuns(entries)) {
          ops.push({ type: "put", key: runKey(piece[0]!.index), value: encodeRun(piece) });
          newRuns.push(piece[0]!.index);
        }
        runs = newRuns;
        // Appending at the end (the common case) extends the mirror in place after the write;
        // an overwrite builds a new array so a failed write leaves the mirror untouched.
        if (first === last + 1 && log === this.#entries) appendInPlace = entries;
        else log = log.slice(0, first - offset).concat(entries);
      }
      const hs = hardState ?? this.#hardState;
      if (hardState !== undefined) ops.push({ type: "put", key: KEY_HARD_STATE, value: encodeHardState(hardState) });
      if (ops.length === 0) return;
      await this.#db.batch(ops, { sync });
      if (sync) this.#syncedWrites++;
      this.#hardState = hs;
      this.#snapshot = snap;
      this.#entries = log;
      this.#runs = runs;
      if (appendInPlace !== undefined) for (const e of appendInPlace) this.#entries.push(e);
      if (garbage.length > 0) {
        this.#garbage.push(...garbage);
        this.#sweep();
      }
    });
  }

  /**
   * Stores a snapshot the local state machine took at an applied index; entries after it stay.
   * The snapshot must fall inside the current log. Only the snapshot is written (one synced
   * batch); the run records it covers are deleted later by the background sweep.
   */
  compact(snapshot: Snapshot): Promise<void> {
    return this.#serialize(async () => {
      const index = snapshot.meta.index;
      const snapIndex = this.#snapshot.meta.index;
      if (index <= snapIndex) return;
      if (index > this.lastIndex()) throw new StorageContractError(`snapshot at ${index} is past the log end ${this.lastIndex()}`);
      const term = this.term(index);
      if (term !== snapshot.meta.term) throw new StorageContractError(`snapshot at ${index} has term ${snapshot.meta.term}, log has ${term}`);
      await this.#db.batch(snapshotOps(snapshot), { sync: true });
      const [below, rest] = this.#partitionRunsAt(index);
      this.#entries = this.#entries.slice(index - snapIndex);
      this.#runs = rest;
      this.#snapshot = snapshot;
      this.#garbage.push(...below);
      this.#sweep();
    });
  }

  /** Live runs split at `index`: [those ending at or before it, the rest (maybe one across it)]. */
  #partitionRunsAt(index: number): [number[], number[]] {
    const last = this.lastIndex();
    let k = 0;
    while (k < this.#runs.length && (k + 1 < this.#runs.length ? this.#runs[k + 1]! - 1 : last) <= index) k++;
    return [this.#runs.slice(0, k), this.#runs.slice(k)];
  }

  /**
   * Deletes garbage run records in the background, a bounded key range at a time. Outside the
   * write chain: no save waits for it, and the keys it deletes (below the snapshot) are never
   * written again. Garbage is always a prefix of the run keys, so a range holds nothing live.
   */
  #sweep(): void {
    if (this.#sweeping !== undefined || this.#garbage.length === 0 || this.#closed) return;
    const chunk = this.#garbage.splice(0, SWEEP_CHUNK);
    this.#sweeping = this.#db.clear({ gte: runKey(chunk[0]!), lte: runKey(chunk[chunk.length - 1]!) }).then(
      () => {
        this.#sweeping = undefined;
        this.#sweep();
      },
      () => {
        // Harmless: garbage stays below the snapshot and is ignored; retried at the next
        // compaction or open.
        this.#sweeping = undefined;
        this.#garbage.unshift(...chunk);
      },
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writeChain.catch(() => undefined);
    await this.#sweeping;
    await this.#db.close();
  }

  #serialize(write: () => Promise<void>): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`raft store ${this.#dir} is closed`));
    const run = this.#writeChain.then(write);
    this.#writeChain = run.catch(() => undefined);
    return run;
  }
}

/** Cuts entries into runs no larger than the caps. */
function* splitRuns(entries: readonly Entry[]): Generator<readonly Entry[]> {
  let start = 0;
  let bytes = 0;
  for (let k = 0; k < entries.length; k++) {
    bytes += entries[k]!.data.byteLength + 13;
    if (k + 1 - start >= RUN_MAX_ENTRIES || bytes >= RUN_MAX_BYTES) {
      yield entries.slice(start, k + 1);
      start = k + 1;
      bytes = 0;
    }
  }
  if (start < entries.length) yield entries.slice(start);
}

function snapshotOps(snapshot: Snapshot): BatchOp[] {
  return [
    { type: "put", key: KEY_SNAPSHOT_META, value: encodeSnapshotMeta(snapshot.meta, snapshot.data) },
    { type: "put", key: KEY_SNAPSHOT_DATA, value: snapshot.data },
  ];
}

interface Loaded {
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  readonly entries: Entry[];
  readonly runs: number[];
  readonly garbage: number[];
}

async function load(db: Db, dir: string, options: LevelStorageOptions): Promise<Loaded> {
  const corrupt = (detail: string): CorruptStorageError => new CorruptStorageError(dir, detail);
  const decode = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof RecordError) throw corrupt(`${what}: ${err.message}`);
      throw err;
    }
  };
  const [version, hsBuf, metaBuf, dataBuf] = await db.getMany([KEY_VERSION, KEY_HARD_STATE, KEY_SNAPSHOT_META, KEY_SNAPSHOT_DATA]);
  if (version === undefined) {
    // Fresh store, or one whose very first batch never landed: either way it must be empty.
    if (hsBuf !== undefined || metaBuf !== undefined) throw corrupt("state present but no format version record");
    await db.put(KEY_VERSION, encodeVersion(), { sync: true });
  } else {
    const v = decode("version", () => decodeVersion(version));
    if (v !== FORMAT_VERSION) throw corrupt(`unknown format version ${v}`);
  }
  const hardState = hsBuf === undefined ? EMPTY_HARD_STATE : decode("hard state", () => decodeHardState(hsBuf));
  let snapshot: Snapshot = {
    meta: { index: 0, term: 0, voters: [...options.voters], observers: [...(options.observers ?? [])] },
    data: new Uint8Array(0),
  };
  if (metaBuf !== undefined) {
    const meta = decode("snapshot meta", () => decodeSnapshotMeta(metaBuf));
    const data = dataBuf ?? new Uint8Array(0);
    decode("snapshot data", () => checkSnapshotData(meta, data));
    snapshot = { meta: { index: meta.index, term: meta.term, voters: meta.voters, observers: meta.observers }, data };
  } else if (dataBuf !== undefined) {
    throw corrupt("snapshot data present without its meta");
  }
  const entries: Entry[] = [];
  const runs: number[] = [];
  const garbage: number[] = [];
  const snapIndex = snapshot.meta.index;
  let expected = snapIndex + 1;
  let lastTerm = snapshot.meta.term;
  for await (const [key, value] of db.iterator({ gte: RUN_KEY_LOW, lt: RUN_KEY_HIGH })) {
    const first = decode("run key", () => runKeyIndex(key));
    if (runs.length === 0 && first <= snapIndex) {
      // Below the snapshot: garbage a compaction left for the background sweep (maybe cut
      // short by a crash), or the run across the snapshot point, whose tail is live.
      const run = decode(`run at ${first}`, () => decodeRun(value));
      if (run.length === 0 || run[0]!.index !== first) throw corrupt(`run under key ${first} is empty or misnumbered`);
      const end = first + run.length - 1;
      if (end <= snapIndex) {
        garbage.push(first);
        continue;
      }
      const at = run[snapIndex - first]!;
      if (at.term !== snapshot.meta.term) throw corrupt(`run at ${first} has term ${at.term} at the snapshot index ${snapIndex}, the snapshot says ${snapshot.meta.term}`);
      for (const entry of run.slice(snapIndex + 1 - first)) {
        if (entry.term < lastTerm) throw corrupt(`entry ${entry.index} has term ${entry.term} below the previous ${lastTerm}`);
        lastTerm = entry.term;
        entries.push(entry);
      }
      runs.push(first);
      expected = end + 1;
      continue;
    }
    if (first !== expected) {
      throw corrupt(first < expected ? `run at ${first} overlaps the snapshot or the previous run (expected ${expected})` : `log gap: expected entry ${expected}, found a run at ${first}`);
    }
    const run = decode(`run at ${first}`, () => decodeRun(value));
    if (run.length === 0) throw corrupt(`run at ${first} is empty`);
    if (run[0]!.index !== first) throw corrupt(`run under key ${first} says it starts at ${run[0]!.index}`);
    for (const entry of run) {
      if (entry.term < lastTerm) throw corrupt(`entry ${entry.index} has term ${entry.term} below the previous ${lastTerm}`);
      lastTerm = entry.term;
      entries.push(entry);
    }
    runs.push(first);
    expected = first + run.length;
  }
  const lastIndex = snapshot.meta.index + entries.length;
  if (hardState.commit > lastIndex) throw corrupt(`commit ${hardState.commit} is past the last entry ${lastIndex}`);
  if (lastTerm > hardState.term) throw corrupt(`log term ${lastTerm} is newer than the hard state term ${hardState.term}`);
  return { hardState, snapshot, entries, runs, garbage };
}
