// Pure leader-side replication state of one partition (Kafka's Partition + ReplicaState):
// what each follower has, the high watermark, and which replicas should leave or join the ISR.
// No clock or I/O: callers pass `nowMs`. Contract:
//  - HW = min over the *maximal* ISR (committed ISR plus a pending expansion, and a pending
//    shrink still counted) of each member's log end offset; the leader counts with its own
//    durable end offset. The HW never moves backwards while this object lives.
//  - A follower is caught up at a fetch when it asked for the leader's end offset as of that
//    moment; it lags when it has not been caught up for `replicaLagTimeMaxMs` (Kafka KIP-16).

export interface FollowerProgress {
  readonly replicaId: number;
  logEndOffset: number; // -1 until the first fetch
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  lastFetchLeaderLogEndOffset: number;
}

export interface PendingIsrChange {
  readonly isr: readonly number[];
}

export class LeaderState {
  readonly localId: number;
  readonly leaderEpoch: number;
  partitionEpoch: number;
  isr: readonly number[];
  replicas: readonly number[];
  /** An AlterPartition in flight; null when none. */
  pendingIsr: PendingIsrChange | null = null;
  /** Told of every committed ISR change (metrics); set by whoever owns the partition. */
  onIsrChange: ((before: readonly number[], after: readonly number[]) => void) | null = null;
  /** The leader's end offset when this epoch began: a follower must reach it to rejoin. */
  readonly epochStartOffset: number;
  private hw: number;
  private readonly followers = new Map<number, FollowerProgress>();

  constructor(args: {
    localId: number;
    leaderEpoch: number;
    partitionEpoch: number;
    isr: readonly number[];
    replicas: readonly number[];
    epochStartOffset: number;
    highWatermark: number;
    nowMs: number;
  }) {
    this.localId = args.localId;
    this.leaderEpoch = args.leaderEpoch;
    this.partitionEpoch = args.partitionEpoch;
    this.isr = args.isr;
    this.replicas = args.replicas;
    this.epochStartOffset = args.epochStartOffset;
    this.hw = args.highWatermark;
    for (const id of args.replicas) {
      if (id === args.localId) continue;
      // Kafka gives ISR members a fresh caught-up time on election so they are not dropped
      // before they had a chance to fetch.
      const inIsr = args.isr.includes(id);
      this.followers.set(id, {
        replicaId: id,
        logEndOffset: -1,
        lastCaughtUpTimeMs: inIsr ? args.nowMs : 0,
        lastFetchTimeMs: inIsr ? args.nowMs : 0,
        lastFetchLeaderLogEndOffset: -1,
      });
    }
  }

  get highWatermark(): number {
    return this.hw;
  }

  follower(id: number): FollowerProgress | undefined {
    return this.followers.get(id);
  }

  /** ISR for HW and acks purposes (Kafka's "maximal ISR", KIP-497). */
  maximalIsr(): readonly number[] {
    if (this.pendingIsr === null) return this.isr;
    const union = new Set([...this.isr, ...this.pendingIsr.isr]);
    return [...union];
  }

  /**
   * Records a follower fetch at `fetchOffset` while the leader's end offset was
   * `leaderLogEndOffset`. Returns false for a replica not assigned to this partition.
   */
  updateFollower(id: number, fetchOffset: number, leaderLogEndOffset: number, nowMs: number): boolean {
    const f = this.followers.get(id);
    if (f === undefined) return false;
    if (fetchOffset >= leaderLogEndOffset) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset && f.lastFetchLeaderLogEndOffset >= 0)
      f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    f.logEndOffset = fetchOffset;
    f.lastFetchTimeMs = nowMs;
    f.lastFetchLeaderLogEndOffset = leaderLogEndOffset;
    return true;
  }

  /**
   * Recomputes the HW from the maximal ISR with the leader's own (durable) end offset.
   * Returns true when it advanced. An ISR member that has not fetched yet holds it still.
   */
  maybeAdvanceHighWatermark(leaderEndOffset: number): boolean {
    let min = leaderEndOffset;
    for (const id of this.maximalIsr()) {
      if (id === this.localId) continue;
      const f = this.followers.get(id);
      if (f === undefined) continue; // not a replica any more; the controller will drop it
      min = Math.min(min, f.logEndOffset);
    }
    if (min > this.hw) {
      this.hw = min;
      return true;
    }
    return false;
  }

  /** ISR members other than the leader that have not caught up within `lagMaxMs`. */
  laggingIsrMembers(nowMs: number, lagMaxMs: number): number[] {
    const out: number[] = [];
    for (const id of this.isr) {
      if (id === this.localId) continue;
      const f = this.followers.get(id);
      if (f !== undefined && nowMs - f.lastCaughtUpTimeMs > lagMaxMs) out.push(id);
    }
    return out;
  }

  /** Replicas outside the ISR that may rejoin: caught up to the HW and this epoch's start. */
  rejoinCandidates(): number[] {
    const out: number[] = [];
    for (const [id, f] of this.followers) {
      if (this.isr.includes(id)) continue;
      if (f.logEndOffset >= this.hw && f.logEndOffset >= this.epochStartOffset) out.push(id);
    }
    return out;
  }

  /**
   * The ISR to propose next, or null when nothing should change or a change is in flight.
   * Expansion and shrink are proposed one AlterPartition at a time, as Kafka does.
   */
  nextIsrProposal(nowMs: number, lagMaxMs: number, eligible: (id: number) => boolean = () => true): readonly number[] | null {
    if (this.pendingIsr !== null) return null;
    const lagging = this.laggingIsrMembers(nowMs, lagMaxMs);
    if (lagging.length > 0) return this.isr.filter((id) => !lagging.includes(id));
    // KIP-841: only replicas the metadata shows unfenced (and not shutting down) may join.
    const joining = this.rejoinCandidates().filter(eligible);
    if (joining.length > 0) return [...this.isr, ...joining].sort((a, b) => a - b);
    return null;
  }

  /** The controller committed a new ISR (from our proposal or its own decision). */
  applyCommittedIsr(isr: readonly number[], partitionEpoch: number, replicas: readonly number[], nowMs: number): void {
    if (partitionEpoch < this.partitionEpoch) return; // stale
    if (this.onIsrChange !== null && isr !== this.isr) this.onIsrChange(this.isr, isr);
    this.isr = isr;
    this.partitionEpoch = partitionEpoch;
    this.pendingIsr = null;
    if (replicas.length > 0) {
      for (const id of replicas) {
        if (id === this.localId || this.followers.has(id)) continue;
        this.followers.set(id, {
          replicaId: id,
          logEndOffset: -1,
          lastCaughtUpTimeMs: 0,
          lastFetchTimeMs: 0,
          lastFetchLeaderLogEndOffset: -1,
        });
      }
      for (const id of [...this.followers.keys()]) if (!replicas.includes(id)) this.followers.delete(id);
      this.replicas = replicas;
    }
    for (const id of isr) {
      const f = this.followers.get(id);
      if (f !== undefined) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, nowMs);
    }
  }
}
