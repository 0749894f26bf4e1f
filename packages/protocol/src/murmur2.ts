// Kafka's murmur2 key partitioner, bit-for-bit the Java client's Utils.murmur2 and
// DefaultPartitioner (and KafkaJS's default partitioner): the same key lands on the same
// partition as with a Kafka client. Pure functions.
import { BrookProtocolError, ErrorCode } from "./errors/errors.js";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/** Signed 32-bit murmur2 hash, as Java's Utils.murmur2 returns it. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's switch falls through; written out here because the compiler forbids fallthrough.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's Utils.toPositive: clears the sign bit (not Math.abs, which fails on MIN_VALUE). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition a keyed record goes to, as in Kafka's DefaultPartitioner / BuiltInPartitioner. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions <= 0) {
    throw new BrookProtocolError(ErrorCode.INVALID_PARTITIONS, `numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}
