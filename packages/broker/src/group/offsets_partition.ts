// Maps a group id to its __consumer_offsets partition as DESIGN.md fixes it:
// toPositive(murmur2(groupId)) % N, with Kafka's murmur2 from @brook/protocol.
import { murmur2, toPositive } from "@brook/protocol";

/** The __consumer_offsets partition whose leader coordinates `groupId`. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  return toPositive(murmur2(Buffer.from(groupId, "utf8"))) % partitions;
}
