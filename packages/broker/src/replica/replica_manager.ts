// Owns every partition replica on this broker and drives them from metadata: becomes leader
// or follower, keeps one ReplicaFetcher per leader broker, answers followers' fetches (leader
// side), runs ISR maintenance through the controller's AlterPartition, and serves produce and
// fetch at the partition level. Contract: acts only on committed metadata (applyMetadata);
// a partition not led here under the current epoch never accepts a write.
import type { Logger } from "pino";
import { BrokerError, Code, errorCodeOf } from "../errors.js";
import { type BrokerMetricsSink, isrChangeReporter } from "../metrics.js";
import { localChanges } from "../metadata/local_changes.js";
import type { MetadataView, PartitionView } from "../metadata/view.js";
import type { LeaderAppendResult, ReplicaLog } from "./log_port.js";
import { Partition } from "./partition.js";
import { ReplicaFetcher } from "./replica_fetcher.js";
import { waitForWake } from "./wait_for_wake.js";
import type {
  ReplicaFetchRequest,
  ReplicaFetchResponse,
  ReplicaFetchPartitionResponse,
  OffsetsForLeaderEpochRequest,
  OffsetsForLeaderEpochResponse,
} from "@brook/protocol/gen/brook/v1/replica";

/** Where partition logs come from (the log engineer's LogManager behind an adapter). */
export interface LogStore {
  open(view: PartitionView, topicConfig: ReadonlyMap<string, string>): Promise<ReplicaLog>;
  remove(topic: string, partition: number): Promise<void>;
  /** Deletes every local log `keep` rejects; returns the removed `<topic>-<partition>` names. */
  removeStrays?(keep: (topic: string, partition: number) => boolean): Promise<string[]>;
}

export interface AlterPartitionRequest {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
}
export type AlterPartitionResult =
  | { readonly ok: true; readonly isr: readonly number[]; readonly partitionEpoch: number; readonly leaderEpoch: number }
  | { readonly ok: false; readonly errorCode: number };
export type AlterPartitionFn = (req: AlterPartitionRequest) => Promise<AlterPartitionResult>;

export interface ReplicaManagerConfig {
  /** A follower not caught up for this long leaves the ISR. Default 5 s: see README. */
  readonly replicaLagTimeMaxMs: number;
  readonly replicaFetchMaxWaitMs: number;
  readonly replicaFetchMaxBytes: number;
  readonly minInsyncReplicas: number;
}

export const DEFAULT_REPLICA_CONFIG: ReplicaManagerConfig = {
  replicaLagTimeMaxMs: 5_000,
  replicaFetchMaxWaitMs: 500,
  replicaFetchMaxBytes: 8 * 1024 * 1024,
  minInsyncReplicas: 1,
};

/**
 * Longest a request waits for this broker to finish taking a leadership it has been given
 * (log open + epoch checkpoint: tens of ms, more on a slow disk) before it is answered
 * NOT_LEADER_OR_FOLLOWER.
 */
export const SETTLE_WAIT_MAX_MS = 1_000;
/** The records of an answer with nothing to send (shared: a zero-length Buffer holds no bytes to alter). */
const NO_RECORDS: Buffer = Buffer.alloc(0);

export type LeadershipListener = (topic: string, partition: number, isLeader: boolean, leaderEpoch: number) => void;

export interface ProduceOutcome {
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly baseOffset: number;
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
  readonly leaderHint: { leader: number; leaderEpoch: number } | null;
}

export interface ReadCommittedResult {
  readonly records: Buffer;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private view: MetadataView;
  private applying: Promise<void> = Promise.resolve();
  private isrTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<LeadershipListener>();
  private closed = false;
  /** The log directory failed: no replica is served, opened or fetched on this broker any more. */
  private storageFailed = false;
  /** Requests parked until this broker catches up with a leadership (see settleLeadership). */
  private readonly settleWaiters = new Set<() => void>();

  constructor(
    private readonly opts: {
      localId: number;
      brokerEpoch: () => number;
      logs: LogStore;
      alterPartition: AlterPartitionFn;
      config: ReplicaManagerConfig;
      logger: Logger;
      now?: () => number;
      initialView: MetadataView;
      metrics?: BrokerMetricsSink;
    },
  ) {
    this.view = opts.initialView;
    this.isrTimer = setInterval(() => this.maintainIsr(), Math.max(100, Math.floor(opts.config.replicaLagTimeMaxMs / 4)));
    this.isrTimer.unref();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  get metadata(): MetadataView {
    return this.view;
  }

  partition(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(ReplicaManager.key(topic, partition));
  }

  /** Partitions this broker currently leads. */
  ledPartitions(): Partition[] {
    return [...this.partitions.values()].filter((p) => p.role.kind === "leader");
  }

  onLeadershipChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a committed metadata view. Calls are serialized; each acts on the diff. */
  applyMetadata(next: MetadataView): Promise<void> {
    const run = this.applying.then(() => this.applyNow(next)).finally(() => this.wakeSettleWaiters());
    this.applying = run.catch((err: unknown) => this.opts.logger.error({ err }, "applying metadata failed"));
    return run;
  }

  private async applyNow(next: MetadataView): Promise<void> {
    if (this.closed) return;
    const prev = this.view;
    this.view = next;
    // Leader hints and metadata answers keep following the controller; the replicas stay
    // offline (their logs are on the failed directory).
    if (this.storageFailed) return;
    const changes = localChanges(prev, next, this.opts.localId);
    for (const d of changes.deletes) {
      const key = ReplicaManager.key(d.topic, d.partition);
      const p = this.partitions.get(key);
      if (p === undefined) continue;
      const wasLeader = p.role.kind === "leader";
      p.goOffline();
      this.detachFromFetchers(key);
      this.partitions.delete(key);
      if (wasLeader) this.notify(d.topic, d.partition, false, -1);
      await this.opts.logs.remove(d.topic, d.partition);
      this.opts.logger.info({ topic: d.topic, partition: d.partition }, "replica deleted");
    }
    // Partitions change role independently and concurrently: a new leader writes its epoch
    // durably (log fsync + checkpoint: several fsyncs), and one after another a broker taking
    // over many partitions, or a follower switching leaders in the same view, waited for all
    // of them before its first fetch.
    const settled = await Promise.allSettled([
      ...changes.leaders.map(async (v) => {
        if (this.storageFailed) return; // the directory failed while this view was being applied
        const p = await this.ensure(v, next);
        this.detachFromFetchers(ReplicaManager.key(v.topic, v.partition));
        await p.becomeLeader(v);
        if (p.role.kind === "leader") p.role.state.onIsrChange = isrChangeReporter(this.opts.metrics, v.topic, v.partition);
        this.opts.logger.info({ topic: v.topic, partition: v.partition, epoch: v.leaderEpoch }, "became leader");
        this.notify(v.topic, v.partition, true, v.leaderEpoch);
        this.wakeSettleWaiters();
      }),
      ...changes.followers.map(async (v) => {
        if (this.storageFailed) return;
        const p = await this.ensure(v, next);
        if (this.storageFailed) return;
        const wasLeader = p.role.kind === "leader";
        p.becomeFollower(v);
        const key = ReplicaManager.key(v.topic, v.partition);
        this.detachFromFetchers(key);
        if (v.leader >= 0 && v.leader !== this.opts.localId) this.fetcherFor(v.leader).add(key, p, v.leaderEpoch);
        this.opts.logger.info({ topic: v.topic, partition: v.partition, leader: v.leader, epoch: v.leaderEpoch }, "became follower");
        if (wasLeader) this.notify(v.topic, v.partition, false, v.leaderEpoch);
      }),
    ]);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    for (const v of changes.leaderUpdates) this.partition(v.topic, v.partition)?.updateLeader(v);
    // A peer's address may have changed (re-registration); fetchers re-resolve on reconnect.
    for (const [id, f] of this.fetchers) if (f.size() === 0) {
      f.close();
      this.fetchers.delete(id);
    }
  }

  private async ensure(v: PartitionView, view: MetadataView): Promise<Partition> {
    const key = ReplicaManager.key(v.topic, v.partition);
    const existing = this.partitions.get(key);
    if (existing !== undefined) return existing;
    const configs = view.topics.get(v.topic)?.configs ?? new Map<string, string>();
    const log = await this.opts.logs.open(v, configs);
    const p = new Partition(log, v, this.opts.localId, () => this.now());
    this.partitions.set(key, p);
    return p;
  }

  private notify(topic: string, partition: number, isLeader: boolean, epoch: number): void {
    for (const l of this.listeners) {
      try {
        l(topic, partition, isLeader, epoch);
      } catch (err) {
        this.opts.logger.error({ err }, "leadership listener threw");
      }
    }
  }

  private fetcherFor(leaderId: number): ReplicaFetcher {
    let f = this.fetchers.get(leaderId);
    if (f === undefined) {
      f = new ReplicaFetcher({
        leaderId,
        localId: this.opts.localId,
        brokerEpoch: this.opts.brokerEpoch,
        address: () => {
          const b = this.view.brokers.get(leaderId);
          return b === undefined ? undefined : `${b.host}:${b.port}`;
        },
        maxWaitMs: this.opts.config.replicaFetchMaxWaitMs,
        maxBytes: this.opts.config.replicaFetchMaxBytes,
        logger: this.opts.logger,
      });
      this.fetchers.set(leaderId, f);
    }
    return f;
  }

  /**
   * Waits (at most `budgetMs`) while this broker is still catching up with a leadership that
   * the rest of the cluster may already act on: the metadata names it leader but the replica
   * is still opening its log and writing the new epoch (several fsyncs), or a follower asks
   * about a leader epoch this broker's metadata has not reached yet. Answering
   * NOT_LEADER_OR_FOLLOWER in that window sent followers into their retry backoff and
   * clients into theirs: on a new topic the first acks=all produce took 0.5-0.85 s.
   * `requestEpoch` -1: the requester names no epoch.
   */
  async settleLeadership(topic: string, partition: number, requestEpoch: number, budgetMs: number): Promise<void> {
    // Wall time, not the injectable clock: this bounds how long a real request is held.
    const deadline = Date.now() + budgetMs;
    while (this.leadershipPending(topic, partition, requestEpoch)) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.settleWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.settleWaiters.add(done);
      });
    }
  }

  /** `requestEpoch` -1: the requester names no epoch (a client's produce). */
  leadershipPending(topic: string, partition: number, requestEpoch: number): boolean {
    if (this.closed || this.storageFailed) return false;
    const v = this.view.topics.get(topic)?.partitions.get(partition);
    if (requestEpoch >= 0 && (v === undefined || v.leaderEpoch < requestEpoch)) return true;
    if (v === undefined || v.leader !== this.opts.localId) return false;
    const p = this.partition(topic, partition);
    return p === undefined || p.role.kind !== "leader" || p.role.state.leaderEpoch < v.leaderEpoch;
  }

  private wakeSettleWaiters(): void {
    for (const w of [...this.settleWaiters]) w();
  }

  private detachFromFetchers(key: string): void {
    for (const f of this.fetchers.values()) f.remove(key);
  }

  /** Appends one partition's batches from a client produce. Never throws. */
  async appendRecords(topic: string, partition: number, records: Buffer, acks: number, timeoutMs: number): Promise<ProduceOutcome> {
    if (this.leadershipPending(topic, partition, -1)) await this.settleLeadership(topic, partition, -1, Math.min(timeoutMs, SETTLE_WAIT_MAX_MS));
    const p = this.partition(topic, partition);
    const fail = (code: number, msg: string, hint: { leader: number; leaderEpoch: number } | null): ProduceOutcome => ({
      errorCode: code,
      errorMessage: msg,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      leaderHint: hint,
    });
    if (p === undefined) {
      const v = this.view.topics.get(topic)?.partitions.get(partition);
      if (v === undefined) return fail(Code.UNKNOWN_TOPIC_OR_PARTITION, `unknown topic-partition ${topic}-${partition}`, null);
      if (this.storageFailed && v.replicas.includes(this.opts.localId))
        return fail(Code.KAFKA_STORAGE_ERROR, `the log directory of broker ${this.opts.localId} is offline`, { leader: v.leader, leaderEpoch: v.leaderEpoch });
      return fail(Code.NOT_LEADER_OR_FOLLOWER, this.notLeaderMessage(topic, partition), {
        leader: v.leader,
        leaderEpoch: v.leaderEpoch,
      });
    }
    const minIsr = this.minIsrFor(topic);
    let result: LeaderAppendResult & { readonly leaderEpoch: number };
    try {
      result = await p.appendAsLeader(records, acks, minIsr);
    } catch (err) {
      const hint = err instanceof BrokerError ? err.leaderHint : null;
      return fail(errorCodeOf(err), err instanceof Error ? err.message : String(err), hint);
    }
    const ok: ProduceOutcome = {
      errorCode: Code.NONE,
      errorMessage: "",
      baseOffset: result.baseOffset,
      logAppendTimeMs: result.logAppendTimeMs,
      logStartOffset: p.log.logStartOffset(),
      leaderHint: null,
    };
    if (acks !== -1) return ok;
    const code = await p.waitForAcks(result.lastOffset + 1, minIsr, timeoutMs, result.leaderEpoch);
    if (code === Code.NONE) return ok;
    const msg =
      code === Code.REQUEST_TIMED_OUT
        ? `replication of ${p.name()} did not reach the ISR within ${timeoutMs} ms`
        : code === Code.NOT_ENOUGH_REPLICAS_AFTER_APPEND
          ? `${p.name()} was written but the ISR shrank below min.insync.replicas=${minIsr}`
          : `${p.name()} lost leadership before the write was replicated`;
    return { ...fail(code, msg, code === Code.NOT_LEADER_OR_FOLLOWER ? p.leaderHint() : null), baseOffset: result.baseOffset };
  }

  notLeaderMessage(topic: string, partition: number): string {
    return this.leadershipPending(topic, partition, -1)
      ? `broker ${this.opts.localId} is still becoming the leader of ${topic}-${partition} (opening its log and writing the new leader epoch); retry shortly`
      : `broker ${this.opts.localId} is not the leader of ${topic}-${partition}`;
  }

  /** Committed batches (below the HW) from `fromOffset`; throws BrokerError when not held. */
  async readCommitted(topic: string, partition: number, fromOffset: number, maxBytes: number): Promise<ReadCommittedResult> {
    const p = this.partition(topic, partition);
    if (p === undefined) throw new BrokerError(Code.UNKNOWN_TOPIC_OR_PARTITION, `no replica of ${topic}-${partition} on this broker`);
    const hw = p.log.highWatermark();
    const start = p.log.logStartOffset();
    if (fromOffset >= hw) return { records: Buffer.alloc(0), highWatermark: hw, logStartOffset: start };
    const r = await p.log.read(Math.max(fromOffset, start), maxBytes, hw);
    return { records: r.records, highWatermark: hw, logStartOffset: start };
  }

  minIsrFor(topic: string): number {
    const raw = this.view.topics.get(topic)?.configs.get("min.insync.replicas");
    const n = raw === undefined ? NaN : Number.parseInt(raw, 10);
    return Number.isFinite(n) && n > 0 ? n : this.opts.config.minInsyncReplicas;
  }

  /** Leader side of the follower protocol: answers one ReplicaFetch request, long-polling. */
  async handleReplicaFetch(req: ReplicaFetchRequest, cancelled: () => boolean): Promise<ReplicaFetchResponse> {
    const deadline = this.now() + Math.min(Math.max(req.maxWaitMs, 0), 10_000);
    for (const fp of req.partitions)
      if (this.leadershipPending(fp.topic, fp.partition, fp.currentLeaderEpoch))
        await this.settleLeadership(fp.topic, fp.partition, fp.currentLeaderEpoch, Math.min(SETTLE_WAIT_MAX_MS, deadline - this.now()));
    for (;;) {
      const out: ReplicaFetchPartitionResponse[] = [];
      let bytes = 0;
      let budget = req.maxBytes > 0 ? req.maxBytes : this.opts.config.replicaFetchMaxBytes;
      const touched: { p: Partition; seq: number }[] = [];
      for (const fp of req.partitions) {
        const answer = this.replicaFetchOne(req.replicaId, fp, budget, touched);
        // Most partitions of a long poll have nothing new: their answer is ready without a
        // microtask turn (an idle 1,000-partition broker runs this loop for every one of them).
        const r = answer instanceof Promise ? await answer : answer;
        bytes += r.records.length;
        budget = Math.max(1, budget - r.records.length);
        out.push(r);
      }
      const anyError = out.some((r) => r.errorCode !== Code.NONE);
      if (bytes > 0 || anyError || this.now() >= deadline || cancelled() || this.closed || req.partitions.length === 0)
        return { correlationId: req.correlationId, errorCode: Code.NONE, partitions: out };
      await this.waitForChange(touched, deadline - this.now());
    }
  }

  private waitForChange(parts: { p: Partition; seq: number }[], ms: number): Promise<void> {
    // New data only: an HW move alone would wake a parked follower for nothing (Partition.onData).
    return waitForWake(parts, ms, "onData");
  }

  /** One partition's answer: a Promise only when log bytes have to be read. */
  private replicaFetchOne(
    replicaId: number,
    fp: ReplicaFetchRequest["partitions"][number],
    budget: number,
    touched: { p: Partition; seq: number }[],
  ): ReplicaFetchPartitionResponse | Promise<ReplicaFetchPartitionResponse> {
    const base = { topic: fp.topic, partition: fp.partition, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, records: NO_RECORDS };
    const p = this.partition(fp.topic, fp.partition);
    if (p === undefined || p.role.kind !== "leader")
      return { ...base, errorCode: Code.NOT_LEADER_OR_FOLLOWER, errorMessage: this.notLeaderMessage(fp.topic, fp.partition) };
    const state = p.role.state;
    const seq = p.dataSeq; // before looking at the log: see Partition.onData
    if (fp.currentLeaderEpoch < state.leaderEpoch)
      return { ...base, errorCode: Code.FENCED_LEADER_EPOCH, errorMessage: `epoch ${fp.currentLeaderEpoch} < ${state.leaderEpoch}` };
    if (fp.currentLeaderEpoch > state.leaderEpoch)
      return { ...base, errorCode: Code.UNKNOWN_LEADER_EPOCH, errorMessage: `epoch ${fp.currentLeaderEpoch} > ${state.leaderEpoch}` };
    const leo = p.log.logEndOffset();
    const start = p.log.logStartOffset();
    if (fp.fetchOffset > leo || fp.fetchOffset < start)
      return {
        ...base,
        highWatermark: state.highWatermark,
        logStartOffset: start,
        logEndOffset: leo,
        errorCode: Code.OFFSET_OUT_OF_RANGE,
        errorMessage: `offset ${fp.fetchOffset} outside [${start}, ${leo}]`,
      };
    try {
      p.recordFollowerFetch(replicaId, fp.fetchOffset, leo);
    } catch (err) {
      return { ...base, errorCode: errorCodeOf(err), errorMessage: err instanceof Error ? err.message : String(err) };
    }
    this.maybeExpandIsr(p);
    touched.push({ p, seq });
    const answer = (records: Buffer): ReplicaFetchPartitionResponse => ({
      ...base,
      errorCode: Code.NONE,
      errorMessage: "",
      highWatermark: state.highWatermark,
      logStartOffset: start,
      logEndOffset: leo,
      records,
    });
    if (fp.fetchOffset >= leo) return answer(NO_RECORDS);
    const max = Math.min(budget, fp.partitionMaxBytes > 0 ? fp.partitionMaxBytes : budget);
    return p.log.read(fp.fetchOffset, max, leo).then((r) => answer(r.records));
  }

  async handleOffsetsForLeaderEpoch(req: OffsetsForLeaderEpochRequest): Promise<OffsetsForLeaderEpochResponse> {
    for (const ep of req.partitions)
      if (this.leadershipPending(ep.topic, ep.partition, ep.currentLeaderEpoch))
        await this.settleLeadership(ep.topic, ep.partition, ep.currentLeaderEpoch, SETTLE_WAIT_MAX_MS);
    return {
      partitions: req.partitions.map((ep) => {
        const p = this.partition(ep.topic, ep.partition);
        const base = { topic: ep.topic, partition: ep.partition, leaderEpoch: -1, endOffset: -1 };
        if (p === undefined || p.role.kind !== "leader") return { ...base, errorCode: Code.NOT_LEADER_OR_FOLLOWER };
        if (ep.currentLeaderEpoch >= 0 && ep.currentLeaderEpoch < p.role.state.leaderEpoch) return { ...base, errorCode: Code.FENCED_LEADER_EPOCH };
        if (ep.currentLeaderEpoch > p.role.state.leaderEpoch) return { ...base, errorCode: Code.UNKNOWN_LEADER_EPOCH };
        const e = p.log.endOffsetForEpoch(ep.leaderEpoch);
        return { ...base, errorCode: Code.NONE, leaderEpoch: e.epoch, endOffset: e.endOffset };
      }),
    };
  }

  private maybeExpandIsr(p: Partition): void {
    if (p.role.kind !== "leader" || p.role.state.pendingIsr !== null) return;
    if (p.role.state.rejoinCandidates().some((id) => this.view.brokers.get(id)?.fenced === false)) this.proposeIsr(p);
  }

  /** Periodic: shrink lagging followers out, let caught-up ones in. */
  maintainIsr(): void {
    for (const p of this.ledPartitions()) this.proposeIsr(p);
  }

  private proposeIsr(p: Partition): void {
    if (p.role.kind !== "leader" || this.closed) return;
    const state = p.role.state;
    const proposal = state.nextIsrProposal(this.now(), this.opts.config.replicaLagTimeMaxMs, (id) => {
      const b = this.view.brokers.get(id);
      return b !== undefined && !b.fenced && !b.inControlledShutdown;
    });
    if (proposal === null) return;
    state.pendingIsr = { isr: proposal };
    const req: AlterPartitionRequest = {
      topic: p.topic,
      topicId: p.view.topicId,
      partition: p.index,
      leaderEpoch: state.leaderEpoch,
      partitionEpoch: state.partitionEpoch,
      newIsr: proposal,
    };
    this.opts.logger.info({ topic: p.topic, partition: p.index, from: state.isr, to: proposal }, "proposing ISR change");
    this.opts
      .alterPartition(req)
      .then((res) => {
        if (p.role.kind !== "leader" || p.role.state !== state) return;
        if (res.ok) state.applyCommittedIsr(res.isr, res.partitionEpoch, [], this.now());
        else {
          state.pendingIsr = null;
          // Usually a leadership or ISR change we have not applied yet; the metadata catches up.
          this.opts.logger.info({ topic: p.topic, partition: p.index, code: res.errorCode }, "AlterPartition rejected");
        }
        p.maybeAdvanceHighWatermark();
      })
      .catch((err: unknown) => {
        if (p.role.kind === "leader" && p.role.state === state) state.pendingIsr = null;
        this.opts.logger.warn({ err, topic: p.topic, partition: p.index }, "AlterPartition failed");
      });
  }

  /**
   * Deletes local logs the metadata no longer assigns to this broker: topics deleted, or
   * replicas moved away, while it was down (the metadata deltas it replayed at start never
   * named them: they are not in its first view). Call only once the applied metadata is at
   * least as new as this broker's registration (the controller unfences it then), or a log
   * could be taken for a stray before the record assigning it was applied. Runs in the
   * metadata chain, so no view is applied halfway through it.
   */
  removeStrayLogs(): Promise<string[]> {
    const run = this.applying.then(async () => {
      if (this.closed || this.storageFailed || this.opts.logs.removeStrays === undefined) return [];
      return this.opts.logs.removeStrays((topic, partition) => {
        if (this.partitions.has(ReplicaManager.key(topic, partition))) return true;
        const v = this.view.topics.get(topic)?.partitions.get(partition);
        return v !== undefined && v.replicas.includes(this.opts.localId);
      });
    });
    this.applying = run.then(
      () => undefined,
      (err: unknown) => this.opts.logger.error({ err }, "removing stray logs failed"),
    );
    return run;
  }

  /**
   * The broker's log directory failed (one per broker): every replica goes offline at once,
   * waiting acks=all produces fail with KAFKA_STORAGE_ERROR (never acknowledged), fetchers
   * stop, and later metadata no longer makes this broker a leader or follower. The caller
   * reports the directory to the controller, which moves leaderships and shrinks ISRs.
   */
  failLogDir(): void {
    if (this.storageFailed) return;
    this.storageFailed = true;
    this.wakeSettleWaiters();
    for (const f of this.fetchers.values()) f.close();
    this.fetchers.clear();
    for (const p of this.partitions.values()) {
      const wasLeader = p.role.kind === "leader";
      p.failStorage();
      if (wasLeader) this.notify(p.topic, p.index, false, -1);
    }
  }

  get logDirFailed(): boolean {
    return this.storageFailed;
  }

  /** Stops fetchers and fails waiters; logs are closed by their owner. */
  async close(): Promise<void> {
    this.closed = true;
    this.wakeSettleWaiters();
    if (this.isrTimer !== undefined) clearInterval(this.isrTimer);
    for (const f of this.fetchers.values()) f.close();
    this.fetchers.clear();
    for (const p of this.partitions.values()) p.goOffline();
    await this.applying;
  }
}
