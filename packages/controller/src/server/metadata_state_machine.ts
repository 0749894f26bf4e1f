// The metadata log as a Raft state machine: applies committed entries (one MetadataBatch
// each) to the committed MetadataImage, snapshots and restores the image, and keeps a bounded
// tail of recent batches so FetchMetadata can stream records instead of snapshots.
// Listeners hear every applied batch and every restore, in log order.
import type { Entry, Snapshot, StateMachine } from "@brook/raft";
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { MetadataReplayError } from "../errors.js";
import { MetadataDelta } from "../image/delta.js";
import { EMPTY_IMAGE, type MetadataImage } from "../image/image.js";
import { decodeBatch, decodeSnapshot, encodeSnapshot } from "../image/records.js";

export interface CommittedBatch {
  readonly offset: number;
  readonly epoch: number;
  readonly records: readonly MetadataRecord[];
}

export type MetadataEvent = { readonly kind: "batches"; readonly batches: readonly CommittedBatch[] } | { readonly kind: "restored"; readonly image: MetadataImage };

export class MetadataStateMachine implements StateMachine {
  #image: MetadataImage = EMPTY_IMAGE;
  readonly #tail: CommittedBatch[] = [];
  /** The tail holds every batch with offset > #tailBase. */
  #tailBase = 0;
  readonly #maxTail: number;
  readonly #listeners = new Set<(e: MetadataEvent) => void>();
  readonly #rejected = new Map<number, string>();
  readonly #onRejected: (offset: number, err: MetadataReplayError) => void;

  constructor(onRejected: (offset: number, err: MetadataReplayError) => void = () => undefined, maxTailBatches = 20_000) {
    this.#onRejected = onRejected;
    this.#maxTail = maxTailBatches;
  }

  get image(): MetadataImage {
    return this.#image;
  }

  apply(entries: readonly Entry[]): void {
    const batches: CommittedBatch[] = [];
    for (const e of entries) {
      if (e.data.length === 0) continue;
      // One delta per entry: an entry that cannot be applied is skipped whole, the same way
      // on every node (same image, same entry), instead of stopping the quorum.
      try {
        const records = decodeBatch(e.data);
        const delta = new MetadataDelta(this.#image);
        for (const r of records) delta.replay(r);
        this.#image = delta.apply(e.index, e.term);
        batches.push({ offset: e.index, epoch: e.term, records });
      } catch (err) {
        if (!(err instanceof MetadataReplayError)) throw err;
        this.#rejected.set(e.index, err.message);
        if (this.#rejected.size > 1000) this.#rejected.delete(this.#rejected.keys().next().value as number);
        this.#onRejected(e.index, err);
      }
    }
    if (batches.length === 0) return;
    this.#tail.push(...batches);
    if (this.#tail.length > this.#maxTail) {
      const dropped = this.#tail.splice(0, this.#tail.length - this.#maxTail);
      this.#tailBase = dropped[dropped.length - 1]?.offset ?? this.#tailBase;
    }
    this.#emit({ kind: "batches", batches });
  }

  /** Why the entry at `offset` was skipped, if it was (recent entries only). */
  rejection(offset: number): string | undefined {
    return this.#rejected.get(offset);
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.#image);
  }

  restore(snapshot: Snapshot): void {
    this.#image = decodeSnapshot(snapshot.data);
    this.#tail.length = 0;
    this.#tailBase = this.#image.offset;
    this.#emit({ kind: "restored", image: this.#image });
  }

  /** Committed batches with offset >= from, or undefined when the tail no longer has them all. */
  batchesFrom(from: number): CommittedBatch[] | undefined {
    if (from <= this.#tailBase) return from <= 1 && this.#tailBase === 0 ? [...this.#tail] : undefined;
    let lo = 0;
    let hi = this.#tail.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#tail[mid] as CommittedBatch).offset < from) lo = mid + 1;
      else hi = mid;
    }
    return this.#tail.slice(lo);
  }

  listen(f: (e: MetadataEvent) => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  #emit(e: MetadataEvent): void {
    for (const f of this.#listeners) f(e);
  }
}
