// Raft: the consensus state machine (etcd's `raft` struct). Pure and synchronous: it consumes
// ticks, messages and proposals and produces outgoing messages into `msgs`, log changes into
// its RaftLog, and read states into `readStates`; RawNode packages these as a Ready.
//
// Papers referenced: Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm"
// (§5.x), and Ongaro's thesis (§3.10 leadership transfer, §6.4 ReadIndex, §9.6 pre-vote).
//
// Membership is static: voters and observers come from storage's initial state. Adding
// membership change would follow the thesis §4.3 / etcd's joint consensus: (1) a ConfChange
// entry type carrying the new voter/observer sets, applied to the tracker as soon as it is
// appended (not committed); (2) while a joint config C_old,new is in effect, quorumIndex,
// voteResult and isQuorum take the minimum over both majorities; (3) the leader refuses a second
// change until the first has been applied, and auto-leaves the joint config with a second
// entry; (4) snapshots already carry voters/observers, so they would carry the joint config too.
// Observers (etcd learners) would be the staging step for a new voter to catch up first.
import { EntryTooLargeError, NotLeaderError, ProposalDroppedError } from "./errors.js";
import { Progress, ProgressState } from "./progress.js";
import { isQuorum, quorumIndex, VoteResult, voteResult } from "./quorum.js";
import { RaftLog } from "./raft_log.js";
import { isCount, typeName, validateMessage } from "./validate.js";
import { contextKey, ReadOnly } from "./read_only.js";
import {
  CompactedError,
  EntryType,
  MessageType,
  StateRole,
  UnavailableError,
  type Entry,
  type Logger,
  type Message,
  type NodeId,
  type ProposalPosition,
  type RaftConfig,
  type ReadState,
  type Rng,
  type Snapshot,
  type TestingBugs,
} from "./types.js";

const NONE: NodeId = 0;
const EMPTY = new Uint8Array(0);
/** Vote context marking a campaign started by TimeoutNow: it may override a follower's lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode("CampaignTransfer");
const TRANSFER_KEY = contextKey(CAMPAIGN_TRANSFER);

const NO_LOG: Logger = { debug() {}, info() {}, warn() {} };

const enum CampaignType {
  PreElection = 0,
  Election = 1,
  Transfer = 2,
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}


type Outgoing = Partial<Message> & Pick<Message, "type" | "to">;

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: StateRole = StateRole.Follower;
  readonly raftLog: RaftLog;
  readonly voters: readonly NodeId[];
  readonly observers: readonly NodeId[];
  readonly prs = new Map<NodeId, Progress>();
  /** Outgoing messages since the last Ready that may leave before anything is persisted. */
  msgs: Message[] = [];
  /** Outgoing messages that promise local durable state (acks, votes): sent after the Ready's save. */
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];

  readonly #isVoter: boolean;
  readonly #votes = new Map<NodeId, boolean>();
  readonly #readOnly = new ReadOnly();
  #pendingReadIndexMessages: Message[] = [];
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  #leadTransferee: NodeId = NONE;

  readonly #electionTicks: number;
  readonly #heartbeatTicks: number;
  readonly #preVote: boolean;
  readonly #checkQuorum: boolean;
  readonly #maxMsgSize: number;
  readonly #maxInflight: number;
  readonly #maxEntryBytes: number;
  readonly #maxPendingReads: number;
  readonly #rng: Rng;
  readonly #log: Logger;
  readonly #bugs: TestingBugs;

  constructor(config: RaftConfig) {
    if (!isCount(config.id) || config.id === NONE) throw new Error(`raft: invalid node id ${config.id}`);
    if (!(config.heartbeatTicks >= 1) || !(config.electionTicks > config.heartbeatTicks)) {
      throw new Error("raft: need 1 <= heartbeatTicks < electionTicks");
    }
    this.id = config.id;
    this.#electionTicks = config.electionTicks;
    this.#heartbeatTicks = config.heartbeatTicks;
    this.#preVote = config.preVote ?? true;
    this.#checkQuorum = config.checkQuorum ?? true;
    this.#maxMsgSize = config.maxSizePerMsg ?? 1024 * 1024;
    this.#maxInflight = config.maxInflightMsgs ?? 256;
    this.#maxEntryBytes = config.maxEntryBytes ?? 8 * 1024 * 1024;
    this.#maxPendingReads = config.maxPendingReads ?? 1024;
    this.#rng = config.rng;
    this.#log = config.logger ?? NO_LOG;
    this.#bugs = config.testingBugs ?? {};

    this.raftLog = new RaftLog(config.storage);
    const init = config.storage.initialState();
    this.voters = [...init.voters];
    this.observers = init.observers.filter((id) => !init.voters.includes(id));
    this.#isVoter = this.voters.includes(this.id);

    const hs = init.hardState;
    if (hs.commit > this.raftLog.lastIndex()) {
      throw new Error(`raft: stored commit ${hs.commit} is past the stored log's last index ${this.raftLog.lastIndex()}: the store is corrupt`);
    }
    this.term = hs.term;
    this.vote = hs.vote;
    // A snapshot only ever holds committed entries, so it bounds commit from below even if the
    // hard state written beside it is older.
    const commit = Math.max(hs.commit, this.raftLog.committed);
    this.raftLog.committed = commit;
    if (config.applied !== undefined) {
      if (config.applied > commit) throw new Error(`raft: applied ${config.applied} is past commit ${commit}`);
      this.raftLog.appliedTo(config.applied);
    }
    this.#becomeFollowerOrObserver(this.term, NONE);
  }

  // --- public inputs -------------------------------------------------------------------------

  tick(): void {
    if (this.role === StateRole.Leader) this.#tickHeartbeat();
    else this.#tickElection();
  }

  /** Handles a message. Never throws on bad input: it is logged and dropped. */
  step(m: Message): void {
    const why = validateMessage(m, this.id, (id) => this.prs.has(id));
    if (why !== undefined) {
      this.#log.warn(`raft ${this.id}: dropped ${typeName(m.type)} from ${m.from}: ${why}`);
      return;
    }
    if (m.term === 0) {
      // local message, or a forwarded ReadIndex/TransferLeader (term-less by design)
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = m.context !== undefined && contextKey(m.context) === TRANSFER_KEY;
        const inLease = this.#checkQuorum && this.lead !== NONE && this.#electionElapsed < this.#electionTicks;
        if (!force && inLease) {
          // Raft thesis §4.2.3: a node that hears from a live leader ignores disruptive candidates.
          this.#log.debug(`raft ${this.id}: ignored ${typeName(m.type)} from ${m.from} at term ${m.term}: leader ${this.lead} is in lease`);
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Granted pre-votes carry the term we would campaign at; we bump it when we win.
      } else {
        const lead = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap ? m.from : NONE;
        this.#log.info(`raft ${this.id}: term ${this.term} -> ${m.term} on ${typeName(m.type)} from ${m.from}`);
        this.#becomeFollowerOrObserver(m.term, lead);
      }
    } else if (m.term < this.term) {
      if ((this.#checkQuorum || this.#preVote) && (m.type === MessageType.App || m.type === MessageType.Heartbeat)) {
        // A stale leader (e.g. partitioned away) learns of the newer term and steps down; without
        // this, check-quorum/pre-vote could keep it and a partitioned node locked out forever.
        this.#send({ type: MessageType.AppResp, to: m.from });
      } else if (m.type === MessageType.PreVote) {
        this.#send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      } else {
        this.#log.debug(`raft ${this.id}: ignored ${typeName(m.type)} from ${m.from} with stale term ${m.term} < ${this.term}`);
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.#hup(this.#preVote ? CampaignType.PreElection : CampaignType.Election);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.#handleVote(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case StateRole.Leader:
        this.#stepLeader(m);
        return;
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        this.#stepCandidate(m);
        return;
      case StateRole.Follower:
      case StateRole.Observer:
        this.#stepFollower(m);
        return;
    }
  }

  /** Appends a proposal if this node leads. Returns where it landed; throws if it cannot. */
  propose(data: Uint8Array): ProposalPosition {
    return this.proposeBatch([data])[0]!;
  }

  /** Appends several proposals as one batch (one App per follower instead of one each). */
  proposeBatch(datas: readonly Uint8Array[]): ProposalPosition[] {
    if (this.role !== StateRole.Leader) throw new NotLeaderError(this.lead);
    if (this.#leadTransferee !== NONE) throw new ProposalDroppedError(`leadership is being transferred to ${this.#leadTransferee}`);
    for (const d of datas) {
      if (d.length > this.#maxEntryBytes) throw new EntryTooLargeError(d.length, this.#maxEntryBytes);
    }
    const first = this.raftLog.lastIndex() + 1;
    this.#appendEntries(datas.map((data) => ({ type: EntryType.Normal, data })));
    this.#bcastAppend();
    return datas.map((_, i) => ({ index: first + i, term: this.term }));
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  // --- validation ----------------------------------------------------------------------------



  // --- sending ---------------------------------------------------------------------------------

  #send(partial: Outgoing): void {
    const m: Message = {
      from: this.id,
      term: this.term,
      index: 0,
      logTerm: 0,
      commit: 0,
      entries: [],
      reject: false,
      rejectHint: 0,
      ...partial,
    };
    if (this.#needsPersist(m)) this.msgsAfterPersist.push(m);
    else this.msgs.push(m);
  }

  /**
   * Messages that promise something about this node's disk wait for the Ready's save (thesis
   * §3.8): an append ack promises the entries, a vote or a vote request the term and vote (a
   * candidate's Vote goes out only once its self-vote is durable, so no one can elect it on a
   * vote it may forget). Everything else (Apps, heartbeats and their answers, snapshots,
   * pre-vote requests, reads) leaves at once: App's commit index is a quorum of durable acks, and the
   * leader acks itself only through persisted() (etcd's MsgStorageAppendResp).
   */
  #needsPersist(m: Message): boolean {
    switch (m.type) {
      case MessageType.AppResp:
        return this.#bugs.ackBeforePersist !== true;
      case MessageType.Vote:
      case MessageType.VoteResp:
      case MessageType.PreVoteResp:
        return true;
      default:
        return false;
    }
  }

  /**
   * The shell made entries up to (index, term) and/or a snapshot durable (saves complete in
   * order). A leader counts its own entries toward the quorum only now.
   */
  persisted(entries: { index: number; term: number } | undefined, snapshotIndex: number | undefined): void {
    if (snapshotIndex !== undefined) this.raftLog.stableSnapTo(snapshotIndex);
    if (entries !== undefined) this.raftLog.stableTo(entries.index, entries.term);
    if (this.role !== StateRole.Leader) return;
    const self = this.prs.get(this.id)!;
    // The leader never truncates its own log, so its durable prefix is all of its own entries.
    if (self.maybeUpdate(this.raftLog.stableIndex()) && this.#maybeCommit()) this.#bcastAppend();
  }

  /** Sends an App (or a snapshot) to `to` if flow control allows. Returns whether it sent. */
  #maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.prs.get(to)!;
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: readonly Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      ents = this.raftLog.entriesFrom(pr.next, this.#maxMsgSize);
    } catch (e) {
      if (e instanceof CompactedError) return this.#maybeSendSnapshot(to, pr);
      if (e instanceof UnavailableError) {
        // next is past our log: only a bogus ack could have put it there. Start probing afresh.
        this.#log.warn(`raft ${this.id}: progress of ${to} points past our log (next ${pr.next}); probing again`);
        pr.becomeProbe();
        pr.next = Math.min(pr.next, this.raftLog.lastIndex() + 1);
        return false;
      }
      throw e;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.#send({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed });
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1]!.index : prevIndex);
    return true;
  }

  #maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    let snap;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      this.#log.warn(`raft ${this.id}: snapshot for ${to} unavailable: ${(e as Error).message}`);
      return false;
    }
    if (snap.meta.index === 0) {
      this.#log.warn(`raft ${this.id}: ${to} needs compacted entries but there is no snapshot`);
      return false;
    }
    this.#log.info(`raft ${this.id}: sending snapshot at ${snap.meta.index} (term ${snap.meta.term}) to ${to}`);
    this.#send({ type: MessageType.Snap, to, snapshot: snap });
    pr.becomeSnapshot(snap.meta.index);
    return true;
  }

  #peers(): NodeId[] {
    const out: NodeId[] = [];
    for (const id of this.prs.keys()) if (id !== this.id) out.push(id);
    return out;
  }

  #bcastAppend(): void {
    for (const id of this.#peers()) this.#maybeSendAppend(id, true);
  }

  #bcastHeartbeat(context: Uint8Array | undefined = this.#readOnly.lastPendingContext()): void {
    for (const id of this.#peers()) {
      const pr = this.prs.get(id)!;
      // Never tell a follower to commit past what it is known to hold (Raft §5.3).
      const commit = Math.min(pr.match, this.raftLog.committed);
      this.#send(context === undefined ? { type: MessageType.Heartbeat, to: id, commit } : { type: MessageType.Heartbeat, to: id, commit, context });
    }
  }

  // --- role transitions ----------------------------------------------------------------------

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#randomizedElectionTimeout = this.#electionTicks + this.#rng.int(this.#electionTicks);
    this.#leadTransferee = NONE;
    this.#votes.clear();
    this.prs.clear();
    const next = this.raftLog.lastIndex() + 1;
    for (const id of this.voters) this.prs.set(id, new Progress(next, this.#maxInflight, false));
    for (const id of this.observers) this.prs.set(id, new Progress(next, this.#maxInflight, true));
    const self = this.prs.get(this.id);
    // Only what is durable here counts toward a quorum (entries still being saved are acked
    // through persisted()).
    if (self !== undefined) self.match = this.#bugs.commitUnpersistedSelf === true ? this.raftLog.lastIndex() : this.raftLog.stableIndex();
    this.#readOnly.reset();
    this.#pendingReadIndexMessages = [];
  }

  #becomeFollowerOrObserver(term: number, lead: NodeId): void {
    this.#reset(term);
    this.lead = lead;
    this.role = this.#isVoter ? StateRole.Follower : StateRole.Observer;
  }

  #becomePreCandidate(): void {
    // Pre-vote (thesis §9.6) changes neither term nor vote: a node that cannot win disturbs no one.
    this.#votes.clear();
    this.lead = NONE;
    this.role = StateRole.PreCandidate;
    this.#log.info(`raft ${this.id}: became pre-candidate at term ${this.term}`);
  }

  #becomeCandidate(): void {
    this.#reset(this.term + 1);
    this.vote = this.id;
    this.role = StateRole.Candidate;
    this.#log.info(`raft ${this.id}: became candidate at term ${this.term}`);
  }

  #becomeLeader(): void {
    this.#reset(this.term);
    this.lead = this.id;
    this.role = StateRole.Leader;
    this.prs.get(this.id)!.becomeReplicate();
    // Raft §5.4.2 / §8: a leader commits nothing of earlier terms by counting replicas, so it
    // appends an empty entry of its own term; committing that commits everything before it.
    this.#appendEntries([{ type: EntryType.Empty, data: EMPTY }]);
    this.#log.info(`raft ${this.id}: became leader at term ${this.term}`);
  }

  #hup(t: CampaignType): void {
    if (this.role === StateRole.Leader) return;
    if (!this.#isVoter) {
      this.#log.debug(`raft ${this.id}: observers never campaign`);
      return;
    }
    this.#campaign(t);
  }

  #campaign(t: CampaignType): void {
    let voteType: MessageType;
    let term: number;
    if (t === CampaignType.PreElection) {
      this.#becomePreCandidate();
      voteType = MessageType.PreVote;
      term = this.term + 1;
    } else {
      this.#becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    this.#votes.set(this.id, true);
    const res = voteResult(this.voters, this.#votes);
    if (res === VoteResult.Won) {
      if (t === CampaignType.PreElection) this.#campaign(CampaignType.Election);
      else this.#becomeLeader();
      return;
    }
    const index = this.raftLog.lastIndex();
    const logTerm = this.raftLog.lastTerm();
    for (const id of this.voters) {
      if (id === this.id) continue;
      const base = { type: voteType, to: id, term, index, logTerm };
      this.#send(t === CampaignType.Transfer ? { ...base, context: CAMPAIGN_TRANSFER } : base);
    }
  }

  // --- ticks ---------------------------------------------------------------------------------

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#isVoter && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.step({ type: MessageType.Hup, from: this.id, to: this.id, term: 0, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0 });
    }
  }

  #tickHeartbeat(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#electionTicks) {
      this.#electionElapsed = 0;
      if (this.#checkQuorum && !this.#quorumActive()) {
        // Raft thesis §6.2: a leader that cannot reach a quorum steps down, so clients of a
        // minority partition fail fast instead of waiting on a leader that cannot commit.
        this.#log.warn(`raft ${this.id}: stepped down at term ${this.term}: no quorum heard in ${this.#electionTicks} ticks`);
        this.#becomeFollowerOrObserver(this.term, NONE);
        return;
      }
      if (this.#leadTransferee !== NONE) {
        this.#log.info(`raft ${this.id}: leadership transfer to ${this.#leadTransferee} timed out`);
        this.#leadTransferee = NONE;
      }
    }
    if (this.#heartbeatElapsed >= this.#heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#bcastHeartbeat();
    }
  }

  #quorumActive(): boolean {
    const ok = isQuorum(this.voters, (id) => id === this.id || this.prs.get(id)!.recentActive);
    for (const [id, pr] of this.prs) if (id !== this.id) pr.recentActive = false;
    return ok;
  }

  // --- votes -----------------------------------------------------------------------------------

  #handleVote(m: Message): void {
    const resp = voteRespType(m.type);
    if (!this.voters.includes(m.from)) {
      this.#log.warn(`raft ${this.id}: rejected ${typeName(m.type)} from ${m.from}: not a voter`);
      this.#send({ type: resp, to: m.from, term: this.term, reject: true });
      return;
    }
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.PreVote && m.term > this.term);
    const upToDate = this.#bugs.voteWithoutLogCheck === true || this.raftLog.isUpToDate(m.index, m.logTerm);
    if (this.#isVoter && canVote && upToDate) {
      // Raft §5.2, §5.4.1: one vote per term, only for a candidate at least as up to date.
      this.#send({ type: resp, to: m.from, term: m.term });
      if (m.type === MessageType.Vote) {
        this.#electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.#send({ type: resp, to: m.from, term: this.term, reject: true });
    }
  }

  // --- followers -------------------------------------------------------------------------------

  #stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.#electionElapsed = 0;
        this.lead = m.from;
        this.#handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
      case MessageType.ReadIndex:
        if (this.lead === NONE) {
          this.#log.info(`raft ${this.id}: dropped ${typeName(m.type)}: no leader`);
          return;
        }
        this.msgs.push({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.TimeoutNow:
        if (!this.#isVoter) return;
        // Thesis §3.10: the leader asked us to take over now. No pre-vote: we know there is a leader.
        this.#log.info(`raft ${this.id}: TimeoutNow from ${m.from} at term ${this.term}; campaigning`);
        this.#hup(CampaignType.Transfer);
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context! });
        return;
      default:
        this.#log.debug(`raft ${this.id}: follower ignored ${typeName(m.type)} from ${m.from}`);
    }
  }

  #handleAppend(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.#send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
      return;
    }
    const res = this.raftLog.maybeAppend(m.index, m.logTerm, m.entries);
    if (res === "conflict") {
      this.#log.warn(`raft ${this.id}: dropped App from ${m.from}: it would rewrite committed entries (commit ${this.raftLog.committed})`);
      return;
    }
    if (res !== undefined) {
      // Raft §5.3: commit no further than what this message proves we share with the leader.
      this.raftLog.commitTo(Math.min(m.commit, res));
      this.#send({ type: MessageType.AppResp, to: m.from, index: res });
      return;
    }
    // Fast backtracking: point the leader at the highest index that could possibly match.
    let hint = Math.min(m.index, this.raftLog.lastIndex());
    hint = this.raftLog.findConflictByTerm(hint, m.logTerm);
    const hintTerm = this.raftLog.termOrZero(hint);
    this.#send({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: hint, logTerm: hintTerm });
  }

  #handleHeartbeat(m: Message): void {
    if (m.commit > this.raftLog.lastIndex()) {
      this.#log.warn(`raft ${this.id}: heartbeat from ${m.from} claims commit ${m.commit} past our last index ${this.raftLog.lastIndex()}; ignored`);
    } else {
      this.raftLog.commitTo(m.commit);
    }
    this.#send(m.context === undefined ? { type: MessageType.HeartbeatResp, to: m.from } : { type: MessageType.HeartbeatResp, to: m.from, context: m.context });
  }

  #handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.#restore(s)) {
      this.#log.info(`raft ${this.id}: restored snapshot at ${s.meta.index} (term ${s.meta.term})`);
      this.#send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() });
    } else {
      this.#send({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed });
    }
  }

  #restore(s: Snapshot): boolean {
    if (s.meta.index <= this.raftLog.committed) return false;
    if (this.raftLog.matchTerm(s.meta.index, s.meta.term)) {
      // We already hold the entries the snapshot covers: just commit them.
      this.raftLog.commitTo(s.meta.index);
      return false;
    }
    this.raftLog.restore(s);
    return true;
  }

  // --- candidates ------------------------------------------------------------------------------

  #stepCandidate(m: Message): void {
    const myResp = this.role === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.App:
        this.#becomeFollowerOrObserver(m.term, m.from);
        this.#handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.#becomeFollowerOrObserver(m.term, m.from);
        this.#handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.#becomeFollowerOrObserver(m.term, m.from);
        this.#handleSnapshot(m);
        return;
      case myResp: {
        if (!this.voters.includes(m.from)) return;
        if (!this.#votes.has(m.from)) this.#votes.set(m.from, !m.reject);
        const res = voteResult(this.voters, this.#votes);
        if (res === VoteResult.Won) {
          if (this.role === StateRole.PreCandidate) this.#campaign(CampaignType.Election);
          else {
            this.#becomeLeader();
            this.#bcastAppend();
          }
        } else if (res === VoteResult.Lost) {
          this.#becomeFollowerOrObserver(this.term, NONE);
        }
        return;
      }
      default:
        this.#log.debug(`raft ${this.id}: candidate ignored ${typeName(m.type)} from ${m.from}`);
    }
  }

  // --- leaders ---------------------------------------------------------------------------------

  #appendEntries(es: readonly { type: EntryType; data: Uint8Array }[]): void {
    let index = this.raftLog.lastIndex();
    const ents: Entry[] = es.map((e) => ({ index: ++index, term: this.term, type: e.type, data: e.data }));
    const last = this.raftLog.append(ents);
    // The leader's own copy counts only once durable (persisted()): Apps leave before its save.
    if (this.#bugs.commitUnpersistedSelf === true) {
      this.prs.get(this.id)!.maybeUpdate(last);
      this.#maybeCommit();
    }
  }

  #maybeCommit(): boolean {
    const mci = quorumIndex(this.voters, (id) => this.prs.get(id)!.match);
    const before = this.raftLog.committed;
    let changed: boolean;
    if (this.#bugs.commitPreviousTermByCount === true) {
      changed = mci > before && mci <= this.raftLog.lastIndex();
      if (changed) this.raftLog.commitTo(mci);
    } else {
      changed = this.raftLog.maybeCommit(mci, this.term);
    }
    if (changed && this.#pendingReadIndexMessages.length > 0 && this.committedEntryInCurrentTerm()) {
      const pending = this.#pendingReadIndexMessages;
      this.#pendingReadIndexMessages = [];
      for (const m of pending) this.#handleReadIndex(m);
    }
    return changed;
  }

  #stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.#bcastHeartbeat();
        return;
      case MessageType.ReadIndex:
        this.#handleReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.#handleTransferLeader(m);
        return;
      default:
        break;
    }
    const pr = this.prs.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case MessageType.AppResp:
        this.#handleAppResp(m, pr);
        return;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressState.Probe) this.#maybeSendAppend(m.from, true);
        if (m.context !== undefined) this.#handleReadAck(m.from, m.context);
        return;
      case MessageType.SnapStatus:
        if (pr.state !== ProgressState.Snapshot) return;
        if (m.reject) {
          this.#log.info(`raft ${this.id}: snapshot to ${m.from} failed; probing again`);
          pr.pendingSnapshot = 0;
        }
        // Wait for the follower's answer (or the next heartbeat's) before sending more.
        pr.becomeProbe();
        pr.probeSent = true;
        return;
      case MessageType.Unreachable:
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        return;
      default:
        this.#log.debug(`raft ${this.id}: leader ignored ${typeName(m.type)} from ${m.from}`);
    }
  }

  #handleAppResp(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let probe = m.rejectHint;
      if (m.logTerm > 0) probe = this.raftLog.findConflictByTerm(Math.min(m.rejectHint, this.raftLog.lastIndex()), m.logTerm);
      if (pr.maybeDecrTo(m.index, probe)) {
        if (pr.state === ProgressState.Replicate) pr.becomeProbe();
        this.#maybeSendAppend(m.from, true);
      }
      return;
    }
    if (m.index > this.raftLog.lastIndex()) {
      this.#log.warn(`raft ${this.id}: dropped AppResp from ${m.from}: ack of ${m.index} past our last index ${this.raftLog.lastIndex()}`);
      return;
    }
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
      if (pr.state === ProgressState.Probe) pr.becomeReplicate();
      else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressState.Replicate) pr.inflights.freeLE(m.index);

      if (this.#maybeCommit()) this.#bcastAppend();
      else if (wasPaused) this.#maybeSendAppend(m.from, true);
      // Pipelining: keep sending while the window has room and there is something to send.
      while (this.#maybeSendAppend(m.from, false)) {
        /* sent one more */
      }
      if (m.from === this.#leadTransferee && pr.match === this.raftLog.lastIndex()) {
        this.#log.info(`raft ${this.id}: ${m.from} caught up; sending TimeoutNow`);
        this.#send({ type: MessageType.TimeoutNow, to: m.from });
      }
    }
  }

  #handleTransferLeader(m: Message): void {
    const to = m.from;
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isObserver) {
      this.#log.info(`raft ${this.id}: cannot transfer leadership to ${to}: not a voter`);
      return;
    }
    if (this.#leadTransferee === to || to === this.id) return;
    this.#leadTransferee = to;
    this.#electionElapsed = 0; // the transfer must finish within one election timeout
    this.#log.info(`raft ${this.id}: transferring leadership to ${to}`);
    if (pr.match === this.raftLog.lastIndex()) this.#send({ type: MessageType.TimeoutNow, to });
    else this.#maybeSendAppend(to, true);
  }

  #handleReadIndex(m: Message): void {
    const ctx = m.context!;
    if (this.voters.length === 1) {
      this.#answerRead(m.from, this.raftLog.committed, ctx);
      return;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Thesis §6.4: until it commits an entry of its term the leader does not know the commit index.
      if (this.#pendingReadIndexMessages.length >= this.#maxPendingReads) {
        this.#log.warn(`raft ${this.id}: dropped ReadIndex from ${m.from}: too many pending reads`);
        return;
      }
      this.#pendingReadIndexMessages.push(m);
      return;
    }
    if (!this.#readOnly.add(this.raftLog.committed, ctx, m.from)) return;
    this.#readOnly.recvAck(this.id, ctx);
    this.#bcastHeartbeat(ctx);
  }

  #handleReadAck(from: NodeId, ctx: Uint8Array): void {
    const acks = this.#readOnly.recvAck(from, ctx);
    if (acks === undefined || !isQuorum(this.voters, (id) => acks.has(id))) return;
    for (const rs of this.#readOnly.advance(ctx)) this.#answerRead(rs.from, rs.index, rs.context);
  }

  #answerRead(to: NodeId, index: number, context: Uint8Array): void {
    if (to === this.id || to === NONE) this.readStates.push({ index, context });
    else this.#send({ type: MessageType.ReadIndexResp, to, index, context });
  }

}
