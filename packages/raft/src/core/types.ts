// The contract between the pure Raft core and its shells (level storage, gRPC transport,
// the deterministic simulator). Everything here is plain data: no I/O, no clocks.
//
// Driving the core (etcd-raft's asynchronous storage writes, Raft thesis §10.2.1; see
// ../../README.md):
//   1. feed inputs: tick(), step(message), propose(data)
//   2. if hasReady(): const rd = ready(). The shell may take the next Ready while earlier
//      Readys are still being persisted (pipelining); saves must complete in Ready order.
//   3. at once: send rd.messages, apply rd.committedEntries in order (they are committed and
//      already durable here), then applied(rd)
//   4. persist rd.snapshot, rd.entries and rd.hardState durably (fsync if rd.mustSync); once
//      that save and every earlier one is durable: send rd.messagesAfterPersist (append acks
//      and votes promise what is on disk, thesis §3.8), install rd.snapshot into the state
//      machine, and call persisted(rd). A leader counts its own entries toward commit only
//      from persisted() on.
//   advance(rd) = persisted(rd) + applied(rd), for a shell that does everything in order.

export type NodeId = number;

export const enum EntryType {
  Normal = 0,
  /** Appended by a new leader at the start of its term so it can commit earlier entries (§5.4.2). */
  Empty = 1,
}

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** Durable per-node state. Must be synced before the Ready's messagesAfterPersist are sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId; // 0 = none
  readonly commit: number;
}

export interface SnapshotMeta {
  /** Index and term of the last entry the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** Voters and observers at that point (static today; carried so membership change can be added). */
  readonly voters: readonly NodeId[];
  readonly observers: readonly NodeId[];
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export const enum MessageType {
  /** Local: start an election (pre-vote first when enabled). Never sent on the wire. */
  Hup = 0,
  /** Local: leader heartbeat tick. Never sent on the wire. */
  Beat = 1,
  /** Local: a proposal. Never sent on the wire. */
  Prop = 2,
  App = 3,
  AppResp = 4,
  Vote = 5,
  VoteResp = 6,
  PreVote = 7,
  PreVoteResp = 8,
  Heartbeat = 9,
  HeartbeatResp = 10,
  Snap = 11,
  SnapStatus = 12,
  TimeoutNow = 13,
  ReadIndex = 14,
  ReadIndexResp = 15,
  TransferLeader = 16,
  Unreachable = 17,
}

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** App: index of the entry before `entries`. AppResp: the follower's match (or hint when reject). */
  readonly index: number;
  /** App: term of the entry at `index`. Vote/PreVote: the candidate's last log term. */
  readonly logTerm: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  /**
   * AppResp reject: the follower's guess of the highest index that may match (etcd's RejectHint),
   * with its term in `logTerm`, for fast backtracking. On reject, `index` echoes the rejected App's index.
   */
  readonly rejectHint: number;
  /** Snap: the snapshot (the transport chunks it on the wire). */
  readonly snapshot?: Snapshot;
  /** ReadIndex / ReadIndexResp: opaque request context echoed back. */
  readonly context?: Uint8Array;
}

/** A linearizable read that may proceed once the node has applied up to `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

export const enum StateRole {
  Follower = 0,
  PreCandidate = 1,
  Candidate = 2,
  Leader = 3,
  /** Follows the committed log, never votes or campaigns (a broker on the metadata log). */
  Observer = 4,
}

export interface SoftState {
  readonly lead: NodeId; // 0 = unknown
  readonly role: StateRole;
}

export interface Ready {
  readonly softState?: SoftState;
  /** Present only when changed. Persist before sending `messages`. */
  readonly hardState?: HardState;
  /** Entries to append to stable storage (may overwrite a conflicting suffix). */
  readonly entries: readonly Entry[];
  /** Snapshot to persist and install; present only when one was received. */
  readonly snapshot?: Snapshot;
  /** Messages that may leave now, before this Ready (or any earlier one) is durable. */
  readonly messages: readonly Message[];
  /**
   * Messages that may leave only once this Ready's hardState, entries and snapshot, and those
   * of every earlier Ready, are durable: append acks, votes and vote requests.
   */
  readonly messagesAfterPersist: readonly Message[];
  /** Committed entries already durable here: apply now, in order (before this Ready's save completes). */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** True when hardState/entries must be fsynced before messagesAfterPersist go out. */
  readonly mustSync: boolean;
}

/**
 * Read side of stable storage (etcd's Storage). Writes never go through here: they leave the
 * core through Ready and come back via the shell. Implementations: MemoryStorage (tests,
 * simulator) and LevelStorage.
 */
export interface RaftStorage {
  initialState(): { hardState: HardState; voters: readonly NodeId[]; observers: readonly NodeId[] };
  /** Entries in [lo, hi), at most maxBytes (at least one entry). Throws CompactedError / UnavailableError. */
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[];
  /** Term of entry i. Throws CompactedError when i < firstIndex()-1, UnavailableError when i > lastIndex(). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export class CompactedError extends Error {
  override readonly name = "CompactedError";
  constructor(index: number) {
    super(`raft log index ${index} has been compacted into a snapshot`);
  }
}

export class UnavailableError extends Error {
  override readonly name = "UnavailableError";
  constructor(index: number) {
    super(`raft log index ${index} is not yet available`);
  }
}

/** Seeded randomness, injected (the simulator and tests pass a deterministic one). */
export interface Rng {
  /** An integer in [0, n). */
  int(n: number): number;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks between elections; the actual timeout is randomized in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly storage: RaftStorage;
  readonly rng: Rng;
  readonly logger?: Logger;
  /** Applied index to resume from after a restart (the state machine's own durable position). */
  readonly applied?: number;
  /** Max bytes of entries in one App message. */
  readonly maxSizePerMsg?: number;
  /** Max App messages in flight to one follower (pipelining). */
  readonly maxInflightMsgs?: number;
  /** Largest single proposal accepted; larger ones are rejected with EntryTooLargeError. */
  readonly maxEntryBytes?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Most ReadIndex requests queued while waiting for the first commit of a new term. */
  readonly maxPendingReads?: number;
  /** Test-only: break one rule each (see TestingBugs). */
  readonly testingBugs?: TestingBugs;
}

/**
 * Test-only switches, each breaking exactly one Raft rule, so the simulator's checker can be
 * shown to catch it. Never set outside tests.
 */
export interface TestingBugs {
  /** Leave the vote out of the persisted HardState: a restarted node can vote twice in a term. */
  readonly skipPersistVote?: true;
  /** Commit any entry stored on a quorum, whatever its term (breaks Raft §5.4.2). */
  readonly commitPreviousTermByCount?: true;
  /** Grant votes without the log up-to-date check (breaks leader completeness, Raft §5.4.1). */
  readonly voteWithoutLogCheck?: true;
  /** The leader counts its own entries toward commit before they are durable (breaks thesis §10.2.1). */
  readonly commitUnpersistedSelf?: true;
  /** A follower acknowledges entries before they are durable (breaks thesis §3.8). */
  readonly ackBeforePersist?: true;
}

/** Where an accepted proposal landed; it committed iff the entry at `index` still has `term`. */
export interface ProposalPosition {
  readonly index: number;
  readonly term: number;
}

/** What a leader knows of one member's log (etcd's Status.Progress); see RawNode.progress(). */
export interface PeerProgress {
  /** Highest index known to be in that member's log (for the leader itself: durable here). */
  readonly match: number;
  readonly observer: boolean;
  /** Heard from within the current election timeout (check-quorum's notion of alive). */
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly role: StateRole;
  readonly lastIndex: number;
}
