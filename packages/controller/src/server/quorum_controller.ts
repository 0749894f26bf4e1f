// QuorumController: runs the controller on a RaftNode. One event queue serializes every
// request: it generates records from the latest image (committed plus what this controller
// has proposed and not yet seen committed), proposes them as one Raft entry, and answers
// only after that entry is committed and applied. Proposals are pipelined: the queue does not
// wait for a commit before generating the next request's records. A controller that is not
// the Raft leader answers NotControllerError naming the leader. The active controller also
// runs the periodic session-expiry and preferred-leader tasks.
import { randomBytes, randomUUID } from "node:crypto";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { EntryTooLargeError, NotLeaderError, ProposalDroppedError, RaftNode, type NodeId } from "@brook/raft";
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { ControllerError } from "../errors.js";
import { applyRecords } from "../image/delta.js";
import type { MetadataImage } from "../image/image.js";
import { encodeBatch, rec } from "../image/records.js";
import { ControllerLogic, DEFAULT_LOGIC_CONFIG, type Clock, type ControllerLogicConfig, type ControllerResult } from "../logic/controller_logic.js";
import { MetadataStateMachine } from "./metadata_state_machine.js";

export class NotControllerError extends Error {
  override readonly name = "NotControllerError";
  constructor(
    /** -1 when unknown. */
    readonly leaderId: number,
    /** host:port of the active controller, "" when unknown. */
    readonly leaderAddress: string,
  ) {
    super(leaderId === -1 ? "this node is not the active controller and no leader is known yet; retry shortly" : `this node is not the active controller; send to controller ${leaderId} at ${leaderAddress}`);
  }
}

export interface QuorumControllerOptions {
  readonly id: NodeId;
  /** Every controller voter and its CONTROLLER host:port (Raft and the Controller service share it). */
  readonly voters: ReadonlyMap<NodeId, string>;
  readonly dataDir: string;
  readonly logger: Logger;
  /** The gRPC server the Raft service is added to; the caller adds the Controller service and binds. */
  readonly server: grpc.Server;
  readonly logic?: Partial<ControllerLogicConfig>;
  readonly electionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly snapshotEveryEntries?: number;
  /** How often the active controller looks for expired broker sessions. */
  readonly sessionCheckIntervalMs?: number;
  /** How often it moves leadership back to preferred replicas; 0 disables. */
  readonly leaderRebalanceIntervalMs?: number;
  /** A request whose records are not committed by then fails with REQUEST_TIMED_OUT. */
  readonly requestTimeoutMs?: number;
  readonly clock?: Clock;
  /**
   * The cluster id the first active controller writes into the metadata log (the node's
   * meta.properties id, so brokers, DescribeCluster and the data directories agree); a
   * random UUID when absent. An id already in the log is never replaced.
   */
  readonly clusterId?: string;
}

export class QuorumController {
  readonly #opts: QuorumControllerOptions;
  readonly #raft: RaftNode;
  readonly #sm: MetadataStateMachine;
  readonly #logic: ControllerLogic;
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #active = false;
  /** Committed image plus records proposed by this controller and not yet applied. */
  #pending: MetadataImage;
  #inflight = 0;
  /** Bumped on each activation: callbacks of older proposals leave the pending image alone. */
  #generation = 0;
  #lastProposal: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(opts: QuorumControllerOptions, raft: RaftNode, sm: MetadataStateMachine, logic: ControllerLogic) {
    this.#opts = opts;
    this.#raft = raft;
    this.#sm = sm;
    this.#logic = logic;
    this.#log = opts.logger.child({ component: "controller" });
    this.#pending = sm.image;
    raft.onLeaderChange((leaderId) => this.#leaderChanged(leaderId));
    // A tenth of the session: the check's own delay stays small next to the timeout.
    const check = opts.sessionCheckIntervalMs ?? Math.max(50, Math.floor(logic.config.sessionTimeoutMs / 10));
    this.#timers.push(
      setInterval(
        () =>
          this.#periodic(
            (img) => this.#logic.expireSessions(img),
            "session expiry",
            // Fencing moves leaderships: say so, so flapping on an overloaded host is visible.
            (fenced) => {
              if (fenced.length > 0) this.#log.warn({ brokers: fenced, sessionTimeoutMs: logic.config.sessionTimeoutMs }, `fenced broker(s) ${fenced.join(", ")}: no heartbeat within broker.session.timeout.ms`);
            },
          ),
        check,
      ),
    );
    const rebalance = opts.leaderRebalanceIntervalMs ?? 30_000;
    if (rebalance > 0) this.#timers.push(setInterval(() => this.#periodic((img) => this.#logic.rebalanceLeaders(img), "leader rebalance"), rebalance));
    for (const t of this.#timers) t.unref();
    if (raft.isLeader) this.#leaderChanged(raft.leaderId);
  }

  static async open(opts: QuorumControllerOptions): Promise<QuorumController> {
    const sm = new MetadataStateMachine((offset, err) => opts.logger.error({ offset, err: err.message }, "metadata entry skipped: it contradicts the image"));
    const clock = opts.clock ?? { now: () => Date.now() };
    const logic = new ControllerLogic({ ...DEFAULT_LOGIC_CONFIG, ...opts.logic }, clock, () => randomBytes(16));
    const raft = await RaftNode.open({
      id: opts.id,
      voters: opts.voters,
      dataDir: opts.dataDir,
      stateMachine: sm,
      logger: opts.logger,
      server: opts.server,
      maxEntryBytes: 4 * 1024 * 1024,
      ...(opts.electionTimeoutMs !== undefined ? { electionTimeoutMs: opts.electionTimeoutMs } : {}),
      ...(opts.heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: opts.heartbeatIntervalMs } : {}),
      ...(opts.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: opts.snapshotEveryEntries } : {}),
    });
    return new QuorumController(opts, raft, sm, logic);
  }

  get id(): NodeId {
    return this.#opts.id;
  }
  /** True once this node leads and has committed an entry of its own term. */
  get isActive(): boolean {
    return this.#active;
  }
  get raft(): RaftNode {
    return this.#raft;
  }
  get logic(): ControllerLogic {
    return this.#logic;
  }
  /** The committed image. */
  get image(): MetadataImage {
    return this.#sm.image;
  }
  get stateMachine(): MetadataStateMachine {
    return this.#sm;
  }

  get voterIds(): number[] {
    return [...this.#opts.voters.keys()].sort((a, b) => a - b);
  }

  /** Who to send requests to: this node, the known leader, or -1. */
  leaderHint(): { id: number; address: string } {
    const id = this.#raft.leaderId;
    if (id === 0) return { id: -1, address: "" };
    return { id, address: this.#opts.voters.get(id) ?? "" };
  }

  /**
   * Runs a write request: `generate` sees the latest image and returns records and the
   * response; the response is returned once the records are committed. Throws
   * ControllerError for a rejected request and NotControllerError on a non-active node.
   */
  write<T>(generate: (image: MetadataImage) => ControllerResult<T>): Promise<T> {
    return this.#enqueue(() => {
      this.#requireActive();
      const result = generate(this.#pending);
      if (result.records.length === 0) {
        // Nothing to write, but the answer may rest on records still in flight.
        return { done: this.#lastProposal.then(() => result.response) };
      }
      const committed = this.#propose(result.records);
      return {
        done: committed.then((offset) => {
          result.onCommit?.(offset);
          return result.response;
        }),
      };
    });
  }

  /** A read of the committed image, served only by the active controller. */
  read<T>(f: (image: MetadataImage) => T): Promise<T> {
    return this.#enqueue(() => {
      this.#requireActive();
      return { done: this.#lastProposal.then(() => f(this.#sm.image)) };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#active = false;
    for (const t of this.#timers) clearInterval(t);
    await this.#raft.close();
  }

  #requireActive(): void {
    if (this.#closed) throw new NotControllerError(-1, "");
    if (!this.#active) {
      const h = this.leaderHint();
      throw new NotControllerError(h.id === this.#opts.id ? -1 : h.id, h.id === this.#opts.id ? "" : h.address);
    }
  }

  /** Queue tasks run one at a time; a task's result (`done`) may settle later, after commit. */
  #enqueue<T>(task: () => Promise<{ done: Promise<T> }> | { done: Promise<T> }): Promise<T> {
    const step = this.#queue.then(task);
    this.#queue = step.then(
      () => undefined,
      () => undefined,
    );
    return step.then((s) => s.done);
  }

  #propose(records: readonly MetadataRecord[]): Promise<number> {
    this.#pending = applyRecords(this.#pending, records, this.#pending.offset, this.#pending.epoch);
    const gen = this.#generation;
    this.#inflight++;
    // Pending-image bookkeeping follows Raft's own outcome, never our timeout: an entry that
    // timed out may still commit, so the image we generate from must keep it.
    const settled = this.#raft.propose(encodeBatch(records)).then(
      ({ index }) => {
        if (gen === this.#generation && --this.#inflight === 0) this.#pending = this.#sm.image;
        const why = this.#sm.rejection(index);
        if (why !== undefined) throw new ControllerError("UNKNOWN_SERVER_ERROR", `the metadata change could not be applied and was skipped: ${why}`);
        return index;
      },
      (err: unknown) => {
        if (gen === this.#generation) {
          this.#inflight--;
          if (err instanceof NotLeaderError || err instanceof ProposalDroppedError) {
            // Leadership is gone; nothing more is generated until a re-activation rebases.
            this.#active = false;
            this.#pending = this.#sm.image;
          }
        }
        if (err instanceof NotLeaderError) throw new NotControllerError(err.leaderId === 0 ? -1 : err.leaderId, err.leaderAddress ?? "");
        if (err instanceof ProposalDroppedError) {
          const h = this.leaderHint();
          throw new NotControllerError(h.id === this.#opts.id ? -1 : h.id, h.id === this.#opts.id ? "" : h.address);
        }
        if (err instanceof EntryTooLargeError) {
          throw new ControllerError("POLICY_VIOLATION", `the request's metadata records are too large for one log entry (${err.message}); split the request`);
        }
        throw err;
      },
    );
    this.#lastProposal = settled.catch(() => undefined);
    const timeoutMs = this.#opts.requestTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      settled,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ControllerError("REQUEST_TIMED_OUT", `metadata change not committed within ${timeoutMs} ms (no quorum?); its outcome is unknown, check and retry`)), timeoutMs);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }

  #leaderChanged(leaderId: NodeId): void {
    if (leaderId !== this.#opts.id) {
      if (this.#active) this.#log.info({ leaderId }, "no longer the active controller");
      this.#active = false;
      this.#pending = this.#sm.image;
      return;
    }
    const term = this.#raft.term;
    void this.#enqueue(async () => {
      await this.#activate(term);
      return { done: Promise.resolve() };
    });
  }

  async #activate(term: number): Promise<void> {
    {
      if (this.#closed || !this.#raft.isLeader || this.#raft.term !== term) return;
      try {
        // Committing an entry of our own term commits (and applies) everything before it.
        await this.#bounded(this.#raft.propose(encodeBatch([rec({ $case: "noOp", noOp: {} })])));
        const first = this.#logic.activationRecords(this.#sm.image, () => this.#opts.clusterId ?? randomUUID());
        if (first.length > 1) await this.#bounded(this.#raft.propose(encodeBatch(first.slice(0, -1))));
        if (!this.#raft.isLeader || this.#raft.term !== term) return;
        this.#generation++;
        this.#pending = this.#sm.image;
        this.#inflight = 0;
        this.#logic.becameActive(this.#sm.image);
        this.#active = true;
        this.#log.info({ term, offset: this.#sm.image.offset }, "active controller");
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, "could not become the active controller");
        // Still leader of the same term (e.g. a timeout without quorum): try again later.
        const retry = setTimeout(() => {
          if (!this.#closed && !this.#active && this.#raft.isLeader && this.#raft.term === term) this.#leaderChanged(this.#opts.id);
        }, 500);
        retry.unref();
      }
    }
  }

  /** Activation must not hold the queue long: a stuck attempt is abandoned and retried. */
  #bounded<T>(p: Promise<T>): Promise<T> {
    const ms = Math.min(this.#opts.requestTimeoutMs ?? 15_000, 3_000);
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ControllerError("REQUEST_TIMED_OUT", `not committed within ${ms} ms`)), ms);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }

  #periodic<T>(task: (image: MetadataImage) => ControllerResult<T>, what: string, done?: (result: T) => void): void {
    if (!this.#active) return;
    this.write((img) => task(img)).then(done, (err: unknown) => {
      if (!(err instanceof NotControllerError)) this.#log.warn({ err: (err as Error).message }, `${what} failed`);
    });
  }
}
