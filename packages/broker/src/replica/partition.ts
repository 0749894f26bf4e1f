// One partition replica on this broker: its log, its role (leader with LeaderState, follower of
// a named leader, or offline), acks=all waiters, and wake-ups for long-polling fetches.
// Contract: only the leader of the current epoch accepts appends; acks=all resolves once the HW
// passes the batch and the ISR has at least minInsyncReplicas members (Kafka semantics);
// a replica that loses leadership fails its waiters with NOT_LEADER_OR_FOLLOWER. A waiter
// belongs to the leader epoch its batch was appended in and is released only by that epoch's
// high watermark: a replica that became a follower (truncating that batch) and then leader
// again must never answer for it (the soak found such acks of records that were gone).
import { BrokerError, Code } from "../errors.js";
import type { PartitionView } from "../metadata/view.js";
import { LeaderState } from "./leader_state.js";
import type { LeaderAppendResult, ReplicaLog } from "./log_port.js";

export type Role =
  | { readonly kind: "offline" }
  | { readonly kind: "leader"; readonly state: LeaderState }
  | { readonly kind: "follower"; readonly leader: number; readonly leaderEpoch: number };

interface AckWaiter {
  readonly requiredOffset: number;
  readonly minIsr: number;
  /** The leader epoch the batch was appended in. */
  readonly leaderEpoch: number;
  readonly resolve: (code: number) => void;
}

export class Partition {
  role: Role = { kind: "offline" };
  view: PartitionView;
  private waiters: AckWaiter[] = [];
  /** Serializes role changes with follower appends/truncation so neither sees the other half-done. */
  private exclusive: Promise<unknown> = Promise.resolve();
  private readonly wakers = new Set<() => void>();

  constructor(
    readonly log: ReplicaLog,
    view: PartitionView,
    readonly localId: number,
    private readonly now: () => number,
  ) {
    this.view = view;
  }

  get topic(): string {
    return this.view.topic;
  }
  get index(): number {
    return this.view.partition;
  }

  leaderHint(): { leader: number; leaderEpoch: number } {
    return { leader: this.view.leader, leaderEpoch: this.view.leaderEpoch };
  }

  leaderState(): LeaderState {
    if (this.role.kind === "offline" && this.storageFailed)
      throw new BrokerError(Code.KAFKA_STORAGE_ERROR, `the log directory of ${this.name()} on broker ${this.localId} is offline`);
    if (this.role.kind !== "leader")
      throw new BrokerError(
        Code.NOT_LEADER_OR_FOLLOWER,
        this.view.leader === this.localId
          ? `broker ${this.localId} is still becoming the leader of ${this.name()} (writing the new leader epoch); retry shortly`
          : `broker ${this.localId} is not the leader of ${this.name()}`,
        this.leaderHint(),
      );
    return this.role.state;
  }

  name(): string {
    return `${this.view.topic}-${this.view.partition}`;
  }

  /** Runs `fn` after every earlier exclusive operation on this replica has finished. */
  runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(fn, fn);
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  isFollowerOf(leaderEpoch: number): boolean {
    return this.role.kind === "follower" && this.role.leaderEpoch === leaderEpoch;
  }

  /** Becomes leader for `view.leaderEpoch`: starts the epoch at the log end (KIP-101). */
  becomeLeader(view: PartitionView): Promise<void> {
    return this.runExclusive(() => this.becomeLeaderNow(view));
  }

  private async becomeLeaderNow(view: PartitionView): Promise<void> {
    this.view = view;
    if (this.storageFailed) return;
    const start = this.log.logEndOffset();
    if (this.log.latestEpoch() < view.leaderEpoch) await this.log.assignEpoch(view.leaderEpoch, start);
    // The directory may have failed while the epoch was being written (another partition's I/O).
    if (this.storageFailed) return;
    // Waiters of an earlier epoch of ours (leader -> leader without a follower turn between).
    this.failWaiters(Code.NOT_LEADER_OR_FOLLOWER);
    this.role = {
      kind: "leader",
      state: new LeaderState({
        localId: this.localId,
        leaderEpoch: view.leaderEpoch,
        partitionEpoch: view.partitionEpoch,
        isr: view.isr,
        replicas: view.replicas,
        epochStartOffset: start,
        highWatermark: this.log.highWatermark(),
        nowMs: this.now(),
      }),
    };
    this.maybeAdvanceHighWatermark();
    this.wakeAll();
  }

  becomeFollower(view: PartitionView): void {
    this.view = view;
    if (this.storageFailed) return;
    this.role = { kind: "follower", leader: view.leader, leaderEpoch: view.leaderEpoch };
    this.failWaiters(Code.NOT_LEADER_OR_FOLLOWER);
    this.wakeAll();
  }

  /** Same leader epoch, new ISR/replicas/partition epoch from the controller. */
  updateLeader(view: PartitionView): void {
    this.view = view;
    if (this.role.kind !== "leader") return;
    this.role.state.applyCommittedIsr(view.isr, view.partitionEpoch, view.replicas, this.now());
    this.maybeAdvanceHighWatermark();
    this.releaseWaiters();
  }

  goOffline(): void {
    this.role = { kind: "offline" };
    this.failWaiters(Code.NOT_LEADER_OR_FOLLOWER);
    this.wakeAll();
  }

  /** Set once the log directory failed: the replica is offline for good (until a restart). */
  storageFailed = false;

  /**
   * The log directory failed. Waiting acks=all produces get KAFKA_STORAGE_ERROR: their batch
   * may be written but not durable here, so it is never acknowledged by this broker.
   */
  failStorage(): void {
    this.storageFailed = true;
    this.role = { kind: "offline" };
    this.failWaiters(Code.KAFKA_STORAGE_ERROR);
    this.wakeAll();
  }

  /**
   * Appends a client batch as leader. For acks=-1 checks the ISR size first
   * (NOT_ENOUGH_REPLICAS) and the returned promise waits for the HW (see waitForAcks).
   */
  async appendAsLeader(records: Buffer, requiredAcks: number, minIsr: number): Promise<LeaderAppendResult & { readonly leaderEpoch: number }> {
    const state = this.leaderState();
    if (requiredAcks === -1 && state.isr.length < minIsr)
      throw new BrokerError(
        Code.NOT_ENOUGH_REPLICAS,
        `${this.name()} has ${state.isr.length} in-sync replicas, min.insync.replicas is ${minIsr}`,
      );
    const result = await this.log.appendAsLeader(records, state.leaderEpoch, () => this.role.kind === "leader" && this.role.state === state);
    this.wakeAll(); // followers long-polling for new data
    // The leader's own copy counts toward the HW only once durable (group commit).
    void this.flushAndAdvance();
    return { ...result, leaderEpoch: state.leaderEpoch };
  }

  private async flushAndAdvance(): Promise<void> {
    try {
      await this.log.flush();
    } catch {
      // A failed flush leaves durableEndOffset behind; waiters time out rather than lie.
      return;
    }
    this.maybeAdvanceHighWatermark();
  }

  /**
   * Resolves with an error code (0 = done) once the HW of leader epoch `leaderEpoch` (the one
   * the batch was appended in) reaches `requiredOffset`, or on timeout; NOT_LEADER_OR_FOLLOWER
   * at once when this replica no longer leads that epoch (the append may have been truncated).
   */
  waitForAcks(requiredOffset: number, minIsr: number, timeoutMs: number, leaderEpoch: number): Promise<number> {
    if (this.role.kind !== "leader" || this.role.state.leaderEpoch !== leaderEpoch)
      return Promise.resolve(this.storageFailed ? Code.KAFKA_STORAGE_ERROR : Code.NOT_LEADER_OR_FOLLOWER);
    return new Promise<number>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: AckWaiter = {
        requiredOffset,
        minIsr,
        leaderEpoch,
        resolve: (code) => {
          if (timer !== undefined) clearTimeout(timer);
          resolve(code);
        },
      };
      this.waiters.push(waiter);
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(Code.REQUEST_TIMED_OUT);
      }, Math.max(0, timeoutMs));
      this.releaseWaiters();
    });
  }

  /** Leader side of a follower fetch: records the follower's position. */
  recordFollowerFetch(replicaId: number, fetchOffset: number, leaderEndOffset: number): void {
    const state = this.leaderState();
    if (!state.updateFollower(replicaId, fetchOffset, leaderEndOffset, this.now()))
      throw new BrokerError(Code.NOT_LEADER_OR_FOLLOWER, `broker ${replicaId} is not a replica of ${this.name()}`);
    this.maybeAdvanceHighWatermark();
  }

  maybeAdvanceHighWatermark(): void {
    if (this.role.kind !== "leader") return;
    if (this.role.state.maybeAdvanceHighWatermark(this.log.durableEndOffset())) {
      this.log.setHighWatermark(this.role.state.highWatermark);
      this.releaseWaiters();
      this.wake();
    }
  }

  /** Follower side: the leader's HW, bounded by what this replica holds durably. */
  followerUpdateHighWatermark(leaderHw: number): void {
    const hw = Math.min(leaderHw, this.log.durableEndOffset());
    if (hw > this.log.highWatermark()) {
      this.log.setHighWatermark(hw);
      this.wake();
    }
  }

  private releaseWaiters(): void {
    if (this.role.kind !== "leader" || this.waiters.length === 0) return;
    const state = this.role.state;
    const hw = state.highWatermark;
    const isrSize = state.isr.length;
    const keep: AckWaiter[] = [];
    for (const w of this.waiters) {
      if (w.leaderEpoch !== state.leaderEpoch) w.resolve(Code.NOT_LEADER_OR_FOLLOWER);
      else if (hw >= w.requiredOffset) w.resolve(isrSize >= w.minIsr ? Code.NONE : Code.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private failWaiters(code: number): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.resolve(code);
  }

  /** Bumped on every wake(): lets a long poll detect a change it raced with (see onChange). */
  changeSeq = 0;

  /**
   * Registers a one-shot wake-up for new data or HW movement; returns its cancel. If anything
   * changed since `seenSeq` (read before the caller looked at the log), fires at once, so a
   * change between the look and the registration is never missed.
   */
  onChange(fn: () => void, seenSeq: number): () => void {
    if (this.changeSeq !== seenSeq) {
      queueMicrotask(fn);
      return () => {};
    }
    this.wakers.add(fn);
    return () => this.wakers.delete(fn);
  }

  wake(): void {
    this.changeSeq++;
    if (this.wakers.size === 0) return;
    const fns = [...this.wakers];
    this.wakers.clear();
    for (const fn of fns) fn();
  }

  /** Bumped on new data and role changes only (not HW moves): see onData. */
  dataSeq = 0;
  private readonly dataWakers = new Set<() => void>();

  /**
   * Like onChange, but fires only on new data or a role change, not when the HW moves: a
   * parked follower fetch has nothing to gain from an HW move (it learns the HW with its next
   * data), and waking it on every one re-ran the whole request once per acknowledged batch
   * per follower.
   */
  onData(fn: () => void, seenSeq: number): () => void {
    if (this.dataSeq !== seenSeq) {
      queueMicrotask(fn);
      return () => {};
    }
    this.dataWakers.add(fn);
    return () => this.dataWakers.delete(fn);
  }

  private wakeAll(): void {
    this.dataSeq++;
    if (this.dataWakers.size > 0) {
      const fns = [...this.dataWakers];
      this.dataWakers.clear();
      for (const fn of fns) fn();
    }
    this.wake();
  }
}
