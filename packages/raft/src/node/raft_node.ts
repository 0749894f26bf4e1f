// RaftNode: the shell that runs one Raft core with real time, real disk and a real network.
// It owns the only timer (the tick), the Ready pipeline, the waiters of callers' proposals and
// reads, and local snapshots.
//
// The Ready pipeline (etcd-raft's asynchronous storage writes; Raft thesis §10.2.1):
//   take   whenever the core has a Ready, take it at once, even while earlier saves are in
//          flight: send rd.messages (Apps, heartbeats, ... : nothing that promises our disk),
//          queue rd.committedEntries (committed and already durable here) for applying, and
//          queue rd for saving
//   save   one storage write at a time; every Ready queued while one is in flight goes into
//          the next write together (group commit: one level batch, one fsync); when it lands,
//          each of its Readys in order: send rd.messagesAfterPersist (acks and votes, thesis
//          §3.8), restore a received snapshot, core.persisted(rd) (a leader counts its own
//          entries toward commit only now)
//   apply  one at a time, in order: apply entries, resolve proposals and reads, core.applied,
//          and every `snapshotEveryEntries` applied entries snapshot the state machine and
//          compact (the old entries are deleted in the background, off this path)
// A commit is applied as soon as it is known: it never waits for an unrelated fsync.
//
// Timing: one tick per heartbeatIntervalMs, a heartbeat every tick; by default a tenth of the
// election timeout (etcd's ratio; at least 20 ms), so 30 ms at the default electionTimeoutMs of
// 300 ms and 100 ms at the server's 1,000 ms. (A fixed 20 ms tick had an idle three-node
// cluster wake each node ~450 times a second, ~5% of a core each on this VM.) Elections are
// randomized by the core in [1x, 2x) of the timeout. With pre-vote and check-quorum a node that
// loses its leader campaigns after 300-600 ms, so re-election plus the first commit lands well
// under 1 s, while a 300 ms lease still spans ten heartbeats: event-loop stalls on a busy
// machine rarely reach it (no flapping). Commit latency does not wait on heartbeats: commits
// are sent at once, and ReadIndex sends its own heartbeat round.
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { NotLeaderError as CoreNotLeaderError } from "../core/errors.js";
import { RawNode } from "../core/raw_node.js";
import {
  EntryType,
  StateRole,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftStatus,
  type Ready,
  type Snapshot,
} from "../core/types.js";
import { LevelStorage } from "../storage/level_storage.js";
import { takeBatch, type SaveBatch } from "./save_batch.js";
import { CaughtUpTracker } from "./caught_up.js";
import { GrpcTransport } from "../transport/grpc_transport.js";
import { NotLeaderError, ProposalOutcomeUnknownError, RaftNodeClosedError, RaftTimeoutError } from "./errors.js";
import { ProposalDroppedError } from "../core/errors.js";
import type { StateMachine } from "./state_machine.js";

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Every voter (this node included when it votes) and its Raft host:port. */
  readonly voters: ReadonlyMap<NodeId, string>;
  /** Non-voting members that follow the committed log (brokers on the metadata log). */
  readonly observers?: ReadonlyMap<NodeId, string>;
  readonly dataDir: string;
  readonly stateMachine: StateMachine;
  readonly logger: Logger;
  /** Register the Raft service on this server (the caller binds it), or ... */
  readonly server?: grpc.Server;
  /** ... listen on this address with a server of our own (e.g. "0.0.0.0:9093"). */
  readonly listen?: string;
  /** Default 300 ms. */
  readonly electionTimeoutMs?: number;
  /** The tick: how often the leader heartbeats. Default a tenth of electionTimeoutMs, at least 20 ms. */
  readonly heartbeatIntervalMs?: number;
  readonly snapshotEveryEntries?: number;
  readonly maxEntryBytes?: number;
  /** Deadline for readIndex() and transferLeadership(). */
  readonly requestTimeoutMs?: number;
  /** Uniform [0, 1); seeds the core's election jitter and the transport's backoff. */
  readonly random?: () => number;
}

export interface RaftNodeStatus extends RaftStatus {
  readonly isLeader: boolean;
  readonly snapshotIndex: number;
  readonly firstIndex: number;
  /** Synced storage batches so far; with group commit, far fewer than entries. */
  readonly syncedWrites: number;
}

interface ProposalWaiter {
  readonly term: number;
  readonly resolve: (pos: { index: number; term: number }) => void;
  readonly reject: (err: Error) => void;
}

interface ReadWaiter {
  /** Set once the leader has confirmed the read index. */
  index?: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class RaftNode {
  readonly #opts: RaftNodeOptions;
  readonly #core: RawNode;
  readonly #storage: LevelStorage;
  readonly #transport: GrpcTransport;
  readonly #log: Logger;
  readonly #addresses: ReadonlyMap<NodeId, string>;
  readonly #requestTimeoutMs: number;
  readonly #snapshotEvery: number;
  readonly #timer: NodeJS.Timeout;
  readonly #proposals = new Map<number, ProposalWaiter>();
  readonly #reads = new Map<string, ReadWaiter>();
  readonly #leaderListeners = new Set<(leaderId: NodeId, term: number) => void>();
  #readSeq = 0;
  #lead: NodeId = 0;
  #role: StateRole = StateRole.Follower;
  #term = 0;
  #applied: number;
  #takeScheduled = false;
  #closed: string | undefined;
  /** Readys taken but not yet handed to storage, oldest first. */
  readonly #saveQueue: Ready[] = [];
  /** The storage write in flight (with the Readys it covers), if any. */
  #saving: Promise<void> | undefined;
  /** Applies, restores and local snapshots, chained in log order. */
  #applyChain: Promise<void> = Promise.resolve();
  /** Last log index handed out for saving so far (to spot Readys that overwrite entries). */
  #lastTaken: number;
  #compacting: Promise<void> | undefined;
  /** A commit-only hard state not yet written; saved with the next write. */
  #deferredHardState: HardState | undefined;
  /** While leading: when each member was last level with this log (see replication()). */
  readonly #caughtUp = new CaughtUpTracker();

  private constructor(opts: RaftNodeOptions, storage: LevelStorage, core: RawNode, transport: GrpcTransport, applied: number) {
    this.#opts = opts;
    this.#storage = storage;
    this.#core = core;
    this.#transport = transport;
    this.#applied = applied;
    this.#lastTaken = storage.lastIndex();
    this.#log = opts.logger.child({ component: "raft-node", node: opts.id });
    this.#addresses = new Map([...(opts.observers ?? []), ...opts.voters]);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.#snapshotEvery = opts.snapshotEveryEntries ?? 10_000;
    const st = core.status();
    this.#term = st.term;
    this.#timer = setInterval(() => {
      if (this.#closed !== undefined) return;
      this.#sampleReplication();
      this.#core.tick();
      this.#kick();
    }, heartbeatIntervalMs(opts));
    this.#timer.unref();
  }

  /** Opens storage, restores the state machine from the stored snapshot, and starts. */
  static async open(opts: RaftNodeOptions): Promise<RaftNode> {
    const heartbeatMs = heartbeatIntervalMs(opts);
    const electionMs = opts.electionTimeoutMs ?? DEFAULT_ELECTION_MS;
    if (electionMs < 2 * heartbeatMs) throw new RangeError("electionTimeoutMs must be at least twice heartbeatIntervalMs");
    const observers = opts.observers ?? new Map<NodeId, string>();
    const storage = await LevelStorage.open(opts.dataDir, { voters: [...opts.voters.keys()], observers: [...observers.keys()] });
    let transport: GrpcTransport | undefined;
    try {
      const snap = storage.snapshot();
      if (snap.meta.index > 0) await opts.stateMachine.restore(snap);
      const random = opts.random ?? Math.random;
      const log = opts.logger.child({ component: "raft-core", node: opts.id });
      const core = new RawNode({
        id: opts.id,
        electionTicks: Math.round(electionMs / heartbeatMs),
        heartbeatTicks: 1,
        storage,
        rng: { int: (n) => Math.floor(random() * n) },
        logger: { debug: (m) => log.debug(m), info: (m) => log.info(m), warn: (m) => log.warn(m) },
        applied: snap.meta.index,
        maxEntryBytes: opts.maxEntryBytes ?? 1024 * 1024,
        maxSizePerMsg: 1024 * 1024,
        maxInflightMsgs: 256,
        preVote: true,
        checkQuorum: true,
      });
      let node: RaftNode | undefined;
      const peers = new Map([...observers, ...opts.voters]);
      peers.delete(opts.id);
      transport = await GrpcTransport.start({
        id: opts.id,
        peers,
        logger: opts.logger,
        random,
        ...(opts.server !== undefined ? { server: opts.server } : {}),
        ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
        handler: {
          // Messages arriving before the constructor below finishes are dropped; Raft retries.
          onMessage: (m) => {
            if (node !== undefined) node.#step(m);
          },
          onUnreachable: (p) => {
            if (node !== undefined) node.#report(() => core.reportUnreachable(p));
          },
          onSnapshotStatus: (p, ok) => {
            if (node !== undefined) node.#report(() => core.reportSnapshot(p, ok));
          },
        },
      });
      node = new RaftNode(opts, storage, core, transport, snap.meta.index);
      node.#log.info({ term: core.status().term, commit: core.status().commit, snapshot: snap.meta.index, lastIndex: storage.lastIndex() }, "raft node open");
      node.#kick();
      return node;
    } catch (err) {
      await transport?.close();
      await storage.close();
      throw err;
    }
  }

  /** The port of the node's own server, when it was opened with `listen`. */
  get port(): number | undefined {
    return this.#transport.port;
  }

  get id(): NodeId {
    return this.#opts.id;
  }

  get leaderId(): NodeId {
    return this.#lead;
  }

  /** host:port of the current leader's Raft endpoint, when one is known. */
  get leaderAddress(): string | undefined {
    return this.#addresses.get(this.#lead);
  }

  get isLeader(): boolean {
    return this.#role === StateRole.Leader;
  }

  get term(): number {
    return this.#term;
  }

  get commitIndex(): number {
    return this.#core.status().commit;
  }

  get appliedIndex(): number {
    return this.#applied;
  }

  status(): RaftNodeStatus {
    const st = this.#core.status();
    return { ...st, applied: this.#applied, isLeader: this.isLeader, snapshotIndex: this.#storage.snapshot().meta.index, firstIndex: this.#storage.firstIndex(), syncedWrites: this.#storage.syncedWrites };
  }

  /**
   * While this node leads: per member (voters, observers and itself), the highest log index
   * known to be in its log and how long ago its log was last level with this one (-1: not
   * since this node began leading). Empty on a node that does not lead. For DescribeQuorum.
   */
  replication(): ReadonlyMap<NodeId, { readonly match: number; readonly observer: boolean; readonly lastCaughtUpMsAgo: number }> {
    const now = performance.now();
    this.#sampleReplication(now);
    const out = new Map<NodeId, { match: number; observer: boolean; lastCaughtUpMsAgo: number }>();
    for (const [id, p] of this.#core.progress()) out.set(id, { match: p.match, observer: p.observer, lastCaughtUpMsAgo: this.#caughtUp.msAgo(id, now) });
    return out;
  }

  #sampleReplication(now = performance.now()): void {
    const progress = this.#core.progress();
    if (progress.size === 0) this.#caughtUp.reset();
    else this.#caughtUp.sample(now, this.#core.status().lastIndex, progress);
  }

  /**
   * Replicates `data`; resolves once it is committed AND applied here. Rejects with
   * NotLeaderError (naming the leader and its address) when this node does not lead,
   * EntryTooLargeError, ProposalDroppedError (leadership changed and the entry was replaced,
   * or the leader is busy transferring), or RaftNodeClosedError.
   */
  propose(data: Uint8Array): Promise<{ index: number; term: number }> {
    if (this.#closed !== undefined) return Promise.reject(new RaftNodeClosedError(this.#closed));
    let pos: { index: number; term: number };
    try {
      pos = this.#core.propose(data);
    } catch (err) {
      return Promise.reject(this.#translate(err));
    }
    this.#kick();
    // An older waiter at this index lost its entry to a truncation it has not seen applied yet.
    this.#proposals.get(pos.index)?.reject(new ProposalDroppedError(`entry ${pos.index} was replaced`));
    return new Promise((resolve, reject) => this.#proposals.set(pos.index, { term: pos.term, resolve, reject }));
  }

  /**
   * Linearizable read barrier (Raft thesis §6.4): resolves once this node has applied
   * everything committed before the call, as confirmed by a quorum-backed leader.
   */
  readIndex(): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(new RaftNodeClosedError(this.#closed));
    if (this.#lead === 0) return Promise.reject(new NotLeaderError(0, undefined));
    const ctx = new Uint8Array(12);
    const view = new DataView(ctx.buffer);
    view.setUint32(0, this.#opts.id);
    view.setFloat64(4, ++this.#readSeq);
    const key = Buffer.from(ctx).toString("hex");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#reads.delete(key);
        reject(new RaftTimeoutError("readIndex", this.#requestTimeoutMs));
      }, this.#requestTimeoutMs);
      this.#reads.set(key, { resolve, reject, timer });
      this.#core.readIndex(ctx);
      this.#kick();
    });
  }

  /** Hands leadership to `to` (thesis §3.10); resolves once `to` leads. */
  transferLeadership(to: NodeId): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(new RaftNodeClosedError(this.#closed));
    if (this.#lead === to) return Promise.resolve();
    if (!this.isLeader) return Promise.reject(new NotLeaderError(this.#lead, this.#addresses.get(this.#lead)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new RaftTimeoutError(`transferring leadership to ${to}`, this.#requestTimeoutMs));
      }, this.#requestTimeoutMs);
      const off = this.onLeaderChange((lead) => {
        if (lead !== to) return;
        clearTimeout(timer);
        off();
        resolve();
      });
      this.#core.transferLeader(to);
      this.#kick();
    });
  }

  /** Called with (leaderId, term) whenever either changes; leaderId 0 = no leader known. */
  onLeaderChange(cb: (leaderId: NodeId, term: number) => void): () => void {
    this.#leaderListeners.add(cb);
    return () => this.#leaderListeners.delete(cb);
  }

  async close(): Promise<void> {
    if (this.#closed !== undefined) {
      await this.#quiesce();
      return;
    }
    this.#shutdown("closed");
    await this.#quiesce();
    await this.#transport.close();
    await this.#storage.close();
  }

  // ---- internals ----

  #step(m: Message): void {
    if (this.#closed !== undefined) return;
    this.#core.step(m);
    this.#kick();
  }

  #report(fn: () => void): void {
    if (this.#closed !== undefined) return;
    fn();
    this.#kick();
  }

  /** Schedules taking Readys; setImmediate lets a burst of proposals land in one Ready. */
  #kick(): void {
    if (this.#takeScheduled || this.#closed !== undefined) return;
    this.#takeScheduled = true;
    setImmediate(() => {
      this.#takeScheduled = false;
      this.#drain();
    });
  }

  #drain(): void {
    try {
      while (this.#closed === undefined && this.#core.hasReady()) this.#take(this.#core.ready());
      this.#pumpSaves();
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Everything of `rd` that need not wait for its save; the rest is queued. */
  #take(rd: Ready): void {
    if (rd.softState !== undefined || rd.hardState !== undefined) this.#noteLeadership(rd);
    this.#dropOverwrittenProposals(rd);
    if (rd.snapshot !== undefined) this.#lastTaken = rd.snapshot.meta.index;
    if (rd.entries.length > 0) this.#lastTaken = rd.entries[rd.entries.length - 1]!.index;
    if (rd.messages.length > 0) this.#transport.send(rd.messages);
    for (const rs of rd.readStates) {
      const w = this.#reads.get(Buffer.from(rs.context).toString("hex"));
      if (w !== undefined) w.index = rs.index;
    }
    if (rd.committedEntries.length > 0) {
      this.#chainApply(async () => {
        await this.#apply(rd.committedEntries);
        this.#core.applied(rd);
        await this.#maybeSnapshot();
      });
    } else if (rd.readStates.length > 0) {
      this.#settleReads();
    }
    this.#saveQueue.push(rd);
  }

  /** Starts the next storage write if none is in flight. */
  #pumpSaves(): void {
    if (this.#saving !== undefined || this.#saveQueue.length === 0 || this.#closed !== undefined) return;
    const batch = takeBatch(this.#saveQueue);
    this.#saving = this.#save(batch).then(
      () => {
        this.#saving = undefined;
        if (this.#closed !== undefined) return;
        for (const rd of batch.readys) this.#persisted(rd);
        // At once rather than through #kick: a commit this save completed is applied now.
        this.#drain();
      },
      (err: unknown) => {
        this.#saving = undefined;
        this.#fail(err);
      },
    );
  }

  async #save(batch: SaveBatch): Promise<void> {
    // The commit index is volatile state in Raft (§5, Figure 2): persisting it only speeds up
    // replay after a restart. A batch that changes nothing but commit therefore writes nothing;
    // the newest commit rides along with the next write instead.
    const durable = this.#storage.hardState();
    const hs = batch.hardState ?? this.#deferredHardState;
    const commitOnly = hs !== undefined && hs.term === durable.term && hs.vote === durable.vote;
    if (batch.snapshot === undefined && batch.entries.length === 0 && (hs === undefined || commitOnly)) {
      if (hs !== undefined) this.#deferredHardState = hs;
      return;
    }
    await this.#storage.save(hs, batch.entries, batch.snapshot, batch.mustSync);
    this.#deferredHardState = undefined;
  }

  /** `rd` is durable: what waited for that may happen now. */
  #persisted(rd: Ready): void {
    if (rd.messagesAfterPersist.length > 0) this.#transport.send(rd.messagesAfterPersist);
    if (rd.snapshot !== undefined) {
      const snap = rd.snapshot;
      this.#chainApply(async () => {
        await this.#installSnapshot(snap);
        this.#core.applied(rd);
      });
    }
    this.#core.persisted(rd);
  }

  #chainApply(work: () => Promise<void>): void {
    this.#applyChain = this.#applyChain.then(async () => {
      if (this.#closed !== undefined) return;
      try {
        await work();
      } catch (err) {
        this.#fail(err);
        return;
      }
      this.#settleReads();
      this.#kick();
    });
  }

  /** Storage or the state machine failed: continuing could ack what is not durable. */
  #fail(err: unknown): void {
    if (this.#closed !== undefined) return;
    this.#log.error({ err }, "raft node stopping after a failure in the Ready pipeline");
    this.#shutdown(`failure: ${(err as Error).message}`);
    void this.#transport.close();
  }

  /** Waits for the write, applies and compaction in flight (so level is not closed under them). */
  async #quiesce(): Promise<void> {
    for (;;) {
      const saving = this.#saving;
      const compacting = this.#compacting;
      const chain = this.#applyChain;
      await Promise.allSettled([saving, compacting, chain]);
      if (saving === this.#saving && compacting === this.#compacting && chain === this.#applyChain) return;
    }
  }

  #noteLeadership(rd: Ready): void {
    const lead = rd.softState?.lead ?? this.#lead;
    const term = rd.hardState?.term ?? this.#term;
    if (rd.softState !== undefined) this.#role = rd.softState.role;
    if (lead === this.#lead && term === this.#term) return;
    const changedLead = lead !== this.#lead;
    this.#lead = lead;
    this.#term = term;
    if (changedLead) this.#log.info({ lead, term, role: this.#role }, "leader changed");
    for (const cb of [...this.#leaderListeners]) {
      try {
        cb(lead, term);
      } catch (err) {
        this.#log.warn({ err }, "onLeaderChange listener threw");
      }
    }
  }

  /**
   * A new leader's entries replaced our log from some index on (or a snapshot replaced all of
   * it). Proposals whose entry is gone can never be applied at their index with their term, and
   * if the new log is shorter no entry may reach that index for a long time: fail them now.
   */
  #dropOverwrittenProposals(rd: Ready): void {
    if (this.#proposals.size === 0) return;
    const first = rd.entries[0]?.index;
    const from = rd.snapshot !== undefined ? rd.snapshot.meta.index + 1 : first !== undefined && first <= this.#lastTaken ? first : undefined;
    if (from === undefined) return;
    for (const [index, w] of this.#proposals) {
      if (index < from) continue;
      const e = first === undefined ? undefined : rd.entries[index - first];
      if (e !== undefined && e.term === w.term) continue;
      this.#proposals.delete(index);
      w.reject(new ProposalDroppedError(`entry ${index} was overwritten by a newer leader's log`));
    }
  }

  async #installSnapshot(snap: Snapshot): Promise<void> {
    await this.#opts.stateMachine.restore(snap);
    this.#applied = snap.meta.index;
    for (const [index, w] of this.#proposals) {
      if (index > snap.meta.index) continue;
      this.#proposals.delete(index);
      w.reject(new ProposalOutcomeUnknownError(index));
    }
    this.#log.info({ index: snap.meta.index, term: snap.meta.term }, "restored snapshot from leader");
  }

  async #apply(entries: readonly Entry[]): Promise<void> {
    const normal = entries.filter((e) => e.type === EntryType.Normal);
    if (normal.length > 0) await this.#opts.stateMachine.apply(normal);
    this.#applied = entries[entries.length - 1]!.index;
    if (this.#proposals.size === 0) return;
    for (const e of entries) {
      const w = this.#proposals.get(e.index);
      if (w === undefined) continue;
      this.#proposals.delete(e.index);
      if (e.term === w.term) w.resolve({ index: e.index, term: e.term });
      else w.reject(new ProposalDroppedError(`entry ${e.index} was replaced by a leader of term ${e.term}`));
    }
  }

  #settleReads(): void {
    for (const [key, w] of this.#reads) {
      if (w.index === undefined || w.index > this.#applied) continue;
      this.#reads.delete(key);
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /**
   * Every `snapshotEveryEntries` applied entries: take the state machine's snapshot here, in the
   * apply chain (its contract: never concurrent with apply), then store it and compact the log
   * without holding up applies; storage deletes the compacted entries in the background.
   */
  async #maybeSnapshot(): Promise<void> {
    if (this.#compacting !== undefined) return;
    const prev = this.#storage.snapshot().meta;
    if (this.#applied - prev.index < this.#snapshotEvery) return;
    const index = this.#applied;
    const term = this.#storage.term(index);
    const data = await this.#opts.stateMachine.snapshot();
    const started = performance.now();
    this.#compacting = this.#storage.compact({ meta: { index, term, voters: prev.voters, observers: prev.observers }, data }).then(
      () => {
        this.#compacting = undefined;
        this.#log.debug({ index, bytes: data.byteLength, ms: performance.now() - started }, "took snapshot and compacted the log");
      },
      (err: unknown) => {
        this.#compacting = undefined;
        this.#fail(err);
      },
    );
  }

  #translate(err: unknown): Error {
    if (err instanceof CoreNotLeaderError) return new NotLeaderError(err.leader, this.#addresses.get(err.leader));
    return err as Error;
  }

  #shutdown(reason: string): void {
    this.#closed = reason;
    clearInterval(this.#timer);
    for (const w of this.#proposals.values()) w.reject(new RaftNodeClosedError(reason));
    this.#proposals.clear();
    for (const w of this.#reads.values()) {
      clearTimeout(w.timer);
      w.reject(new RaftNodeClosedError(reason));
    }
    this.#reads.clear();
  }
}

const DEFAULT_ELECTION_MS = 300;

/** The tick and heartbeat period: as given, else a tenth of the election timeout (>= 20 ms). */
function heartbeatIntervalMs(opts: RaftNodeOptions): number {
  return opts.heartbeatIntervalMs ?? Math.max(20, Math.round((opts.electionTimeoutMs ?? DEFAULT_ELECTION_MS) / 10));
}
