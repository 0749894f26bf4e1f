// The Consumer: standalone (assign()) or a member of a group (subscribe(), KIP-848
// heartbeats with server-side assignment). Three loops: heartbeats (group mode) that apply
// assignment changes revoke-before-assign, fetchers (one long-poll Fetch per leader) that
// fill a bounded prefetch buffer, and delivery to the application (eachMessage, eachBatch or
// the async iterator). Positions: `fetch` is where the next Fetch starts; `consumed` is the
// offset after the last record handed to the application, the only offset auto-commit
// commits. Revoked partitions stop fetching, are drained of buffered records, get
// onPartitionsRevoked and a commit of what was consumed, and only then are reported as no
// longer owned, so the next owner starts where this one stopped.
import type { FetchResponse, TopicPartitions } from "@brook/protocol/gen/brook/v1/broker";
import { listOffsets, offsetsForTime } from "../admin.js";
import { backoffDelay } from "../backoff.js";
import { type Cluster, sleep } from "../cluster.js";
import { intInRange } from "../config.js";
import { BrookError, ClosedError, ConfigError, errorFromCode, GroupMembershipError, isRetriable, SerializationError } from "../errors.js";
import type { Deserializer } from "../serde.js";
import { type Buffered, FetchBuffer } from "./fetch_buffer.js";
import { indexBatches, RecordCursor } from "./record_cursor.js";
import { Wakeup } from "./wakeup.js";

export type OffsetReset = "earliest" | "latest" | { readonly timestamp: number };

export interface ConsumerConfig<K, V> {
  readonly keyDeserializer: Deserializer<K>;
  readonly valueDeserializer: Deserializer<V>;
  readonly groupId?: string;
  readonly groupInstanceId?: string;
  readonly rackId?: string;
  readonly assignor?: "uniform" | "range";
  readonly sessionTimeoutMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly autoOffsetReset?: OffsetReset;
  readonly autoCommit?: boolean;
  readonly autoCommitIntervalMs?: number;
  readonly maxWaitMs?: number;
  readonly minBytes?: number;
  readonly maxBytes?: number;
  readonly maxPartitionBytes?: number;
  /** Prefetch bound: records buffered ahead of the application. */
  readonly maxBufferedRecords?: number;
  /** check.crcs: verify each fetched batch's CRC-32C (default true). */
  readonly checkCrcs?: boolean;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface ConsumedMessage<K, V> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: K;
  readonly value: V;
  readonly headers: Readonly<Record<string, Buffer | null>>;
}

export interface MessageBatch<K, V> {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly messages: ConsumedMessage<K, V>[];
}

export interface RunOptions<K, V> {
  readonly eachMessage?: (m: ConsumedMessage<K, V>) => Promise<void> | void;
  readonly eachBatch?: (b: MessageBatch<K, V>) => Promise<void> | void;
}

export interface RebalanceListener {
  onPartitionsAssigned?(partitions: TopicPartition[]): Promise<void> | void;
  onPartitionsRevoked?(partitions: TopicPartition[]): Promise<void> | void;
}

interface Position {
  readonly topic: string;
  readonly partition: number;
  fetch: number;
  consumed: number;
  committed: number;
  generation: number;
  paused: boolean;
}

const key = (t: string, p: number): string => `${t}\u0000${p}`;

export class Consumer<K = Buffer | null, V = Buffer | null> implements AsyncIterable<ConsumedMessage<K, V>> {
  private readonly positions = new Map<string, Position>();
  private readonly buffer: FetchBuffer<RecordCursor>;
  private readonly settings;
  private subscription: { names: string[]; regex: string } | null = null;
  private listener: RebalanceListener = {};
  private memberId = "";
  private memberEpoch = 0;
  private heartbeatIntervalMs = 500;
  private running = false;
  private closed = false;
  private readonly loops: Promise<void>[] = [];
  private readonly fetchWake = new Wakeup();
  private readonly deliverWake = new Wakeup();
  private readonly heartbeatWake = new Wakeup();
  /** Positions (by key) inside an in-flight Fetch; the others may start their own at once. */
  private readonly fetching = new Set<string>();
  private fetchAttempt = 0;
  private deliveringNow: Promise<void> = Promise.resolve();
  private lastAutoCommitMs = Date.now();

  constructor(
    private readonly cluster: Cluster,
    private readonly config: ConsumerConfig<K, V>,
  ) {
    const reset = config.autoOffsetReset ?? "earliest";
    if (reset !== "earliest" && reset !== "latest" && !(typeof reset === "object" && Number.isInteger(reset.timestamp) && reset.timestamp >= 0)) {
      throw new ConfigError(`auto.offset.reset must be "earliest", "latest" or { timestamp: ms >= 0 }, got ${JSON.stringify(reset)}`);
    }
    if (config.groupId !== undefined && !/^.{1,255}$/s.test(config.groupId)) throw new ConfigError("group.id must be 1-255 characters");
    if (config.checkCrcs !== undefined && typeof config.checkCrcs !== "boolean") throw new ConfigError(`check.crcs must be true or false, got ${JSON.stringify(config.checkCrcs)}`);
    if (config.assignor !== undefined && config.assignor !== "uniform" && config.assignor !== "range") {
      throw new ConfigError(`group.remote.assignor must be "uniform" or "range", got "${String(config.assignor)}"`);
    }
    this.settings = {
      reset,
      sessionTimeoutMs: intInRange("session.timeout.ms", config.sessionTimeoutMs, 45_000, 1_000, 300_000),
      rebalanceTimeoutMs: intInRange("rebalance.timeout.ms", config.rebalanceTimeoutMs, 60_000, 1_000, 2 ** 31 - 1),
      autoCommit: config.autoCommit ?? true,
      autoCommitIntervalMs: intInRange("auto.commit.interval.ms", config.autoCommitIntervalMs, 5_000, 1, 2 ** 31 - 1),
      maxWaitMs: intInRange("fetch.max.wait.ms", config.maxWaitMs, 500, 0, 60_000),
      minBytes: intInRange("fetch.min.bytes", config.minBytes, 1, 0, 2 ** 30),
      maxBytes: intInRange("fetch.max.bytes", config.maxBytes, 50 * 1024 * 1024, 1024, 2 ** 30),
      // 4 MiB, where Kafka has 1 MiB: a Fetch costs the client a gRPC call whatever it carries,
      // so a partition with a backlog should bring more per call. bench client/consume, 1 KiB
      // records, 3-run sessions: eachBatch 2.29-3.70 us CPU/record at 1 MiB, 1.96-2.70 at 4 MiB
      // (2 MiB in between, 8 MiB no better). The prefetch bound (max.buffered.records) still
      // stops fetching once that many records wait.
      maxPartitionBytes: intInRange("max.partition.fetch.bytes", config.maxPartitionBytes, 4 * 1024 * 1024, 1024, 2 ** 30),
    };
    this.buffer = new FetchBuffer(intInRange("max.buffered.records", config.maxBufferedRecords, 10_000, 1, 10_000_000));
  }

  /** Partitions this consumer owns right now. */
  assignment(): TopicPartition[] {
    return [...this.positions.values()].map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /** Group member id and epoch (empty and 0 before joining). */
  get member(): { memberId: string; memberEpoch: number } {
    return { memberId: this.memberId, memberEpoch: this.memberEpoch };
  }

  /** Joins the group with these topic names, or every topic matching the regex. */
  subscribe(topics: readonly string[] | RegExp, listener: RebalanceListener = {}): void {
    if (this.config.groupId === undefined) throw new ConfigError("subscribe() needs a groupId; use assign() for a consumer without a group");
    if (this.positions.size > 0 && this.subscription === null) throw new ConfigError("this consumer uses assign(); it cannot also subscribe()");
    this.subscription = topics instanceof RegExp ? { names: [], regex: subscriptionPattern(topics) } : { names: [...topics], regex: "" };
    this.listener = listener;
    if (this.running && !this.heartbeating) this.startHeartbeats();
    this.heartbeatWake.wake();
  }

  private heartbeating = false;

  private startHeartbeats(): void {
    this.heartbeating = true;
    this.loops.push(this.heartbeatLoop());
  }

  /** Takes these partitions without a group (the application manages them). */
  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.subscription !== null) throw new ConfigError("this consumer uses subscribe(); it cannot also assign()");
    // A partition the topic does not have would be fetched from no leader, silently, forever.
    for (const topic of new Set(partitions.map((p) => p.topic))) {
      // Retried: a topic created a moment ago may not have reached every broker's metadata yet.
      const lookup = () => this.cluster.withRetry(`Looking up ${topic}`, () => this.cluster.topicMetadata(topic));
      const absent = (meta: { partitions: readonly { partition: number }[] }) => partitions.find((p) => p.topic === topic && !meta.partitions.some((m) => m.partition === p.partition));
      let meta = await lookup();
      if (absent(meta) !== undefined) {
        // The cached view may predate partitions added a moment ago: ask again before refusing.
        await this.cluster.refresh([topic]);
        meta = await lookup();
      }
      const missing = absent(meta);
      if (missing !== undefined) throw errorFromCode(3, `partition ${missing.partition} is not in [0, ${meta.partitions.length - 1}]`, `Assigning ${topic}-${missing.partition}`);
    }
    const wanted = new Set(partitions.map((p) => key(p.topic, p.partition)));
    for (const [k, p] of this.positions) if (!wanted.has(k)) this.removePosition(p);
    const added = partitions.filter((p) => !this.positions.has(key(p.topic, p.partition)));
    await this.addPositions(added);
    this.fetchWake.wake();
  }

  /** Starts consuming from `offset` (the next record handed out has this offset or later). */
  seek(topic: string, partition: number, offset: number): void {
    const p = this.positions.get(key(topic, partition));
    if (p === undefined) throw new ConfigError(`seek(${topic}, ${partition}): that partition is not assigned to this consumer; assign() it first, or seek from onPartitionsAssigned`);
    if (!Number.isInteger(offset) || offset < 0) throw new ConfigError(`seek offset must be an integer >= 0, got ${offset}`);
    p.fetch = offset;
    p.consumed = offset;
    p.generation++;
    this.buffer.drop(topic, partition);
    this.fetchWake.wake();
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.positions.get(key(tp.topic, tp.partition));
      if (p === undefined) continue;
      p.paused = true;
      // Buffered records are dropped and refetched on resume, so nothing is handed out while paused.
      p.generation++;
      p.fetch = p.consumed;
      this.buffer.drop(tp.topic, tp.partition);
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.positions.get(key(tp.topic, tp.partition));
      if (p !== undefined) p.paused = false;
    }
    this.fetchWake.wake();
  }

  /** Runs the loops and hands records to `eachMessage`/`eachBatch` until close(). */
  async run(opts: RunOptions<K, V>): Promise<void> {
    if ((opts.eachMessage === undefined) === (opts.eachBatch === undefined)) throw new ConfigError("run() needs exactly one of eachMessage or eachBatch");
    this.start();
    this.loops.push(this.deliverLoop(opts));
  }

  /**
   * Hands out records one at a time. Written out rather than as an async generator: a
   * generator's `yield` costs extra promise jobs per record (a bare for-await loop: 220-290
   * ns per item through a generator, 110-150 ns through this shape). A record from the
   * current chunk comes back as an already resolved promise; only taking a new chunk (or
   * waiting for one) goes through `refill`.
   */
  [Symbol.asyncIterator](): AsyncIterator<ConsumedMessage<K, V>> {
    let chunk: Buffered<RecordCursor> | undefined;
    let pos: Position | undefined;
    let started = false;
    let finished = false;
    let refilling: Promise<IteratorResult<ConsumedMessage<K, V>>> | null = null;
    const end: IteratorResult<ConsumedMessage<K, V>> = { done: true, value: undefined };
    // The current chunk's next record, or undefined once it is used up (or was revoked, seeked, paused).
    const fromChunk = (): ConsumedMessage<K, V> | undefined => {
      if (chunk === undefined) return undefined;
      const cur = chunk.records;
      if (pos!.generation === chunk.generation && cur.next()) {
        const m = this.toMessage(chunk.topic, chunk.partition, cur);
        pos!.consumed = cur.offset + 1;
        return m;
      }
      chunk = undefined;
      return undefined;
    };
    const refill = async (): Promise<IteratorResult<ConsumedMessage<K, V>>> => {
      if (started) {
        this.fetchWake.wake();
        await this.maybeAutoCommit();
      } else {
        started = true;
        this.start();
      }
      while (!this.closed && !finished) {
        chunk = this.buffer.take((t, p, g) => {
          const at = this.positions.get(key(t, p));
          return at !== undefined && at.generation === g && !at.paused;
        });
        if (chunk === undefined) {
          this.fetchWake.wake();
          // The application is waiting in next(), so it is done with every record handed out:
          // an idle iterator still commits them at the interval (as poll() does in Kafka).
          await this.maybeAutoCommit();
          await this.deliverWake.wait(100);
          continue;
        }
        pos = this.positions.get(key(chunk.topic, chunk.partition))!;
        const m = fromChunk();
        if (m !== undefined) return { done: false, value: m };
        this.fetchWake.wake();
        await this.maybeAutoCommit();
      }
      finished = true;
      return end;
    };
    const next = (): Promise<IteratorResult<ConsumedMessage<K, V>>> => {
      if (refilling !== null) return refilling.then(next, next); // calls made without awaiting run in order
      if (finished) return Promise.resolve(end);
      try {
        const m = fromChunk();
        if (m !== undefined) return Promise.resolve({ done: false, value: m });
      } catch (err) {
        finished = true; // like a generator that threw
        return Promise.reject(err);
      }
      const p = refill().then(
        (r) => {
          refilling = null;
          return r;
        },
        (err: unknown) => {
          refilling = null;
          finished = true;
          throw err;
        },
      );
      refilling = p;
      return p;
    };
    return {
      next,
      // A `break` out of for-await: the chunk's records not handed out are fetched again
      // (from `consumed`, as pause() does), so a later iterator or run() starts right after
      // the last record this one returned instead of after the discarded chunk.
      return: (): Promise<IteratorResult<ConsumedMessage<K, V>>> => {
        finished = true;
        if (chunk !== undefined && pos !== undefined && pos.generation === chunk.generation && this.positions.get(key(chunk.topic, chunk.partition)) === pos) {
          pos.generation++;
          pos.fetch = pos.consumed;
          this.buffer.drop(chunk.topic, chunk.partition);
          this.fetchWake.wake();
        }
        chunk = undefined;
        return Promise.resolve(end);
      },
    };
  }

  private start(): void {
    if (this.closed) throw new ClosedError("the consumer is closed");
    if (this.running) return;
    this.running = true;
    if (this.subscription !== null) this.startHeartbeats();
    this.loops.push(this.fetchLoop());
  }

  /** Commits consumed offsets (all owned partitions), or the given ones. */
  async commit(offsets?: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    const groupId = this.config.groupId;
    if (groupId === undefined) throw new ConfigError("commit() needs a groupId");
    const list =
      offsets ??
      [...this.positions.values()].filter((p) => p.consumed !== p.committed && p.consumed >= 0).map((p) => ({ topic: p.topic, partition: p.partition, offset: p.consumed }));
    if (list.length === 0) return;
    const byTopic = new Map<string, { partition: number; offset: number; leaderEpoch: number; metadata: string }[]>();
    for (const o of list) {
      const l = byTopic.get(o.topic) ?? [];
      l.push({ partition: o.partition, offset: o.offset, leaderEpoch: -1, metadata: "" });
      byTopic.set(o.topic, l);
    }
    await this.cluster.withRetry(`OffsetCommit ${groupId}`, async () => {
      try {
        const c = await this.cluster.coordinator(groupId);
        const res = await c.call(
          (b) => b.offsetCommit,
          {
            groupId,
            memberId: this.subscription === null ? "" : this.memberId,
            memberEpoch: this.subscription === null ? -1 : this.memberEpoch,
            topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          },
          this.cluster.options.requestTimeoutMs,
          "OffsetCommit",
        );
        if (res.error !== undefined && res.error.code !== 0) throw errorFromCode(res.error.code, res.error.message, `Committing offsets of ${groupId}`);
        for (const t of res.topics)
          for (const p of t.partitions) if (p.errorCode !== 0) throw errorFromCode(p.errorCode, "", `Committing ${t.topic}-${p.partition}`);
      } catch (err) {
        if (err instanceof BrookError && err.staleMetadata) this.cluster.forgetCoordinator(groupId);
        throw err;
      }
    });
    for (const o of list) {
      const p = this.positions.get(key(o.topic, o.partition));
      if (p !== undefined) p.committed = o.offset;
    }
  }

  private async maybeAutoCommit(): Promise<void> {
    if (!this.settings.autoCommit || this.config.groupId === undefined) return;
    if (Date.now() - this.lastAutoCommitMs < this.settings.autoCommitIntervalMs) return;
    this.lastAutoCommitMs = Date.now();
    await this.commit().catch((err: unknown) => this.cluster.options.logger.warn({ err: String(err) }, "auto-commit failed; retried at the next interval"));
  }

  // ---- positions ----

  private removePosition(p: Position): void {
    p.generation++;
    this.positions.delete(key(p.topic, p.partition));
    this.buffer.drop(p.topic, p.partition);
  }

  /** Adds partitions at their committed offset, or per auto.offset.reset when none. */
  private async addPositions(tps: readonly TopicPartition[]): Promise<void> {
    if (tps.length === 0) return;
    const committed = new Map<string, number>();
    const groupId = this.config.groupId;
    if (groupId !== undefined) {
      const byTopic = new Map<string, number[]>();
      for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      const res = await this.cluster.withRetry(`OffsetFetch ${groupId}`, async () => {
        try {
          const c = await this.cluster.coordinator(groupId);
          const r = await c.call(
            (b) => b.offsetFetch,
            { groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) },
            this.cluster.options.requestTimeoutMs,
            "OffsetFetch",
          );
          if (r.error !== undefined && r.error.code !== 0) throw errorFromCode(r.error.code, r.error.message, `Fetching offsets of ${groupId}`);
          return r;
        } catch (err) {
          if (err instanceof BrookError && err.staleMetadata) this.cluster.forgetCoordinator(groupId);
          throw err;
        }
      });
      for (const t of res.topics) for (const p of t.partitions) if (p.offset >= 0) committed.set(key(t.topic, p.partition), p.offset);
    }
    const resetTopics = new Set(tps.filter((tp) => !committed.has(key(tp.topic, tp.partition))).map((tp) => tp.topic));
    const resets = new Map<string, Map<number, number>>();
    const r = this.settings.reset;
    const ts = r === "earliest" ? -2 : r === "latest" ? -1 : r.timestamp;
    // A timestamp past a partition's last record means "start at its end" (offsetsForTime).
    for (const topic of resetTopics) resets.set(topic, ts >= 0 ? await offsetsForTime(this.cluster, topic, ts) : await listOffsets(this.cluster, topic, ts));
    for (const tp of tps) {
      const k = key(tp.topic, tp.partition);
      const start = committed.get(k) ?? resets.get(tp.topic)?.get(tp.partition) ?? 0;
      this.positions.set(k, {
        topic: tp.topic,
        partition: tp.partition,
        fetch: start,
        consumed: start,
        committed: committed.get(k) ?? -1,
        generation: 0,
        paused: false,
      });
    }
  }

  // ---- group membership ----

  private async heartbeatLoop(): Promise<void> {
    const groupId = this.config.groupId!;
    let attempt = 0;
    while (!this.closed) {
      try {
        await this.heartbeatOnce(groupId);
        attempt = 0;
        await this.heartbeatWake.wait(this.heartbeatIntervalMs);
      } catch (err) {
        if (this.closed) return;
        if (err instanceof GroupMembershipError && !err.retriable) {
          // Fenced or removed: our partitions are someone else's now. Drop them without a
          // commit (it would be rejected) and rejoin.
          this.cluster.options.logger.warn({ err: err.message }, "removed from the group; rejoining");
          const lost = this.assignment();
          for (const p of [...this.positions.values()]) this.removePosition(p);
          if (lost.length > 0) await this.callListener("onPartitionsRevoked", lost);
          this.memberId = "";
          this.memberEpoch = 0;
          continue;
        }
        if (err instanceof BrookError && err.staleMetadata) this.cluster.forgetCoordinator(groupId);
        if (!isRetriable(err)) this.cluster.options.logger.error({ err: String(err) }, "heartbeat failed");
        await sleep(backoffDelay(this.cluster.options.backoff, attempt++, this.cluster.options.random));
      }
    }
  }

  private async heartbeatOnce(groupId: string): Promise<void> {
    const sub = this.subscription!;
    const owned = this.ownedTopicPartitions();
    const c = await this.cluster.coordinator(groupId);
    const res = await c.call(
      (b) => b.consumerGroupHeartbeat,
      {
        groupId,
        memberId: this.memberId,
        memberEpoch: this.memberEpoch,
        instanceId: this.config.groupInstanceId ?? "",
        rackId: this.config.rackId ?? "",
        rebalanceTimeoutMs: this.settings.rebalanceTimeoutMs,
        subscribedTopicNames: sub.names,
        subscribedTopicRegex: sub.regex,
        serverAssignor: this.config.assignor ?? "",
        ownedPartitions: owned,
        sessionTimeoutMs: this.settings.sessionTimeoutMs,
      },
      // The coordinator may hold a heartbeat that has nothing new (250 ms by default): the
      // deadline leaves room for that on top of request.timeout.ms.
      this.cluster.options.requestTimeoutMs + Math.min(this.settings.sessionTimeoutMs / 2, 5_000),
      "ConsumerGroupHeartbeat",
    );
    if (res.error !== undefined && res.error.code !== 0) throw errorFromCode(res.error.code, res.error.message, `Heartbeat to ${groupId}`);
    this.memberId = res.memberId;
    this.memberEpoch = res.memberEpoch;
    // 0: the coordinator holds heartbeats that have nothing new (a long poll), so the next
    // one goes at once and answers to it arrive as soon as the group changes.
    if (res.heartbeatIntervalMs >= 0) this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    if (res.assignment !== undefined) await this.reconcile(res.assignment.partitions);
  }

  private ownedTopicPartitions(): TopicPartitions[] {
    const byTopic = new Map<string, number[]>();
    for (const p of this.positions.values()) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
  }

  /** Applies a new assignment: revoke first (drain, listener, commit), then add. */
  private async reconcile(target: readonly TopicPartitions[]): Promise<void> {
    const wanted = new Set(target.flatMap((t) => t.partitions.map((p) => key(t.topic, p))));
    const revoked = [...this.positions.values()].filter((p) => !wanted.has(key(p.topic, p.partition)));
    if (revoked.length > 0) {
      for (const p of revoked) {
        p.generation++; // stops fetching and delivery of anything buffered
        this.buffer.drop(p.topic, p.partition);
      }
      await this.deliveringNow; // the record being processed finishes first
      const tps = revoked.map((p) => ({ topic: p.topic, partition: p.partition }));
      await this.callListener("onPartitionsRevoked", tps);
      if (this.settings.autoCommit) {
        const toCommit = revoked.filter((p) => p.consumed !== p.committed).map((p) => ({ topic: p.topic, partition: p.partition, offset: p.consumed }));
        await this.commit(toCommit).catch((err: unknown) => this.cluster.options.logger.warn({ err: String(err) }, "commit on revoke failed"));
      }
      for (const p of revoked) this.positions.delete(key(p.topic, p.partition));
      // Tell the coordinator at once so the next owner can start.
      this.heartbeatWake.wake();
    }
    const added = target.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))).filter((tp) => !this.positions.has(key(tp.topic, tp.partition)));
    if (added.length > 0) {
      await this.addPositions(added);
      await this.callListener("onPartitionsAssigned", added);
      this.fetchWake.wake();
    }
  }

  private async callListener(which: "onPartitionsAssigned" | "onPartitionsRevoked", tps: TopicPartition[]): Promise<void> {
    try {
      await this.listener[which]?.(tps);
    } catch (err) {
      this.cluster.options.logger.error({ err: String(err) }, `${which} listener threw`);
    }
  }

  // ---- fetching ----

  /**
   * Starts a Fetch per leader for the live positions not already inside one, and waits for a
   * change (a fetch done, partitions added, resumed, room in the buffer). So partitions
   * assigned while a long poll is in flight are fetched at once rather than after it.
   */
  private async fetchLoop(): Promise<void> {
    while (!this.closed) {
      const idle: Position[] = [];
      if (!this.buffer.full) for (const [k, p] of this.positions) if (!p.paused && !this.fetching.has(k)) idle.push(p);
      if (idle.length === 0) {
        await this.fetchWake.wait(100);
        continue;
      }
      const byLeader = new Map<number, Position[]>();
      try {
        for (const p of idle) {
          const meta = await this.cluster.topicMetadata(p.topic);
          const leader = meta.partitions.find((x) => x.partition === p.partition)?.leader ?? -1;
          if (leader < 0) continue;
          let list = byLeader.get(leader);
          if (list === undefined) byLeader.set(leader, (list = []));
          list.push(p);
        }
      } catch (err) {
        if (this.closed) return;
        await this.fetchFailed(err);
        continue;
      }
      if (byLeader.size === 0) {
        await this.cluster.refresh().catch(() => undefined);
        await this.fetchWake.wait(100);
        continue;
      }
      for (const [leader, ps] of byLeader) {
        const keys = ps.map((p) => key(p.topic, p.partition));
        for (const k of keys) this.fetching.add(k);
        void this.fetchFrom(leader, ps)
          .then(
            () => {
              this.fetchAttempt = 0;
            },
            (err: unknown) => {
              if (this.closed) return undefined;
              // No answer or a dropped connection: metadata refreshes ask this broker last.
              const address = err instanceof BrookError && err.code === -1 ? this.cluster.addressOf(leader) : undefined;
              if (address !== undefined) this.cluster.noteUnresponsive(address);
              return this.fetchFailed(err);
            },
          )
          .finally(() => {
            for (const k of keys) this.fetching.delete(k);
            this.fetchWake.wake();
          });
      }
      await this.fetchWake.wait(100);
    }
  }

  private async fetchFailed(err: unknown): Promise<void> {
    if (err instanceof BrookError && err.staleMetadata) await this.cluster.refresh().catch(() => undefined);
    if (!isRetriable(err)) this.cluster.options.logger.error({ err: String(err) }, "fetch failed");
    await sleep(backoffDelay(this.cluster.options.backoff, this.fetchAttempt++, this.cluster.options.random));
  }

  private async fetchFrom(leader: number, ps: Position[]): Promise<void> {
    const gens = new Map(ps.map((p) => [key(p.topic, p.partition), p.generation]));
    const byTopic = new Map<string, Position[]>();
    for (const p of ps) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    const res: FetchResponse = await this.cluster.connection(leader).call(
      (b) => b.fetch,
      {
        maxWaitMs: this.settings.maxWaitMs,
        minBytes: this.settings.minBytes,
        maxBytes: this.settings.maxBytes,
        isolationLevel: 0,
        topics: [...byTopic].map(([topic, list]) => ({
          topic,
          partitions: list.map((p) => ({ partition: p.partition, fetchOffset: p.fetch, currentLeaderEpoch: -1, partitionMaxBytes: this.settings.maxPartitionBytes })),
        })),
      },
      this.settings.maxWaitMs + this.cluster.options.requestTimeoutMs,
      "Fetch",
    );
    if (res.errorCode !== 0) throw errorFromCode(res.errorCode, "", "Fetch");
    for (const t of res.topics) {
      for (const part of t.partitions) {
        const k = key(t.topic, part.partition);
        const pos = this.positions.get(k);
        if (pos === undefined || pos.generation !== gens.get(k)) continue; // seeked or revoked meanwhile
        if (part.errorCode === 1) {
          await this.resetOutOfRange(pos);
          continue;
        }
        if (part.errorCode !== 0) throw errorFromCode(part.errorCode, part.errorMessage, `Fetch ${t.topic}-${part.partition}`);
        const indexed = await indexBatches(part.records, this.config.checkCrcs ?? true);
        if (pos.generation !== gens.get(k)) continue;
        const from = pos.fetch;
        const next = Math.max(from, indexed.nextOffset);
        pos.fetch = next;
        this.buffer.push({
          topic: t.topic,
          partition: part.partition,
          generation: pos.generation,
          records: new RecordCursor(indexed.runs, from),
          count: indexed.count,
          nextOffset: next,
          highWatermark: part.highWatermark,
        });
      }
    }
    this.deliverWake.wake();
  }

  private async resetOutOfRange(pos: Position): Promise<void> {
    const r = this.settings.reset;
    const offsets = await listOffsets(this.cluster, pos.topic, r === "latest" ? -1 : -2);
    const o = offsets.get(pos.partition) ?? 0;
    this.cluster.options.logger.warn({ topic: pos.topic, partition: pos.partition, from: pos.fetch, to: o }, "offset out of range; reset");
    pos.fetch = o;
    pos.consumed = o;
    pos.generation++;
  }

  // ---- delivery ----

  /** The cursor's current record as the application sees it. */
  private toMessage(topic: string, partition: number, r: RecordCursor): ConsumedMessage<K, V> {
    try {
      return {
        topic,
        partition,
        offset: r.offset,
        timestamp: r.timestamp,
        key: this.config.keyDeserializer.deserialize(r.key(), topic),
        value: this.config.valueDeserializer.deserialize(r.value(), topic),
        headers: r.headers(),
      };
    } catch (err) {
      throw new SerializationError(`deserializing ${topic}-${partition}@${r.offset} failed: ${String(err)}`, -1, false, false, { cause: err });
    }
  }

  private async deliverLoop(opts: RunOptions<K, V>): Promise<void> {
    while (!this.closed) {
      const chunk = this.buffer.take((t, p, g) => this.positions.get(key(t, p))?.generation === g);
      if (chunk === undefined) {
        this.fetchWake.wake();
        await this.maybeAutoCommit();
        await this.deliverWake.wait(100);
        continue;
      }
      const pos = this.positions.get(key(chunk.topic, chunk.partition))!;
      let done!: () => void;
      this.deliveringNow = new Promise<void>((r) => (done = r));
      try {
        if (opts.eachBatch !== undefined) {
          const messages: ConsumedMessage<K, V>[] = [];
          const cur = chunk.records;
          while (cur.next()) messages.push(this.toMessage(chunk.topic, chunk.partition, cur));
          if (messages.length > 0) await opts.eachBatch({ topic: chunk.topic, partition: chunk.partition, highWatermark: chunk.highWatermark, messages });
          if (pos.generation === chunk.generation) pos.consumed = chunk.nextOffset;
        } else {
          const eachMessage = opts.eachMessage!;
          const cur = chunk.records;
          while (pos.generation === chunk.generation && !this.closed && cur.next()) {
            const handled = eachMessage(this.toMessage(chunk.topic, chunk.partition, cur));
            // Awaiting a handler that returned nothing would cost a microtask per record.
            if (handled !== undefined) await handled;
            if (pos.generation === chunk.generation) pos.consumed = cur.offset + 1;
          }
        }
      } catch (err) {
        // The handler failed: redeliver from the failed record after a pause (at-least-once).
        this.cluster.options.logger.error({ err: String(err), topic: chunk.topic, partition: chunk.partition }, "message handler threw; retrying from the failed record");
        if (pos.generation === chunk.generation) {
          pos.fetch = pos.consumed;
          pos.generation++;
          this.buffer.drop(chunk.topic, chunk.partition);
        }
        await sleep(1_000);
      } finally {
        done();
      }
      this.fetchWake.wake();
      await this.maybeAutoCommit();
    }
  }

  /** Stops the loops, commits what was consumed (auto-commit), leaves the group. */
  close(): Promise<void> {
    // Every caller waits for the one close (its final commit and LeaveGroup): a second
    // close() that returned at once let a caller tear down the client under the first.
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private closing: Promise<void> | null = null;

  private async closeOnce(): Promise<void> {
    this.closed = true;
    this.fetchWake.wake();
    this.deliverWake.wake();
    this.heartbeatWake.wake();
    await this.deliveringNow;
    const groupId = this.config.groupId;
    if (groupId !== undefined && this.settings.autoCommit) {
      await this.commitOnClose().catch((err: unknown) => this.cluster.options.logger.warn({ err: String(err) }, "final commit failed"));
    }
    if (this.subscription !== null && this.memberId !== "") {
      const leaveEpoch = this.config.groupInstanceId !== undefined ? -2 : -1;
      await this.cluster
        .coordinator(groupId!)
        .then((c) =>
          c.call(
            (b) => b.consumerGroupHeartbeat,
            {
              groupId: groupId!,
              memberId: this.memberId,
              memberEpoch: leaveEpoch,
              instanceId: this.config.groupInstanceId ?? "",
              rackId: "",
              rebalanceTimeoutMs: 0,
              subscribedTopicNames: [],
              subscribedTopicRegex: "",
              serverAssignor: "",
              ownedPartitions: [],
              sessionTimeoutMs: 0,
            },
            5_000,
            "LeaveGroup",
          ),
        )
        .catch(() => undefined);
    }
    await Promise.allSettled(this.loops);
  }

  private async commitOnClose(): Promise<void> {
    const list = [...this.positions.values()].filter((p) => p.consumed !== p.committed).map((p) => ({ topic: p.topic, partition: p.partition, offset: p.consumed }));
    if (list.length > 0) await this.commit(list);
  }
}

/**
 * The coordinator matches a subscription pattern against whole topic names (Kafka's rule,
 * KIP-848); a JavaScript RegExp matches anywhere in the name (/^orders-/ takes orders-eu). The
 * pattern sent keeps the JavaScript meaning. Flags that change what matches (i, m, s, u, v)
 * cannot travel with it and are refused.
 */
export function subscriptionPattern(re: RegExp): string {
  const unsupported = re.flags.replace(/[gyd]/g, "");
  if (unsupported !== "") throw new ConfigError(`subscribe(): RegExp flags "${unsupported}" are not supported (the group coordinator matches the pattern without flags); write the pattern without them`);
  return `[\\s\\S]*?(?:${re.source})[\\s\\S]*`;
}
