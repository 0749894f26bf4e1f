// Idempotent-producer state of one partition log (Kafka ProducerStateManager, simplified to
// idempotence without transactions): per producer id, its epoch and the sequence and offset
// ranges of its last 5 batches. Pure; the PartitionLog persists a snapshot in its checkpoint
// and rebuilds the rest from the log on recovery.
//
// Rules for a batch from an idempotent producer (producerId >= 0), checked by the leader:
//   epoch < current                  -> INVALID_PRODUCER_EPOCH
//   epoch > current                  -> new epoch, sequences restart: baseSequence must be 0
//   same epoch, ranges equal a kept batch's -> duplicate: answer that batch's offsets
//   same epoch, baseSequence != last + 1   -> OUT_OF_ORDER_SEQUENCE_NUMBER
//   unknown producer id              -> baseSequence must be 0, else OUT_OF_ORDER_SEQUENCE_NUMBER
//                                        (retriable: with several batches in flight, batch 1
//                                        may arrive before batch 0; accepting it would
//                                        reorder the producer's records for good)
// A producer whose state expired (producer.id.expiration.ms) or was lost therefore gets
// OUT_OF_ORDER_SEQUENCE_NUMBER on its next batch; the client fails that batch and starts
// a new producer id, whose sequences start at 0.
import { BrokerError } from "../errors.js";
import { lastOffsetOf, lastSequenceOf, type BatchHeader } from "./batch.js";
import { LogCode } from "./errors.js";

export const BATCHES_KEPT_PER_PRODUCER = 5;

export interface BatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly timestamp: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  readonly epoch: number;
  /** Oldest first, at most BATCHES_KEPT_PER_PRODUCER. */
  readonly batches: readonly BatchMetadata[];
}

export type SequenceCheck = { readonly kind: "append" } | { readonly kind: "duplicate"; readonly batch: BatchMetadata };

export class ProducerStateTable {
  private readonly byId = new Map<number, ProducerEntry>();

  constructor(entries: readonly ProducerEntry[] = []) {
    for (const e of entries) this.byId.set(e.producerId, e);
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.byId.get(producerId);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The leader's check of a batch before it is written; throws the Kafka error for bad ones. */
  check(h: BatchHeader): SequenceCheck {
    if (h.producerId < 0) return { kind: "append" };
    const entry = this.byId.get(h.producerId);
    if (entry === undefined) {
      if (h.baseSequence !== 0)
        throw new BrokerError(
          LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${h.producerId} is unknown on this partition and sent sequence ${h.baseSequence}; its first batch must start at sequence 0 (an earlier batch is still on its way, or the producer's state expired)`,
        );
      return { kind: "append" };
    }
    if (h.producerEpoch < entry.epoch)
      throw new BrokerError(
        LogCode.INVALID_PRODUCER_EPOCH,
        `producer ${h.producerId} epoch ${h.producerEpoch} is older than the current epoch ${entry.epoch}`,
      );
    if (h.producerEpoch > entry.epoch) {
      if (h.baseSequence !== 0)
        throw new BrokerError(
          LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `producer ${h.producerId} started epoch ${h.producerEpoch} at sequence ${h.baseSequence}, expected 0`,
        );
      return { kind: "append" };
    }
    const lastSeq = lastSequenceOf(h);
    const dup = entry.batches.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === lastSeq);
    if (dup !== undefined) return { kind: "duplicate", batch: dup };
    const latest = entry.batches[entry.batches.length - 1];
    if (latest !== undefined && h.baseSequence !== nextSequence(latest.lastSeq))
      throw new BrokerError(
        LogCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        `producer ${h.producerId} sent sequence ${h.baseSequence}, expected ${nextSequence(latest.lastSeq)}`,
      );
    return { kind: "append" };
  }

  /** Records a batch that is in the log (leader after writing, follower, recovery). */
  update(h: BatchHeader): void {
    if (h.producerId < 0) return;
    const entry = this.byId.get(h.producerId);
    const meta: BatchMetadata = {
      firstSeq: h.baseSequence,
      lastSeq: lastSequenceOf(h),
      firstOffset: h.baseOffset,
      lastOffset: lastOffsetOf(h),
      timestamp: h.maxTimestamp,
    };
    const kept = entry === undefined || h.producerEpoch !== entry.epoch ? [] : [...entry.batches];
    kept.push(meta);
    while (kept.length > BATCHES_KEPT_PER_PRODUCER) kept.shift();
    this.byId.set(h.producerId, { producerId: h.producerId, epoch: h.producerEpoch, batches: kept });
  }

  /** Forgets batches at or past `offset` (log truncation); producers left with none are dropped. */
  truncateFromEnd(offset: number): void {
    for (const [id, e] of this.byId) {
      const kept = e.batches.filter((b) => b.lastOffset < offset);
      if (kept.length === 0) this.byId.delete(id);
      else if (kept.length !== e.batches.length) this.byId.set(id, { ...e, batches: kept });
    }
  }

  /**
   * Forgets producers whose newest batch timestamp is more than `ttlMs` before `nowMs`
   * (Kafka's producer.id.expiration.ms), so the table does not grow without bound. Returns
   * how many were dropped.
   */
  expire(nowMs: number, ttlMs: number): number {
    let dropped = 0;
    for (const [id, e] of this.byId) {
      const newest = e.batches[e.batches.length - 1];
      if (newest !== undefined && nowMs - newest.timestamp > ttlMs) {
        this.byId.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  /** Replaces the whole table (reloading a snapshot before replaying the log after it). */
  resetTo(entries: readonly ProducerEntry[]): void {
    this.byId.clear();
    for (const e of entries) this.byId.set(e.producerId, e);
  }

  clear(): void {
    this.byId.clear();
  }

  snapshot(): ProducerEntry[] {
    return [...this.byId.values()];
  }
}

function nextSequence(seq: number): number {
  return seq === 0x7fffffff ? 0 : seq + 1;
}
