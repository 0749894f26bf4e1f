// The per-partition checkpoint's content (`partition.checkpoint`, written atomically with its
// own CRC by checkpoint_file.ts) and its shape check on load. Producer state is as of
// recoveryPoint: recovery and truncation replay the log from there.
import type { EpochEntry } from "./epoch_cache.js";
import type { ProducerEntry } from "./producer_state.js";

export interface PartitionCheckpoint {
  readonly version: 1;
  /** Everything below is on stable storage; recovery scans from the segment holding it. */
  readonly recoveryPoint: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly epochs: readonly EpochEntry[];
  /** Idempotent-producer state as of recoveryPoint. */
  readonly producers: readonly ProducerEntry[];
}

/** The checkpoint, or null when there is none; throws when its shape is wrong. */
export function parsePartitionCheckpoint(raw: unknown): PartitionCheckpoint | null {
  if (raw === null) return null;
  const b = raw as Partial<PartitionCheckpoint>;
  const nat = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  const epochsOk = Array.isArray(b.epochs) && b.epochs.every((e: EpochEntry) => nat(e?.epoch) && nat(e?.startOffset));
  const producersOk =
    Array.isArray(b.producers) &&
    b.producers.every((p: ProducerEntry) => Number.isSafeInteger(p?.producerId) && Number.isSafeInteger(p?.epoch) && Array.isArray(p?.batches));
  if (b.version !== 1 || !nat(b.recoveryPoint) || !nat(b.highWatermark) || !nat(b.logStartOffset) || !epochsOk || !producersOk)
    throw new Error("partition checkpoint has an unexpected shape");
  return b as PartitionCheckpoint;
}
