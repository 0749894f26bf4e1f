// SafetyChecker: Raft's safety properties, checked by the simulator as events happen (outside
// the code under test). A violation throws SafetyViolation with a one-line reason.
//
//   election safety     at most one leader per term; observers never lead
//   log matching        same index and term => same entry and same previous term, on every pair
//   leader completeness a new leader holds every entry any node has committed or applied
//   committed stays     an index, once committed anywhere, never commits with another term
//   state machine       every node applies one global sequence, contiguously, with no gaps
//   monotonic           per node, term and commit never go back (within an incarnation, and
//                       the synced values across restarts)
//   durable before ack  when a leader gets an append ack or a vote, the sender's synced disk
//                       already holds those entries / that term and vote (thesis §3.8)
//   durable commit      whenever a node learns a commit index, a majority of voters' synced
//                       disks hold that entry (so a leader never counts its own unsynced copy)
//   durable apply       a node applies only entries its own synced disk holds
//   no acked loss       an acknowledged proposal is in the global sequence at its index
//   linearizable reads  a ReadIndex answer is at least the highest index applied anywhere
//                       when the read was issued
import type { Entry, HardState, MemoryStorage, NodeId } from "../core/index.js";

/** A node's log as the checker reads it: MemoryStorage, or a live RawNode's whole log. */
export interface LogView {
  firstIndex(): number;
  lastIndex(): number;
  /** Defined for firstIndex()-1 <= i <= lastIndex(). */
  term(i: number): number;
}

export class SafetyViolation extends Error {
  override readonly name = "SafetyViolation";
}

function fail(msg: string): never {
  throw new SafetyViolation(msg);
}

export function entryKey(e: Entry): string {
  let s = `${e.term}/${e.type}/`;
  for (let i = 0; i < e.data.length; i++) s += String.fromCharCode(e.data[i]!);
  return s;
}

export function mixHash(h: number, key: string): number {
  let x = h ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) x = Math.imul(x ^ key.charCodeAt(i), 0x01000193);
  return x >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SafetyChecker {
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** The one applied sequence: key and term per index (1-based), and the hash chain. */
  readonly #keys: string[] = [""];
  readonly #terms: number[] = [0];
  readonly #hashes: number[] = [0];
  /** Terms of entries known committed (a node's log up to its commit index), by index. */
  readonly #committed: (number | undefined)[] = [0];
  readonly #durable = new Map<NodeId, HardState>();
  readonly #acked = new Map<number, string>();

  get appliedMax(): number {
    return this.#keys.length - 1;
  }

  get ackedCount(): number {
    return this.#acked.size;
  }

  /** The key (term/type/data) of the entry applied at `index`, if any node applied it. */
  appliedKeyAt(index: number): string | undefined {
    return this.#keys[index];
  }

  isAcked(index: number): boolean {
    return this.#acked.has(index);
  }

  /** The key of the proposal acknowledged at `index`, if any. */
  ackedKeyAt(index: number): string | undefined {
    return this.#acked.get(index);
  }

  hashAt(index: number): number | undefined {
    return this.#hashes[index];
  }

  onLeader(id: NodeId, term: number, isObserver: boolean, storage: LogView): void {
    if (isObserver) fail(`observer ${id} became leader at term ${term}`);
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) fail(`two leaders in term ${term}: ${prev} and ${id}`);
    if (prev === id) return;
    this.leaderOfTerm.set(term, id);
    // Leader completeness (Raft §5.4): every committed or applied entry is in the new leader's log.
    const max = this.appliedMax;
    if (storage.lastIndex() < max) fail(`leader ${id} of term ${term} ends at ${storage.lastIndex()} but ${max} was applied`);
    const from = Math.max(storage.firstIndex() - 1, 1);
    for (let i = from; i <= max; i++) {
      const t = storage.term(i);
      if (t !== this.#terms[i]) fail(`leader ${id} of term ${term} has term ${t} at ${i}, but term ${this.#terms[i]} was applied there`);
    }
    const cmax = this.#committed.length - 1;
    if (storage.lastIndex() < cmax) fail(`leader ${id} of term ${term} ends at ${storage.lastIndex()} but ${cmax} was committed`);
    for (let i = Math.max(from, max + 1); i <= cmax; i++) {
      const c = this.#committed[i];
      if (c !== undefined && storage.term(i) !== c) fail(`leader ${id} of term ${term} has term ${storage.term(i)} at ${i}, but term ${c} was committed there`);
    }
  }

  /**
   * Node `id` moved its commit index from `prev` to `commit`: the entries in between, as its
   * log holds them, are committed and must agree with what any node ever committed there.
   */
  onCommit(id: NodeId, prev: number, commit: number, storage: LogView): void {
    const lo = Math.max(prev + 1, storage.firstIndex());
    for (let i = lo; i <= commit; i++) {
      const t = storage.term(i);
      const known = this.#committed[i];
      if (known !== undefined && known !== t) fail(`committed entry changed: node ${id} committed term ${t} at ${i}, term ${known} was committed there before`);
      while (this.#committed.length < i) this.#committed.push(undefined);
      this.#committed[i] = t;
    }
  }

  /**
   * Node `id` learned commit index `commit` (entry term `term`): a majority of the voters'
   * synced stores must hold that entry, or a snapshot covering it.
   */
  checkCommitDurable(id: NodeId, commit: number, term: number, votersSynced: Iterable<MemoryStorage>): void {
    let voters = 0;
    let holding = 0;
    for (const s of votersSynced) {
      voters++;
      if (s.snapshot().meta.index >= commit || (s.lastIndex() >= commit && s.term(commit) === term)) holding++;
    }
    if (holding <= voters / 2) fail(`node ${id} learned commit ${commit} (term ${term}) but only ${holding} of ${voters} voters hold it durably`);
  }

  /** Node `id` applies `e`: its own synced store must hold it. */
  checkAppliedDurable(id: NodeId, e: Entry, synced: MemoryStorage): void {
    if (e.index < synced.firstIndex() || e.index > synced.lastIndex() || synced.term(e.index) !== e.term) {
      fail(`node ${id} applied ${e.index} (term ${e.term}) before it was durable there`);
    }
  }

  onHardState(id: NodeId, prev: HardState, hs: HardState): void {
    if (hs.term < prev.term) fail(`node ${id} term went back ${prev.term} -> ${hs.term}`);
    if (hs.commit < prev.commit) fail(`node ${id} commit went back ${prev.commit} -> ${hs.commit}`);
  }

  /** After a sync: the durable hard state must never go back either, across any crash. */
  onSynced(id: NodeId, hs: HardState): void {
    const prev = this.#durable.get(id);
    if (prev !== undefined) this.onHardState(id, prev, hs);
    this.#durable.set(id, hs);
  }

  /** Log matching, for entries `id` just wrote, against every other node's stored log. */
  onWritten(id: NodeId, mine: MemoryStorage, entries: readonly Entry[], others: Iterable<[NodeId, MemoryStorage]>): void {
    if (entries.length === 0) return;
    for (const [oid, theirs] of others) {
      if (oid === id) continue;
      for (const e of entries) {
        if (e.index < theirs.firstIndex() || e.index > theirs.lastIndex()) continue;
        if (theirs.term(e.index) !== e.term) continue;
        const t = theirs.entries(e.index, e.index + 1, Number.MAX_SAFE_INTEGER)[0]!;
        if (t.type !== e.type || !sameBytes(t.data, e.data)) fail(`log matching: ${id} and ${oid} hold different entries at ${e.index} term ${e.term}`);
        const p = e.index - 1;
        if (p >= mine.firstIndex() - 1 && p >= theirs.firstIndex() - 1) {
          if (mine.term(p) !== theirs.term(p)) fail(`log matching: ${id} and ${oid} agree at ${e.index} term ${e.term} but differ at ${p}`);
        }
      }
    }
  }

  /** State machine safety: node applies `e` on top of (applied, hash); returns the new hash. */
  onApply(id: NodeId, applied: number, hash: number, e: Entry): number {
    if (e.index !== applied + 1) fail(`node ${id} applied ${e.index} right after ${applied}`);
    const key = entryKey(e);
    const h = mixHash(hash, key);
    if (e.index <= this.appliedMax) {
      if (this.#keys[e.index] !== key) fail(`state machine safety: node ${id} applied ${key} at ${e.index}, others applied ${this.#keys[e.index]}`);
      if (this.#hashes[e.index] !== h) fail(`state machine safety: node ${id} applied a different history up to ${e.index}`);
    } else {
      this.#keys.push(key);
      this.#terms.push(e.term);
      this.#hashes.push(h);
    }
    return h;
  }

  onSnapshotInstalled(id: NodeId, index: number, hash: number): void {
    if (index > this.appliedMax) fail(`node ${id} installed a snapshot at ${index}, past anything applied (${this.appliedMax})`);
    if (this.#hashes[index] !== hash) fail(`node ${id} installed a snapshot at ${index} with a different history`);
  }

  onAcked(index: number, key: string): void {
    if (this.#keys[index] !== key) fail(`acked proposal at ${index} is not what was applied there`);
    this.#acked.set(index, key);
  }

  /**
   * Leader `to` (of term `term`, holding `leaderTerm(k)`) receives an ack up to k from `from`,
   * whose synced disk is `synced`. Skipped once `from` moved to a later term (a newer leader may
   * legitimately have replaced those entries since).
   */
  onAppendAck(from: NodeId, to: NodeId, term: number, k: number, leaderTermAtK: number, synced: MemoryStorage): void {
    const hs = synced.hardState();
    if (hs.term !== term || k < synced.firstIndex() - 1) return;
    if (synced.lastIndex() < k) fail(`node ${from} acked ${k} to leader ${to} (term ${term}) but only ${synced.lastIndex()} is durable`);
    const t = synced.term(k);
    if (t !== leaderTermAtK) fail(`node ${from} acked ${k} to leader ${to} (term ${term}) but its durable entry there has term ${t}, not ${leaderTermAtK}`);
  }

  /** Candidate `to` receives a granted vote for `term` from `from`: the vote must be durable. */
  onVoteGranted(from: NodeId, to: NodeId, term: number, synced: MemoryStorage): void {
    const hs = synced.hardState();
    if (hs.term !== term) {
      if (hs.term < term) fail(`node ${from} granted a vote in term ${term} but its durable term is ${hs.term}`);
      return;
    }
    if (hs.vote !== to) fail(`node ${from} granted its term-${term} vote to ${to} but its durable vote is ${hs.vote}: vote not durable`);
  }

  onRead(id: NodeId, index: number, minIndex: number): void {
    if (index < minIndex) fail(`stale read on node ${id}: read index ${index} < ${minIndex} applied before the read was issued`);
  }

  /** End of run: every acknowledged proposal is still where it was acknowledged. */
  checkAcked(): void {
    for (const [index, key] of this.#acked) {
      if (this.#keys[index] !== key) fail(`acknowledged proposal at ${index} was lost`);
    }
  }
}
