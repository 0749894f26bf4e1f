// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) and toPositive, used to map a
// group id to its __consumer_offsets partition as DESIGN.md fixes it. A local copy until
// @brook/protocol exports the shared one; the vectors in test/group pin Kafka's values.
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export const toPositive = (n: number): number => n & 0x7fffffff;

/** The __consumer_offsets partition whose leader coordinates `groupId`. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  return toPositive(murmur2(Buffer.from(groupId, "utf8"))) % partitions;
}
