// Partitioners: choose a partition for a record. Keyed records use Kafka's murmur2 (same
// placement as Kafka clients). Keyless records are sticky by default: they stay on one
// partition until the batch there is sent, then move on, which keeps batches full (KIP-480).
// Round-robin and custom partitioners are options. Pure apart from the injected random.
import { murmur2, toPositive } from "@brook/protocol";

export interface PartitionerContext {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly partitionCount: number;
  /** Partitions with a live leader; keyless records avoid offline partitions. */
  readonly availablePartitions: readonly number[];
}

export interface Partitioner {
  partition(ctx: PartitionerContext): number;
  /**
   * Called before a record the partitioner placed on (topic, partition) would open a new
   * batch there; the record is then placed again. Sticky partitioners move on.
   */
  onNewBatch?(topic: string, partition: number): void;
}

export function keyPartition(key: Buffer, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount;
}

function pickAvailable(ctx: PartitionerContext, n: number): number {
  const avail = ctx.availablePartitions.length > 0 ? ctx.availablePartitions : null;
  return avail === null ? n % ctx.partitionCount : avail[n % avail.length]!;
}

/** Kafka's default: murmur2 for keys, sticky for keyless records. */
export function stickyPartitioner(random: () => number = Math.random): Partitioner {
  const current = new Map<string, number>();
  return {
    partition(ctx) {
      if (ctx.key !== null) return keyPartition(ctx.key, ctx.partitionCount);
      let p = current.get(ctx.topic);
      if (p === undefined || p >= ctx.partitionCount) {
        p = pickAvailable(ctx, Math.floor(random() * ctx.partitionCount));
        current.set(ctx.topic, p);
      }
      return p;
    },
    onNewBatch(topic, partition) {
      if (current.get(topic) === partition) current.delete(topic);
    },
  };
}

/** murmur2 for keys, round-robin for keyless records. */
export function roundRobinPartitioner(): Partitioner {
  const counters = new Map<string, number>();
  return {
    partition(ctx) {
      if (ctx.key !== null) return keyPartition(ctx.key, ctx.partitionCount);
      const n = counters.get(ctx.topic) ?? 0;
      counters.set(ctx.topic, n + 1);
      return pickAvailable(ctx, n);
    },
  };
}
