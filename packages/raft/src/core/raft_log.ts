// RaftLog: the node's view of its log = stable storage plus an unstable tail (entries and maybe
// a snapshot) that the core has accepted but the shell has not yet persisted.
//
// Invariants (as in etcd's raftLog/unstable):
//   unstable.entries[i] has raft index i + unstable.offset;
//   unstable.offset <= offsetInProgress <= lastIndex()+1 (entries below offsetInProgress were
//   handed to the shell in a Ready and are being persisted);
//   applied <= applying <= committed <= lastIndex().
import { limitSize } from "./entry_size.js";
import { CompactedError, UnavailableError, type Entry, type RaftStorage, type Snapshot } from "./types.js";

export class RaftLog {
  readonly storage: RaftStorage;
  committed: number;
  /** Highest index handed out in a Ready for applying (maybe not yet applied). */
  applying: number;
  applied: number;

  #offset: number;
  #entries: Entry[] = [];
  #snapshot: Snapshot | undefined;
  #offsetInProgress: number;
  #snapshotInProgress = false;

  constructor(storage: RaftStorage) {
    this.storage = storage;
    const last = storage.lastIndex();
    this.#offset = last + 1;
    this.#offsetInProgress = last + 1;
    this.committed = storage.firstIndex() - 1;
    this.applying = this.committed;
    this.applied = this.committed;
  }

  firstIndex(): number {
    return this.#snapshot !== undefined ? this.#snapshot.meta.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.#entries.length > 0) return this.#offset + this.#entries.length - 1;
    if (this.#snapshot !== undefined) return this.#snapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** Term of entry i. Throws CompactedError / UnavailableError outside [firstIndex-1, lastIndex]. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new UnavailableError(i);
    if (i >= this.#offset) return this.#entries[i - this.#offset]!.term;
    if (this.#snapshot !== undefined && i === this.#snapshot.meta.index) return this.#snapshot.meta.term;
    return this.storage.term(i);
  }

  /** Term of entry i, or 0 when i is compacted or not yet in the log. */
  termOrZero(i: number): number {
    // Bounds first: constructing an Error (and its stack) per probe is the hot path's main cost.
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return 0;
    try {
      return this.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return 0;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    return this.termOrZero(i) === term && (term !== 0 || i === 0 || i === this.firstIndex() - 1);
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, term) at least as up to date as ours? */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  /** The index of the first entry in `ents` that conflicts with (or extends) the log, or 0. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (etcd's findConflictByTerm): the
   * follower's and leader's logs cannot match above it, so probing may skip straight there.
   */
  findConflictByTerm(index: number, term: number): number {
    for (let i = index; i > 0; i--) {
      let t: number;
      try {
        t = this.term(i);
      } catch {
        return i;
      }
      if (t <= term) return i;
    }
    return 0;
  }

  /**
   * Appends leader entries after (index, logTerm) if that entry matches. Returns the last new
   * index, `undefined` when the log does not match, or "conflict" when accepting would rewrite a
   * committed entry (only bogus input can ask for that; the caller drops the message).
   */
  maybeAppend(index: number, logTerm: number, ents: readonly Entry[]): number | undefined | "conflict" {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) return "conflict";
      this.append(ents.slice(ci - (index + 1)));
    }
    return lastNew;
  }

  /** Appends entries that may replace an uncommitted suffix. Returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const from = ents[0]!.index;
    if (from - 1 < this.committed) throw new Error(`append at ${from} would overwrite committed ${this.committed}`);
    const end = this.#offset + this.#entries.length;
    if (from === end) {
      this.#entries.push(...ents);
    } else if (from <= this.#offset) {
      // Replaces all unstable entries; stable ones past `from` are superseded (the shell's
      // storage append truncates them when it persists these).
      this.#offset = from;
      this.#entries = [...ents];
      this.#offsetInProgress = from;
    } else {
      this.#entries = this.#entries.slice(0, from - this.#offset).concat(ents);
      this.#offsetInProgress = Math.min(this.#offsetInProgress, from);
    }
    return this.lastIndex();
  }

  /** Entries in [lo, hi), at most maxBytes (at least one). */
  slice(lo: number, hi: number, maxBytes: number): readonly Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    let out: Entry[] = [];
    if (lo < this.#offset) {
      const stable = this.storage.entries(lo, Math.min(hi, this.#offset), maxBytes);
      out = [...stable];
      if (stable.length < Math.min(hi, this.#offset) - lo) return out; // hit the size limit
    }
    if (hi > this.#offset) {
      const from = Math.max(lo, this.#offset);
      out = out.concat(this.#entries.slice(from - this.#offset, hi - this.#offset));
    }
    return limitSize(out, maxBytes);
  }

  /** Entries from index i to the end, at most maxBytes. */
  entriesFrom(i: number, maxBytes: number): readonly Entry[] {
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** The snapshot to send to a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.#snapshot ?? this.storage.snapshot();
  }

  commitTo(index: number): void {
    if (index > this.committed) this.committed = index;
  }

  /** Commits up to maxIndex if that entry is of `term` (Raft §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Installs a received snapshot as the new base of the log (everything before it is gone). */
  restore(snap: Snapshot): void {
    this.committed = snap.meta.index;
    this.#offset = snap.meta.index + 1;
    this.#offsetInProgress = this.#offset;
    this.#entries = [];
    this.#snapshot = snap;
    this.#snapshotInProgress = false;
  }

  // --- Ready plumbing -----------------------------------------------------------------------

  hasNextUnstableEnts(): boolean {
    return this.#offsetInProgress < this.#offset + this.#entries.length;
  }

  nextUnstableEnts(): readonly Entry[] {
    return this.#entries.slice(this.#offsetInProgress - this.#offset);
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.#snapshotInProgress ? undefined : this.#snapshot;
  }

  /** Marks everything unstable as handed to the shell for persisting. */
  acceptUnstable(): void {
    this.#offsetInProgress = this.#offset + this.#entries.length;
    if (this.#snapshot !== undefined) this.#snapshotInProgress = true;
  }

  /**
   * Last index of the log prefix that is durable here: in storage and not superseded by
   * unstable entries. 0 while a received snapshot is not yet persisted.
   */
  stableIndex(): number {
    return this.#snapshot !== undefined ? 0 : this.#offset - 1;
  }

  /**
   * Highest index that may be applied: committed and durable here. Committed alone is not
   * enough: a follower may learn a commit index before its own copy of the entries is synced,
   * and a state machine must never get ahead of the log that rebuilds it after a crash.
   */
  #maxAppliable(): number {
    return Math.min(this.committed, this.stableIndex());
  }

  hasNextCommittedEnts(): boolean {
    return this.#maxAppliable() > Math.max(this.applying, this.firstIndex() - 1);
  }

  nextCommittedEnts(maxBytes: number): readonly Entry[] {
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = this.#maxAppliable() + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, maxBytes);
  }

  acceptApplying(index: number): void {
    if (index > this.applying) this.applying = index;
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
    if (index > this.applying) this.applying = index;
  }

  /** The shell persisted entries up to (index, term): drop them from the unstable tail. */
  stableTo(index: number, term: number): void {
    if (index < this.#offset) return;
    const at = index - this.#offset;
    if (at >= this.#entries.length || this.#entries[at]!.term !== term) return; // superseded meanwhile
    this.#entries = this.#entries.slice(at + 1);
    this.#offset = index + 1;
    if (this.#offsetInProgress < this.#offset) this.#offsetInProgress = this.#offset;
  }

  stableSnapTo(index: number): void {
    if (this.#snapshot !== undefined && this.#snapshot.meta.index === index) {
      this.#snapshot = undefined;
      this.#snapshotInProgress = false;
    }
  }
}
