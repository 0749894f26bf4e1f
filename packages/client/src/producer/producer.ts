// The Producer: serializes and partitions records, batches them in the accumulator, and a
// sender sends ready batches, Produce requests per leader carrying a batch for each of its
// ready partitions, split so that none passes max.request.size. Idempotent by default: a
// producer id from the cluster and a sequence per partition; up to max.in.flight batches
// per partition; a failed batch goes back to the head of its partition's queue with its
// sequence, and while it is retried its partition sends one batch at a time, so order holds
// across retries and leader changes.
// Contract: send() resolves once every record is acknowledged per `acks`, or rejects with a
// SendError whose `results` says what happened to each record; nothing is dropped silently;
// buffer.memory bounds the bytes held, and send() waits (up to max.block.ms) for room.
import type { ProduceRequest, ProduceResponse } from "@brook/protocol/gen/brook/v1/broker";
import { isCompressionSupported } from "@brook/protocol";
import { backoffDelay } from "../backoff.js";
import type { Cluster } from "../cluster.js";
import { intInRange, oneOf } from "../config.js";
import {
  BrookError,
  ClosedError,
  ConfigError,
  errorFromCode,
  isRetriable,
  RecordTooLargeError,
  SerializationError,
  TimeoutError,
} from "../errors.js";
import { BATCH_HEADER_BYTES, type BatchRecord, Compression, type CompressionName, encodeBatchAsync, type RecordHeader, recordSize } from "../records/record_batch.js";
import type { Serializer } from "../serde.js";
import { Accumulator, splitBatch, type Batch, type PendingRecord } from "./accumulator.js";
import { BufferPool } from "./buffer_pool.js";
import { type Partitioner, type PartitionerContext, roundRobinPartitioner, stickyPartitioner } from "./partitioner.js";
import { BATCH_REQUEST_OVERHEAD, splitBySize } from "./request_split.js";

export interface ProducerConfig<K, V> {
  readonly keySerializer: Serializer<K>;
  readonly valueSerializer: Serializer<V>;
  /** 0, 1 or "all" (-1). Default "all". */
  readonly acks?: 0 | 1 | -1 | "all";
  /** Default true (requires acks=all). */
  readonly idempotent?: boolean;
  readonly lingerMs?: number;
  readonly batchSize?: number;
  readonly bufferMemory?: number;
  readonly maxRequestSize?: number;
  readonly compression?: CompressionName;
  readonly deliveryTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxInFlight?: number;
  readonly maxBlockMs?: number;
  readonly partitioner?: "sticky" | "round-robin" | Partitioner;
}

export interface Message<K, V> {
  readonly key?: K;
  readonly value: V;
  readonly headers?: Readonly<Record<string, string | Buffer | null>>;
  readonly timestamp?: number;
  readonly partition?: number;
}

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** -1 with acks=0 (the broker does not answer with offsets). */
  readonly offset: number;
}

/** Some records of a send failed; `results` has, per record in order, its metadata or its error. */
export class SendError extends BrookError {
  constructor(
    readonly results: readonly (RecordMetadata | BrookError)[],
    first: BrookError,
  ) {
    super(`${results.filter((r) => r instanceof BrookError).length} of ${results.length} records failed; first: ${first.message}`, first.code, first.retriable);
  }
}

/**
 * A record held by the producer: the batch record itself (`record` is the object), its size
 * and the send() it answers to, so a queued record is one object rather than a record
 * inside a wrapper (fewer objects alive per record is less work for every scavenge).
 */
class QueuedRecord implements BatchRecord, PendingRecord<Delivery> {
  /** Bytes counted against batch.size and buffer.memory: + room for larger deltas inside a batch. */
  readonly size: number;

  constructor(
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    readonly headers: readonly RecordHeader[],
    readonly timestamp: number,
    readonly handle: Delivery,
    readonly slot: number,
  ) {
    this.size = recordSize(this, 0, 0) + 8;
  }

  get record(): BatchRecord {
    return this;
  }
}

/**
 * The outcome of one send() call (or of one record on the record-by-record path): each
 * record's metadata or error in send order, handed to `done` once its last record settles.
 * One object per call, so a record costs no callbacks of its own.
 */
class Delivery {
  /** Set by whoever awaits the outcome, before any of the records can settle. */
  done: (out: (RecordMetadata | BrookError)[], failed: BrookError | undefined) => void = () => undefined;
  private readonly out: (RecordMetadata | BrookError)[];
  private remaining: number;
  private failed: BrookError | undefined;

  constructor(count: number) {
    this.out = new Array<RecordMetadata | BrookError>(count);
    this.remaining = count;
  }

  settle(slot: number, r: RecordMetadata | BrookError): void {
    this.out[slot] = r;
    if (r instanceof BrookError && this.failed === undefined) this.failed = r;
    if (--this.remaining === 0) this.done(this.out, this.failed);
  }
}

interface Settings {
  acks: number;
  idempotent: boolean;
  lingerMs: number;
  batchSize: number;
  bufferMemory: number;
  maxRequestSize: number;
  compression: CompressionName;
  deliveryTimeoutMs: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  maxBlockMs: number;
}

export function producerSettings(c: ProducerConfig<unknown, unknown>): Settings {
  const acks = c.acks === "all" ? -1 : oneOf("acks", c.acks, -1, [0, 1, -1]);
  if (c.idempotent === true && acks !== -1) throw new ConfigError(`idempotent producers need acks "all"; got acks ${String(c.acks)}`);
  const idempotent = c.idempotent ?? acks === -1;
  const s: Settings = {
    acks,
    idempotent,
    lingerMs: intInRange("linger.ms", c.lingerMs, 5, 0, 60_000),
    // 1 MiB, as the OpenMessaging Benchmark's Kafka driver sets it (Kafka's default is 16 KiB).
    // A request costs the client ~170 us of gRPC work whatever it carries, so a busy partition
    // should pack as much as max.request.size allows into it: 1 KiB records cost 4.8-5.1 us
    // of client CPU each with 64 KiB batches, 3.2-4.1 with 256 KiB, 2.5-3.4 with 1 MiB (bench
    // client/produce, medians of 3-run sessions). Nothing is reserved per batch (buffer.memory
    // counts record bytes), and at low rates linger.ms, not batch.size, decides when a batch
    // leaves.
    batchSize: intInRange("batch.size", c.batchSize, 1024 * 1024, 1, 16 * 1024 * 1024),
    bufferMemory: intInRange("buffer.memory", c.bufferMemory, 32 * 1024 * 1024, 1024, 2 ** 31 - 1),
    maxRequestSize: intInRange("max.request.size", c.maxRequestSize, 1024 * 1024, 1024, 256 * 1024 * 1024),
    compression: availableCompression(oneOf<CompressionName>("compression.type", c.compression, "none", ["none", "gzip", "snappy", "lz4", "zstd"])),
    deliveryTimeoutMs: intInRange("delivery.timeout.ms", c.deliveryTimeoutMs, 120_000, 1, 2 ** 31 - 1),
    requestTimeoutMs: intInRange("request.timeout.ms", c.requestTimeoutMs, 30_000, 1, 2 ** 31 - 1),
    // Kafka's 5. Concurrent gRPC calls may reach the broker out of order; the broker rejects
    // a batch whose predecessor has not landed (an unknown producer must start at 0), and the
    // retry rules in onBatchError resend in sequence order.
    maxInFlight: intInRange("max.in.flight.requests.per.connection", c.maxInFlight, 5, 1, idempotent ? 5 : 1000),
    maxBlockMs: intInRange("max.block.ms", c.maxBlockMs, 60_000, 0, 2 ** 31 - 1),
  };
  if (s.deliveryTimeoutMs < s.lingerMs + s.requestTimeoutMs) {
    throw new ConfigError(`delivery.timeout.ms (${s.deliveryTimeoutMs}) must be >= linger.ms + request.timeout.ms (${s.lingerMs + s.requestTimeoutMs})`);
  }
  if (s.maxRequestSize > s.bufferMemory) throw new ConfigError(`max.request.size (${s.maxRequestSize}) must be <= buffer.memory (${s.bufferMemory})`);
  return s;
}

const tpKey = (t: string, p: number): string => `${t}\u0000${p}`;

/** How often queued batches are checked against delivery.timeout.ms (a scan of every queue). */
const EXPIRY_SCAN_MS = 50;

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

function headersOf(h: Message<unknown, unknown>["headers"]): RecordHeader[] {
  if (h === undefined) return NO_HEADERS as RecordHeader[];
  return Object.entries(h).map(([k, v]) => ({ key: k, value: v === null ? null : typeof v === "string" ? Buffer.from(v, "utf8") : v }));
}

export class Producer<K = Buffer | null, V = Buffer | null> {
  private readonly s: Settings;
  private readonly acc: Accumulator<Delivery>;
  private readonly partitioner: Partitioner;
  private readonly inFlight = new Map<string, number>();
  private readonly retrying = new Set<string>();
  private readonly nextSequence = new Map<string, number>();
  /** Per partition: the sequence the broker expects next (all below it are acknowledged). */
  private readonly ackedSequence = new Map<string, number>();
  private readonly encoded = new WeakMap<Batch<Delivery>, { pid: number; bytes: Buffer }>();
  /** The producer id each batch's sequence was assigned under (a new id re-sequences). */
  private readonly sequencedUnder = new WeakMap<Batch<Delivery>, number>();
  /** Per batch in flight: the partition's acknowledged sequence when it was sent. */
  private readonly ackedWhenSent = new WeakMap<Batch<Delivery>, number>();
  /** When a retry of (partition, error code) was last logged: see warnRetry. */
  private readonly retryWarnedMs = new Map<string, number>();
  private readonly memoryWaiters: { size: number; wake: () => void }[] = [];
  /**
   * Slabs for encoded batches (see BufferPool). As many are kept idle as buffer.memory holds,
   * as Kafka's BufferPool keeps freed batch.size chunks: the number in flight swings between
   * a few and dozens, and with 8 or 15 kept a third of the takes still found none idle.
   */
  private readonly batchPool: BufferPool;
  private pid = { id: -1, epoch: -1 };
  private pidInit: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private lastRefreshMs = 0;
  private lastExpiryScanMs = 0;
  private admissionTail: Promise<void> = Promise.resolve();
  /** Records on the record-by-record path not yet admitted: the at-once path runs only when none are. */
  private admitting = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly config: ProducerConfig<K, V>,
    private readonly random: () => number = Math.random,
  ) {
    this.s = producerSettings(config as ProducerConfig<unknown, unknown>);
    this.acc = new Accumulator({ batchSize: this.s.batchSize, lingerMs: this.s.lingerMs, bufferMemory: this.s.bufferMemory });
    // A batch closes before batch.size (its records' sizes are over-estimates), plus its header.
    const slab = this.s.batchSize + BATCH_HEADER_BYTES;
    this.batchPool = new BufferPool(slab, Math.max(1, Math.floor(this.s.bufferMemory / slab)));
    const p = config.partitioner ?? "sticky";
    if (p !== "sticky" && p !== "round-robin" && (typeof p !== "object" || p === null || typeof (p as Partial<Partitioner>).partition !== "function")) {
      throw new ConfigError(`partitioner must be "sticky", "round-robin" or an object with a partition(ctx) method, got ${typeof p === "function" ? "a function (wrap it: { partition: fn })" : JSON.stringify(p)}`);
    }
    this.partitioner = p === "sticky" ? stickyPartitioner(random) : p === "round-robin" ? roundRobinPartitioner() : p;
  }

  /** Bytes of records held (accepted, not yet acknowledged); never above buffer.memory. */
  get bufferedBytes(): number {
    return this.acc.usedBytes;
  }

  async send(req: { topic: string; messages: readonly Message<K, V>[] }): Promise<RecordMetadata[]> {
    if (this.closed) throw new ClosedError("the producer is closed");
    const { topic } = req;
    const fast = this.sendAtOnce(topic, req.messages);
    if (fast !== null) return fast;
    return this.sendEach(topic, req.messages);
  }

  /**
   * The common case without a promise per record: no earlier record is still being admitted
   * (so order is kept), the topic's metadata is cached and fresh, every record serializes,
   * and buffer memory has room for all of them now. Appends every record at once and settles
   * the whole send when its last record does. Returns null when any of that does not hold;
   * send() then takes the record-by-record path, which waits for metadata and memory.
   */
  private sendAtOnce(topic: string, messages: readonly Message<K, V>[]): Promise<RecordMetadata[]> | null {
    if (this.admitting > 0 || this.memoryWaiters.length > 0 || messages.length === 0) return null;
    const meta = this.cluster.freshTopicMetadata(topic);
    if (meta === undefined) return null;
    const count = meta.partitions.length;
    const now = Date.now();
    const pending: QueuedRecord[] = new Array<QueuedRecord>(messages.length);
    const delivery = new Delivery(messages.length);
    let total = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.partition !== undefined && (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= count)) return null;
      let key: Buffer | null;
      let value: Buffer | null;
      try {
        key = m.key === undefined ? null : this.config.keySerializer.serialize(m.key, topic);
        value = this.config.valueSerializer.serialize(m.value, topic);
      } catch {
        return null; // the per-record path reports it as that record's error
      }
      const r = new QueuedRecord(key, value, headersOf(m.headers), m.timestamp ?? now, delivery, i);
      if (r.size + 61 > this.s.maxRequestSize) return null;
      pending[i] = r;
      total += r.size;
    }
    if (!this.acc.reserve(total)) return null;
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      delivery.done = (out, failed) => (failed !== undefined ? reject(new SendError(out, failed)) : resolve(out as RecordMetadata[]));
      this.pending += pending.length;
      let available: number[] | undefined;
      // Keyless records share one context: the partitioner sees the same thing for each.
      let keyless: PartitionerContext | undefined;
      for (let i = 0; i < pending.length; i++) {
        const r = pending[i]!;
        let partition = messages[i]!.partition;
        if (partition === undefined) {
          available ??= meta.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
          const key = r.key;
          const ctx = key === null ? (keyless ??= { topic, key, partitionCount: count, availablePartitions: available }) : { topic, key, partitionCount: count, availablePartitions: available };
          partition = this.pickPartition(ctx, r.size);
        }
        this.acc.append(topic, partition, r, now);
      }
      this.schedule();
    });
  }

  /**
   * The partitioner's choice for a record without an explicit partition. As in Kafka
   * (KIP-480), a record that would open a new batch there is first announced with
   * onNewBatch, so a sticky partitioner moves on before the record lands: it starts the next
   * batch on the new partition instead of leaving a one-record batch behind and then
   * scattering the following records while each opens a batch somewhere else.
   */
  private pickPartition(ctx: PartitionerContext, size: number): number {
    const p = this.partitioner.partition(ctx);
    if (this.partitioner.onNewBatch === undefined || !this.acc.wouldOpenBatch(ctx.topic, p, size)) return p;
    this.partitioner.onNewBatch(ctx.topic, p);
    return this.partitioner.partition(ctx);
  }

  private async sendEach(topic: string, messages: readonly Message<K, V>[]): Promise<RecordMetadata[]> {
    const results = await Promise.allSettled(messages.map((m) => this.sendOne(topic, m)));
    const out = results.map((r) => (r.status === "fulfilled" ? r.value : toBrookError(r.reason)));
    const first = out.find((r): r is BrookError => r instanceof BrookError);
    if (first !== undefined) throw new SendError(out, first);
    return out as RecordMetadata[];
  }

  private async sendOne(topic: string, m: Message<K, V>): Promise<RecordMetadata> {
    let key: Buffer | null;
    let value: Buffer | null;
    try {
      key = m.key === undefined ? null : this.config.keySerializer.serialize(m.key, topic);
      value = this.config.valueSerializer.serialize(m.value, topic);
    } catch (err) {
      throw new SerializationError(`serializing a record for ${topic} failed: ${String(err)}`, -1, false, false, { cause: err });
    }
    const record = new QueuedRecord(key, value, headersOf(m.headers), m.timestamp ?? Date.now(), new Delivery(1), 0);
    const size = record.size;
    if (size + 61 > this.s.maxRequestSize) {
      throw new RecordTooLargeError(`a record of ${size} bytes exceeds max.request.size (${this.s.maxRequestSize} bytes); send smaller records or raise the limit`);
    }
    // Admission (metadata, partition choice, buffer memory, append) runs strictly in send()
    // order: a record waiting for metadata or memory must not be overtaken by a later one,
    // or records of one key could be written out of order.
    // max.block.ms counts from this call, not from when earlier records got admitted.
    const blockDeadline = Date.now() + this.s.maxBlockMs;
    this.admitting++;
    const admitted = this.admissionTail.then(() => this.admit(topic, m.partition, record, blockDeadline));
    this.admissionTail = admitted.then(
      () => {
        this.admitting--;
      },
      () => {
        this.admitting--;
      },
    );
    const { delivery } = await admitted;
    return delivery;
  }

  private async admit(
    topic: string,
    explicitPartition: number | undefined,
    record: QueuedRecord,
    blockDeadline: number,
  ): Promise<{ delivery: Promise<RecordMetadata> }> {
    // Like Kafka's producer: wait up to max.block.ms for the topic's metadata (a topic just
    // created may not have reached every broker yet); the error then names the topic.
    const meta = await this.cluster.withRetry(`Metadata for ${topic}`, () => this.cluster.topicMetadata(topic), blockDeadline);
    const count = meta.partitions.length;
    let partition: number;
    if (explicitPartition !== undefined) {
      if (!Number.isInteger(explicitPartition) || explicitPartition < 0 || explicitPartition >= count) {
        throw errorFromCode(3, `partition ${explicitPartition} is not in [0, ${count - 1}]`, `Sending to ${topic}`);
      }
      partition = explicitPartition;
    } else {
      const available = meta.partitions.filter((p) => p.leader >= 0).map((p) => p.partition);
      partition = this.pickPartition({ topic, key: record.key, partitionCount: count, availablePartitions: available }, record.size);
    }
    await this.reserve(record.size, blockDeadline);
    if (this.closed) {
      this.release(record.size);
      throw new ClosedError("the producer was closed while the record waited for buffer memory");
    }
    const delivery = new Promise<RecordMetadata>((resolve, reject) => {
      this.pending++;
      record.handle.done = (out, failed) => (failed !== undefined ? reject(failed) : resolve(out[0] as RecordMetadata));
      this.acc.append(topic, partition, record, Date.now());
      this.schedule();
    });
    return { delivery };
  }

  /** Waits for buffer memory, first come first served, at most max.block.ms. */
  private reserve(size: number, deadline: number): Promise<void> {
    if (this.memoryWaiters.length === 0 && this.acc.reserve(size)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        size,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const i = this.memoryWaiters.indexOf(waiter);
        if (i >= 0) this.memoryWaiters.splice(i, 1);
        reject(
          new TimeoutError(
            `buffer.memory (${this.s.bufferMemory} bytes) stayed full for max.block.ms (${this.s.maxBlockMs} ms); the cluster is slow or unreachable`,
            -1,
            true,
          ),
        );
      }, Math.max(0, deadline - Date.now()));
      this.memoryWaiters.push(waiter);
    });
  }

  private release(size: number): void {
    this.acc.release(size);
    while (this.memoryWaiters.length > 0 && this.acc.reserve(this.memoryWaiters[0]!.size)) this.memoryWaiters.shift()!.wake();
  }

  /** Closes open batches and resolves once every record sent so far is settled. */
  async flush(): Promise<void> {
    if (this.pending === 0) return;
    this.acc.beginFlush();
    this.schedule();
    try {
      await new Promise<void>((r) => this.idleWaiters.push(r));
    } finally {
      this.acc.endFlush();
    }
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const now = Date.now();
    if (this.s.idempotent && this.pid.id < 0) {
      this.initProducerId();
      return;
    }
    let leaderMissing = false;
    const slotsFull = (t: string, p: number): boolean => {
      const k = tpKey(t, p);
      return (this.inFlight.get(k) ?? 0) >= (this.retrying.has(k) ? 1 : this.s.maxInFlight);
    };
    const batches = this.acc.drain(now, (t, p) => {
      if (slotsFull(t, p)) return false;
      if (this.leaderOf(t, p) >= 0) return true;
      leaderMissing = true;
      return false;
    });
    const byLeader = new Map<number, Batch<Delivery>[]>();
    for (const b of batches) {
      if (now - b.createdMs > this.s.deliveryTimeoutMs) {
        this.fail(b, this.expiredError(b, "acknowledged"));
        continue;
      }
      const leader = this.leaderOf(b.topic, b.partition);
      const list = byLeader.get(leader) ?? [];
      list.push(b);
      byLeader.set(leader, list);
      const k = tpKey(b.topic, b.partition);
      this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
      this.ackedWhenSent.set(b, this.ackedSequence.get(k) ?? 0);
    }
    for (const [leader, list] of byLeader) {
      for (const request of splitBySize(list, this.s.maxRequestSize, requestBytes)) void this.sendRequest(leader, request);
    }
    if (now - this.lastExpiryScanMs >= EXPIRY_SCAN_MS) {
      this.lastExpiryScanMs = now;
      this.failExpiredQueued(now);
    }
    if (leaderMissing && now - this.lastRefreshMs > 250) {
      this.lastRefreshMs = now;
      void this.cluster.refresh().catch(() => undefined);
    }
    // Partitions waiting for an in-flight request are woken by its completion, not polled.
    const delay = this.acc.nextReadyDelay(now, slotsFull);
    if (delay !== null) this.timer = setTimeout(() => this.run(), Math.max(1, leaderMissing ? Math.max(delay, 50) : Math.min(delay, 1_000)));
  }

  private failExpiredQueued(now: number): void {
    // Batches stuck behind an unreachable cluster still honour delivery.timeout.ms.
    for (const b of this.acc.removeWhere((x) => now - x.createdMs > this.s.deliveryTimeoutMs)) {
      this.fail(b, this.expiredError(b, "sent"));
    }
  }

  /**
   * The error for a batch whose delivery.timeout.ms ran out: the last broker error it was
   * retried for, when there was one (NOT_ENOUGH_REPLICAS says what to fix; "timed out" does not).
   */
  private expiredError(b: Batch<Delivery>, what: "sent" | "acknowledged"): TimeoutError {
    const limit = `delivery.timeout.ms (${this.s.deliveryTimeoutMs} ms)`;
    const last = b.lastError;
    if (last instanceof BrookError) return new TimeoutError(`${last.message}; gave up after ${b.attempts} retries in ${limit}`, last.code, true, false, { cause: last });
    return new TimeoutError(`records for ${b.topic}-${b.partition} were not ${what} within ${limit}${what === "sent" ? "; is the cluster up?" : ""}`, -1, true);
  }

  /**
   * A retry says why, at most once per partition and error every 10 s: a producer that keeps
   * retrying NOT_ENOUGH_REPLICAS for two minutes must not look like a hang.
   */
  private warnRetry(b: Batch<Delivery>, err: BrookError): void {
    const k = `${tpKey(b.topic, b.partition)}:${err.code}`;
    const now = Date.now();
    if (now - (this.retryWarnedMs.get(k) ?? -Infinity) < 10_000) return;
    this.retryWarnedMs.set(k, now);
    const leftMs = Math.max(0, b.createdMs + this.s.deliveryTimeoutMs - now);
    this.cluster.options.logger.warn(
      { topic: b.topic, partition: b.partition, code: err.code, attempt: b.attempts, givesUpInMs: leftMs },
      `retry ${b.attempts} of a produce to ${b.topic}-${b.partition} (gives up in ${Math.ceil(leftMs / 1000)} s, delivery.timeout.ms): ${err.message}`,
    );
  }

  private leaderOf(topic: string, partition: number): number {
    return this.cluster.topic(topic)?.partitions.find((p) => p.partition === partition)?.leader ?? -1;
  }

  private initProducerId(): void {
    if (this.pidInit !== null) return;
    this.pidInit = this.cluster
      .withRetry("InitProducerId", () =>
        this.cluster.anyBroker(
          (c) => c.call((b) => b.initProducerId, { transactionalId: "", producerId: -1, producerEpoch: -1 }, this.s.requestTimeoutMs, "InitProducerId"),
          "InitProducerId",
        ),
      )
      .then((res) => {
        if (res.error !== undefined && res.error.code !== 0) throw errorFromCode(res.error.code, res.error.message, "InitProducerId");
        this.pid = { id: res.producerId, epoch: res.producerEpoch };
        this.nextSequence.clear();
        this.ackedSequence.clear();
      })
      .catch((err: unknown) => {
        // Without a producer id nothing can be sent: fail what is queued rather than hold it.
        for (const b of this.acc.drainAll()) this.fail(b, toBrookError(err));
      })
      .finally(() => {
        this.pidInit = null;
        this.schedule();
      });
  }

  private async encode(b: Batch<Delivery>): Promise<Buffer> {
    const cached = this.encoded.get(b);
    if (cached !== undefined && cached.pid === this.pid.id) return cached.bytes;
    if (this.s.idempotent && this.sequencedUnder.get(b) !== this.pid.id) {
      const k = tpKey(b.topic, b.partition);
      const seq = this.nextSequence.get(k) ?? 0;
      b.baseSequence = seq;
      this.nextSequence.set(k, (seq + b.records.length) % 2 ** 31);
      this.sequencedUnder.set(b, this.pid.id);
    }
    const bytes = await encodeBatchAsync(
      b.records.map((r) => r.record),
      {
        producerId: this.s.idempotent ? this.pid.id : -1,
        producerEpoch: this.s.idempotent ? this.pid.epoch : -1,
        baseSequence: this.s.idempotent ? b.baseSequence : -1,
        compression: this.s.compression,
      },
      (n) => this.batchPool.take(n),
    );
    this.encoded.set(b, { pid: this.pid.id, bytes });
    return bytes;
  }

  private async sendRequest(leader: number, batches: Batch<Delivery>[]): Promise<void> {
    let res: ProduceResponse;
    try {
      const byTopic = new Map<string, { partition: number; records: Buffer }[]>();
      for (const b of batches) {
        const list = byTopic.get(b.topic) ?? [];
        list.push({ partition: b.partition, records: await this.encode(b) });
        byTopic.set(b.topic, list);
      }
      const req: ProduceRequest = {
        acks: this.s.acks,
        timeoutMs: this.s.requestTimeoutMs,
        transactionalId: "",
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
      res = await this.cluster.connection(leader).produce(req, this.s.requestTimeoutMs + 5_000);
    } catch (err) {
      const e = toBrookError(err);
      if (e.code === -1) {
        // No answer or a broken connection: metadata refreshes ask this broker last.
        const address = this.cluster.addressOf(leader);
        if (address !== undefined) this.cluster.noteUnresponsive(address);
      }
      for (const b of batches) this.onBatchError(b, e);
      this.schedule();
      return;
    }
    const answers = new Map<string, ProduceResponse["topics"][number]["partitions"][number]>();
    for (const t of res.topics) for (const p of t.partitions) answers.set(tpKey(t.topic, p.partition), p);
    for (const b of batches) {
      const a = answers.get(tpKey(b.topic, b.partition));
      if (this.s.acks === 0) this.complete(b, -1);
      else if (a === undefined) this.onBatchError(b, errorFromCode(-1, "no answer for this partition", `Produce to ${b.topic}-${b.partition}`));
      else if (a.errorCode === 0) this.complete(b, a.baseOffset);
      else if (a.errorCode === 46) this.complete(b, -1); // duplicate of a batch already written
      else {
        this.onBatchError(b, errorFromCode(a.errorCode, a.errorMessage, `Produce to ${b.topic}-${b.partition}`));
        continue;
      }
      this.recycle(b);
    }
    this.schedule();
  }

  /**
   * Lends an acknowledged batch's bytes again. The answer came for the one request that
   * carried them, so grpc-js has framed (copied) it. A batch sent more than once is left to
   * the garbage collector: an earlier request of it may still wait in a stream's write queue.
   */
  private recycle(b: Batch<Delivery>): void {
    const encoded = this.encoded.get(b);
    this.encoded.delete(b);
    if (encoded !== undefined && b.attempts === 0) this.batchPool.release(encoded.bytes);
  }

  /** `n` records settled: wakes flush() once none is left. */
  private settled(n: number): void {
    this.pending -= n;
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private settleSlot(b: Batch<Delivery>): void {
    const k = tpKey(b.topic, b.partition);
    this.inFlight.set(k, Math.max(0, (this.inFlight.get(k) ?? 1) - 1));
  }

  private complete(b: Batch<Delivery>, baseOffset: number): void {
    this.settleSlot(b);
    if (this.s.idempotent && b.baseSequence >= 0 && this.encoded.get(b)?.pid === this.pid.id) {
      // Never backwards: a late answer for an older batch (a resent duplicate) must not undo
      // a later batch's acknowledgement.
      const k = tpKey(b.topic, b.partition);
      const end = (b.baseSequence + b.records.length) % 2 ** 31;
      if (seqAfter(end, this.ackedSequence.get(k) ?? 0)) this.ackedSequence.set(k, end);
    }
    this.retrying.delete(tpKey(b.topic, b.partition));
    this.release(b.bytes);
    const { topic, partition, records } = b;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      r.handle.settle(r.slot ?? 0, { topic, partition, offset: baseOffset < 0 ? -1 : baseOffset + i });
    }
    this.settled(records.length);
  }

  private fail(b: Batch<Delivery>, err: BrookError): void {
    this.release(b.bytes);
    for (const r of b.records) r.handle.settle(r.slot ?? 0, err);
    this.settled(b.records.length);
    // A hole in the sequence: later batches would be rejected; start a new producer id.
    if (this.s.idempotent && b.baseSequence >= 0) this.pid = { id: -1, epoch: -1 };
  }

  private onBatchError(b: Batch<Delivery>, err: BrookError): void {
    this.settleSlot(b);
    const k = tpKey(b.topic, b.partition);
    const sameProducer = this.s.idempotent && b.baseSequence >= 0 && this.encoded.get(b)?.pid === this.pid.id;
    const acked = this.ackedSequence.get(k) ?? 0;
    // The broker accepts a producer's sequences only contiguously from 0, so once a later
    // batch is acknowledged this one is in the log (its answer was lost, e.g. a timeout).
    // Resending it could fall outside the broker's window of 5 remembered batches.
    if (sameProducer && !seqAfter((b.baseSequence + b.records.length) % 2 ** 31, acked)) {
      this.complete(b, -1);
      return;
    }
    // OUT_OF_ORDER_SEQUENCE while an earlier batch of ours was unacknowledged is expected:
    // concurrent requests may reach the broker out of order (gRPC calls share no ordering),
    // or the earlier one is being retried. Retry it behind that batch (the accumulator keeps
    // retries in sequence order and the partition sends one batch at a time while retrying).
    // It is a real gap (the broker lost this producer's state) only when the batch was the
    // next one the broker should take at the moment it was sent.
    const ackedAtSend = this.ackedWhenSent.get(b) ?? acked;
    const outOfOrderBehindRetry = err.code === 45 && sameProducer && (seqAfter(b.baseSequence, acked) || seqAfter(b.baseSequence, ackedAtSend));
    const expired = Date.now() - b.createdMs > this.s.deliveryTimeoutMs;
    // MESSAGE_TOO_LARGE for a batch of several records: the topic's max.message.bytes is below
    // batch.size. Nothing was written; send it again as two halves with the same sequence
    // range, one batch at a time (as while retrying), halving again as often as needed. A
    // single record over the limit is the application's error.
    if (err.code === 10 && b.records.length > 1 && !expired) {
      const [first, second] = splitBatch(b);
      const pid = this.sequencedUnder.get(b);
      if (pid !== undefined) for (const half of [first, second]) this.sequencedUnder.set(half, pid);
      this.retrying.add(k);
      this.acc.requeue(second);
      this.acc.requeue(first);
      return;
    }
    // The broker no longer knows this producer on the partition (producer.id.expiration.ms
    // passed while it was idle): it answers OUT_OF_ORDER_SEQUENCE to the very batch it should
    // take next, with everything before it acknowledged. That batch was not written, so it is
    // safe to resend under a new producer id from sequence 0 (Kafka's KIP-360 does the same
    // with an epoch bump); a first batch (sequence 0) refused that way is a real error.
    const forgotten = err.code === 45 && sameProducer && b.baseSequence !== 0 && b.baseSequence === acked && b.baseSequence === ackedAtSend;
    if (forgotten && !expired) {
      this.cluster.options.logger.info({ topic: b.topic, partition: b.partition, producerId: this.pid.id }, "the broker expired this producer's state; resending under a new producer id");
      this.pid = { id: -1, epoch: -1 };
      b.attempts++;
      b.retryAtMs = 0;
      this.acc.requeue(b);
      return;
    }
    if ((isRetriable(err) || outOfOrderBehindRetry) && !expired) {
      b.attempts++;
      if (!outOfOrderBehindRetry) {
        b.lastError = err;
        this.warnRetry(b, err);
      }
      // Behind an earlier in-flight batch there is nothing to wait for but that batch.
      b.retryAtMs = outOfOrderBehindRetry ? 0 : Date.now() + backoffDelay({ initialMs: 100, maxMs: 1_000 }, b.attempts - 1, this.random);
      this.retrying.add(k);
      this.acc.requeue(b);
      // A request that timed out or lost its connection (code -1) may have gone to a leader
      // that is paused or gone; the cluster has likely moved the partition meanwhile.
      if (err.staleMetadata || err.code === -1) void this.cluster.refresh([b.topic]).catch(() => undefined);
      return;
    }
    this.retrying.delete(k);
    this.fail(b, expired ? new TimeoutError(`${err.message}; gave up after delivery.timeout.ms (${this.s.deliveryTimeoutMs} ms)`, err.code, true, false, { cause: err }) : err);
  }
}

/** a > b in int32 sequence space, where sequences wrap at 2^31 (Kafka's rule). */
function seqAfter(a: number, b: number): boolean {
  const d = (a - b + 2 ** 31) % 2 ** 31;
  return d !== 0 && d < 2 ** 30;
}

/** A batch's estimated share of a Produce request (its records are sized before encoding). */
function requestBytes(b: Batch<unknown>): number {
  return b.bytes + BATCH_REQUEST_OVERHEAD + b.topic.length;
}

function toBrookError(err: unknown): BrookError {
  return err instanceof BrookError ? err : new BrookError(String(err), -1, false, false, { cause: err });
}

/** A codec whose native module did not load on this machine is refused at construction, not at the first send. */
function availableCompression(name: CompressionName): CompressionName {
  if (!isCompressionSupported(Compression[name])) throw new ConfigError(`compression.type ${name} is not available on this machine (its native module did not load); use gzip, or install the module for this platform`);
  return name;
}
