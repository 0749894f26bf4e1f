// RawNode: the shell-facing API of the core (etcd's RawNode). It wraps Raft and batches its
// outputs into Ready values; see types.ts for the order a shell must handle a Ready in.
//
// Concurrency contract (etcd's asynchronous storage writes): the shell may take a new Ready
// while earlier ones are still being persisted, and keep calling tick/step/propose meanwhile;
// each Ready holds only what is new since the previous one. Saves complete in Ready order and
// are reported with persisted(rd); committed entries are handed out only once durable here,
// and reported applied with applied(rd).
import { Raft } from "./raft.js";
import {
  MessageType,
  type HardState,
  type Message,
  type NodeId,
  type PeerProgress,
  type ProposalPosition,
  type RaftConfig,
  type RaftStatus,
  type Ready,
  type SoftState,
  StateRole,
} from "./types.js";

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.role === b.role;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function localMessage(type: MessageType, from: NodeId, to: NodeId, extra: Partial<Message> = {}): Message {
  return { type, from, to, term: 0, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0, ...extra };
}

export class RawNode {
  readonly #raft: Raft;
  readonly #skipPersistVote: boolean;
  readonly #maxApplyBytes: number;
  #prevSoft: SoftState;
  #prevHard: HardState;

  constructor(config: RaftConfig) {
    this.#raft = new Raft(config);
    this.#skipPersistVote = config.testingBugs?.skipPersistVote === true;
    this.#maxApplyBytes = Math.max(config.maxSizePerMsg ?? 1024 * 1024, 64 * 1024) * 4;
    this.#prevSoft = this.#softState();
    this.#prevHard = config.storage.initialState().hardState;
  }

  get id(): NodeId {
    return this.#raft.id;
  }

  tick(): void {
    this.#raft.tick();
  }

  /** Feeds a message from the network. Bad input is logged and dropped, never thrown. */
  step(m: Message): void {
    if (m.type === MessageType.Hup || m.type === MessageType.Beat || m.type === MessageType.Prop) return;
    if (m.type === MessageType.SnapStatus || m.type === MessageType.Unreachable) return;
    this.#raft.step(m);
  }

  /**
   * Appends `data` if this node leads; returns its log position. Throws NotLeaderError,
   * EntryTooLargeError or ProposalDroppedError otherwise (nothing was appended).
   */
  propose(data: Uint8Array): ProposalPosition {
    return this.#raft.propose(data);
  }

  /** Appends several proposals at once (all or none); positions are consecutive. */
  proposeBatch(datas: readonly Uint8Array[]): ProposalPosition[] {
    return this.#raft.proposeBatch(datas);
  }

  /** Starts an election now (through pre-vote when enabled). */
  campaign(): void {
    this.#raft.step(localMessage(MessageType.Hup, this.id, this.id));
  }

  transferLeader(to: NodeId): void {
    this.#raft.step(localMessage(MessageType.TransferLeader, to, this.id));
  }

  /** Requests a linearizable read; a ReadState with the same context appears in a later Ready. */
  readIndex(context: Uint8Array): void {
    this.#raft.step(localMessage(MessageType.ReadIndex, this.id, this.id, { context }));
  }

  reportUnreachable(id: NodeId): void {
    this.#raft.step(localMessage(MessageType.Unreachable, id, this.id));
  }

  /** Tells the leader whether sending a snapshot to `id` finished (ok) or failed. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.#raft.step(localMessage(MessageType.SnapStatus, id, this.id, { reject: !ok }));
  }

  #softState(): SoftState {
    return { lead: this.#raft.lead, role: this.#raft.role };
  }

  #hardState(): HardState {
    const r = this.#raft;
    return { term: r.term, vote: this.#skipPersistVote ? 0 : r.vote, commit: r.raftLog.committed };
  }

  hasReady(): boolean {
    const r = this.#raft;
    return (
      !sameSoft(this.#softState(), this.#prevSoft) ||
      !sameHard(this.#hardState(), this.#prevHard) ||
      r.raftLog.nextUnstableSnapshot() !== undefined ||
      r.raftLog.hasNextUnstableEnts() ||
      r.msgs.length > 0 ||
      r.msgsAfterPersist.length > 0 ||
      r.readStates.length > 0 ||
      r.raftLog.hasNextCommittedEnts()
    );
  }

  /** Collects everything pending into a Ready. Call advance(rd) once it is handled. */
  ready(): Ready {
    const r = this.#raft;
    const log = r.raftLog;
    const entries = log.nextUnstableEnts();
    const snapshot = log.nextUnstableSnapshot();
    log.acceptUnstable();
    const committedEntries = log.nextCommittedEnts(this.#maxApplyBytes);
    if (committedEntries.length > 0) log.acceptApplying(committedEntries[committedEntries.length - 1]!.index);
    const soft = this.#softState();
    const hard = this.#hardState();
    const hardChanged = !sameHard(hard, this.#prevHard);
    const mustSync =
      entries.length > 0 || snapshot !== undefined || hard.term !== this.#prevHard.term || hard.vote !== this.#prevHard.vote;
    const rd: Ready = {
      ...(sameSoft(soft, this.#prevSoft) ? {} : { softState: soft }),
      ...(hardChanged ? { hardState: hard } : {}),
      ...(snapshot !== undefined ? { snapshot } : {}),
      entries,
      messages: r.msgs,
      messagesAfterPersist: r.msgsAfterPersist,
      committedEntries,
      readStates: r.readStates,
      mustSync,
    };
    r.msgs = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    this.#prevSoft = soft;
    this.#prevHard = hard;
    return rd;
  }

  /**
   * `rd`'s snapshot, entries and hard state are durable, and so are every earlier Ready's
   * (saves complete in order). A leader counts its own entries toward commit from here on.
   */
  persisted(rd: Ready): void {
    const last = rd.entries[rd.entries.length - 1];
    this.#raft.persisted(last === undefined ? undefined : { index: last.index, term: last.term }, rd.snapshot?.meta.index);
  }

  /** The state machine has installed rd.snapshot (if any) and applied rd.committedEntries. */
  applied(rd: Ready): void {
    const log = this.#raft.raftLog;
    if (rd.snapshot !== undefined) log.appliedTo(rd.snapshot.meta.index);
    if (rd.committedEntries.length > 0) log.appliedTo(rd.committedEntries[rd.committedEntries.length - 1]!.index);
  }

  /** For shells that handle a Ready fully in order: persisted(rd) and applied(rd). */
  advance(rd: Ready): void {
    this.persisted(rd);
    this.applied(rd);
  }

  status(): RaftStatus {
    const r = this.#raft;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      role: r.role,
      lastIndex: r.raftLog.lastIndex(),
    };
  }

  /** Per member, what this node knows of its log while it leads; empty when it does not. */
  progress(): ReadonlyMap<NodeId, PeerProgress> {
    const r = this.#raft;
    const out = new Map<NodeId, PeerProgress>();
    if (r.role !== StateRole.Leader) return out;
    for (const [id, pr] of r.prs) out.set(id, { match: pr.match, observer: pr.isObserver, recentActive: id === r.id || pr.recentActive });
    return out;
  }

  /** First index still in the log (entries before it are in the snapshot). */
  firstIndex(): number {
    return this.#raft.raftLog.firstIndex();
  }

  /** Term of log entry i, or 0 when compacted or absent (for shells resolving proposals). */
  termAt(i: number): number {
    return this.#raft.raftLog.termOrZero(i);
  }
}
