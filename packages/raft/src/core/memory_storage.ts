// MemoryStorage: RaftStorage held in memory (etcd's MemoryStorage). Used by unit tests, by the
// simulator as a node's synced store, and by the level shell as a read cache.
//
// Contract: `ents[0]` is a dummy entry standing for the snapshot's last index and term, so
// term(snapshot.index) still answers after compaction. The core only reads; the shell writes
// (append, setHardState, applySnapshot) what each Ready hands it, before calling advance().
import { limitSize } from "./entry_size.js";
import {
  CompactedError,
  EntryType,
  UnavailableError,
  type Entry,
  type HardState,
  type NodeId,
  type RaftStorage,
  type Snapshot,
} from "./types.js";

export class SnapshotOutOfDateError extends Error {
  override readonly name = "SnapshotOutOfDateError";
  constructor(index: number, have: number) {
    super(`snapshot at index ${index} is not newer than the current one at ${have}`);
  }
}

const EMPTY = new Uint8Array(0);

export class MemoryStorage implements RaftStorage {
  #hardState: HardState = { term: 0, vote: 0, commit: 0 };
  #snapshot: Snapshot;
  #ents: Entry[];

  constructor(voters: readonly NodeId[], observers: readonly NodeId[] = []) {
    this.#snapshot = { meta: { index: 0, term: 0, voters: [...voters], observers: [...observers] }, data: EMPTY };
    this.#ents = [{ index: 0, term: 0, type: EntryType.Empty, data: EMPTY }];
  }

  initialState(): { hardState: HardState; voters: readonly NodeId[]; observers: readonly NodeId[] } {
    const { voters, observers } = this.#snapshot.meta;
    return { hardState: this.#hardState, voters, observers };
  }

  hardState(): HardState {
    return this.#hardState;
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  firstIndex(): number {
    return this.#ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.#ents[0]!.index + this.#ents.length - 1;
  }

  term(i: number): number {
    const offset = this.#ents[0]!.index;
    if (i < offset) throw new CompactedError(i);
    if (i - offset >= this.#ents.length) throw new UnavailableError(i);
    return this.#ents[i - offset]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] {
    const offset = this.#ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxBytes);
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Appends entries, replacing any conflicting suffix. Entries already compacted are skipped. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = ents[0]!.index - this.#ents[0]!.index;
    if (offset > this.#ents.length) {
      throw new Error(`missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    }
    // In place: a copy per append would make a long log quadratic.
    if (offset < this.#ents.length) this.#ents.length = offset;
    for (const e of ents) this.#ents.push(e);
  }

  /** Replaces the whole log with a received snapshot. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.#snapshot.meta.index) {
      throw new SnapshotOutOfDateError(snap.meta.index, this.#snapshot.meta.index);
    }
    this.#snapshot = snap;
    this.#ents = [{ index: snap.meta.index, term: snap.meta.term, type: EntryType.Empty, data: EMPTY }];
  }

  /**
   * Records a snapshot the state machine took at `index` (which it has applied). Entries stay
   * until compact() drops them, so slow followers can still be fed from the log for a while.
   */
  createSnapshot(index: number, data: Uint8Array, voters?: readonly NodeId[], observers?: readonly NodeId[]): Snapshot {
    if (index <= this.#snapshot.meta.index) throw new SnapshotOutOfDateError(index, this.#snapshot.meta.index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    const meta = {
      index,
      term: this.term(index),
      voters: [...(voters ?? this.#snapshot.meta.voters)],
      observers: [...(observers ?? this.#snapshot.meta.observers)],
    };
    this.#snapshot = { meta, data };
    return this.#snapshot;
  }

  /** Drops entries up to and including `index` (which must not pass lastIndex). */
  compact(index: number): void {
    const offset = this.#ents[0]!.index;
    if (index <= offset) throw new CompactedError(index);
    if (index > this.lastIndex()) throw new UnavailableError(index);
    const i = index - offset;
    const dummy: Entry = { index, term: this.#ents[i]!.term, type: EntryType.Empty, data: EMPTY };
    this.#ents = [dummy, ...this.#ents.slice(i + 1)];
  }
}
