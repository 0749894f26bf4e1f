// The producer's record accumulator, pure: records are appended to an open batch per
// partition; a batch closes when the next record would pass batch.size; a partition is
// ready when it has a closed batch, its open batch is older than linger.ms, or a flush is
// pending. Memory (buffer.memory) is accounted in record bytes: `reserve` refuses when full
// and the producer makes send() wait, so memory never grows past the bound. Time is
// injected (`nowMs` arguments); no timers here.
import type { BatchRecord } from "../records/record_batch.js";

export interface PendingRecord<R> {
  readonly record: BatchRecord;
  readonly size: number;
  /** Caller's handle (e.g. the send() call the record came from). */
  readonly handle: R;
  /** The record's place within its handle (e.g. its index in that send() call); 0 if unused. */
  readonly slot?: number;
}

export interface Batch<R> {
  readonly topic: string;
  readonly partition: number;
  readonly createdMs: number;
  readonly records: PendingRecord<R>[];
  bytes: number;
  /** Assigned when first drained (idempotence); kept across retries. */
  baseSequence: number;
  attempts: number;
  /** Not before this time (retry backoff). */
  retryAtMs: number;
  /** Why the last attempt failed (a retriable error), for the error given when retries run out. */
  lastError?: Error;
}

/**
 * Two batches in place of `b`, its records halved in order, for a broker that refused `b` as
 * larger than the topic's max.message.bytes (Kafka's KIP-126). The broker wrote none of it, so
 * the halves take `b`'s sequence range between them: later batches' sequences still follow.
 */
export function splitBatch<R>(b: Batch<R>): [Batch<R>, Batch<R>] {
  if (b.records.length < 2) throw new RangeError("a batch of one record cannot be split");
  const mid = Math.ceil(b.records.length / 2);
  const half = (records: PendingRecord<R>[], baseSequence: number): Batch<R> => ({
    topic: b.topic,
    partition: b.partition,
    createdMs: b.createdMs,
    records,
    bytes: records.reduce((n, r) => n + r.size, 0),
    baseSequence,
    attempts: b.attempts,
    retryAtMs: 0,
    ...(b.lastError !== undefined ? { lastError: b.lastError } : {}),
  });
  const first = half(b.records.slice(0, mid), b.baseSequence);
  const second = half(b.records.slice(mid), b.baseSequence < 0 ? -1 : (b.baseSequence + mid) % 2 ** 31);
  return [first, second];
}

export interface AccumulatorConfig {
  readonly batchSize: number;
  readonly lingerMs: number;
  readonly bufferMemory: number;
}

interface PartitionQueue<R> {
  readonly topic: string;
  readonly partition: number;
  /** Closed batches waiting to be sent, oldest first; the last may be open. */
  readonly batches: Batch<R>[];
  open: Batch<R> | null;
}

export class Accumulator<R> {
  /** Per topic, the queues indexed by partition: no key string is built per append. */
  private readonly byTopic = new Map<string, (PartitionQueue<R> | undefined)[]>();
  /** Every queue, in creation order, for the scans. */
  private readonly queues: PartitionQueue<R>[] = [];
  private used = 0;
  private flushing = 0;

  constructor(private readonly config: AccumulatorConfig) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Takes `size` bytes of buffer.memory; false when that would pass the bound. */
  reserve(size: number): boolean {
    // A single record larger than the whole buffer is rejected before this (record size check).
    if (this.used + size > this.config.bufferMemory) return false;
    this.used += size;
    return true;
  }

  release(size: number): void {
    this.used -= size;
  }

  private queue(topic: string, partition: number): PartitionQueue<R> {
    let qs = this.byTopic.get(topic);
    if (qs === undefined) {
      qs = [];
      this.byTopic.set(topic, qs);
    }
    let q = qs[partition];
    if (q === undefined) {
      q = { topic, partition, batches: [], open: null };
      qs[partition] = q;
      this.queues.push(q);
    }
    return q;
  }

  /** Whether appending a record of `size` bytes to (topic, partition) would open a new batch. */
  wouldOpenBatch(topic: string, partition: number, size: number): boolean {
    const open = this.byTopic.get(topic)?.[partition]?.open ?? null;
    return open === null || (open.bytes + size > this.config.batchSize && open.records.length > 0);
  }

  /** Appends a record (already reserved); returns true when it opened a new batch. */
  append(topic: string, partition: number, rec: PendingRecord<R>, nowMs: number): boolean {
    const q = this.queue(topic, partition);
    let opened = false;
    if (q.open !== null && q.open.bytes + rec.size > this.config.batchSize && q.open.records.length > 0) {
      q.open = null; // closed: stays in q.batches
    }
    if (q.open === null) {
      q.open = { topic, partition, createdMs: nowMs, records: [], bytes: 0, baseSequence: -1, attempts: 0, retryAtMs: 0 };
      q.batches.push(q.open);
      opened = true;
    }
    q.open.records.push(rec);
    q.open.bytes += rec.size;
    return opened;
  }

  /** Puts a failed batch back at the head of its partition's queue (order is kept). */
  requeue(batch: Batch<R>): void {
    const q = this.queue(batch.topic, batch.partition);
    // Keep sequence order: batches with lower sequences go first.
    let i = 0;
    while (i < q.batches.length && q.batches[i]!.baseSequence >= 0 && q.batches[i]!.baseSequence < batch.baseSequence) i++;
    q.batches.splice(i, 0, batch);
  }

  beginFlush(): void {
    this.flushing++;
  }

  endFlush(): void {
    this.flushing--;
  }

  private isReady(q: PartitionQueue<R>, b: Batch<R>, nowMs: number): boolean {
    if (b.retryAtMs > nowMs) return false;
    if (b !== q.open) return true;
    return this.flushing > 0 || nowMs - b.createdMs >= this.config.lingerMs || b.bytes >= this.config.batchSize;
  }

  /**
   * Removes and returns at most one ready batch per partition for which `canSend` agrees.
   * The returned batch is closed (later appends open a new one).
   */
  drain(nowMs: number, canSend: (topic: string, partition: number) => boolean): Batch<R>[] {
    const out: Batch<R>[] = [];
    for (const q of this.queues) {
      const head = q.batches[0];
      if (head === undefined || !this.isReady(q, head, nowMs) || !canSend(q.topic, q.partition)) continue;
      q.batches.shift();
      if (q.open === head) q.open = null;
      out.push(head);
    }
    return out;
  }

  /** Milliseconds until some partition becomes ready (`skip` leaves some out); null when none. */
  nextReadyDelay(nowMs: number, skip?: (topic: string, partition: number) => boolean): number | null {
    let best: number | null = null;
    for (const q of this.queues) {
      const head = q.batches[0];
      if (head === undefined || skip?.(q.topic, q.partition) === true) continue;
      const at = head !== q.open || this.flushing > 0 ? head.retryAtMs : Math.max(head.retryAtMs, head.createdMs + this.config.lingerMs);
      const d = Math.max(0, at - nowMs);
      if (best === null || d < best) best = d;
    }
    return best;
  }

  /** Removes and returns the queued batches `pred` selects, keeping the others in order. */
  removeWhere(pred: (b: Batch<R>) => boolean): Batch<R>[] {
    const out: Batch<R>[] = [];
    for (const q of this.queues) {
      for (let i = 0; i < q.batches.length; ) {
        const b = q.batches[i]!;
        if (!pred(b)) {
          i++;
          continue;
        }
        q.batches.splice(i, 1);
        if (q.open === b) q.open = null;
        out.push(b);
      }
    }
    return out;
  }

  /** Removes and returns every queued batch (used when failing everything on close). */
  drainAll(): Batch<R>[] {
    const out: Batch<R>[] = [];
    for (const q of this.queues) {
      out.push(...q.batches);
      q.batches.length = 0;
      q.open = null;
    }
    return out;
  }

  get queuedBatches(): number {
    let n = 0;
    for (const q of this.queues) n += q.batches.length;
    return n;
  }
}
