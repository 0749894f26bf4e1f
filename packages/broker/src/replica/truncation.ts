// KIP-101/KIP-279: where a follower must truncate before fetching from a new leader, from the
// leader's answer to OffsetsForLeaderEpoch(follower's latest epoch). Pure.

export interface EpochAnswer {
  readonly epoch: number; // largest leader epoch <= the asked one; -1 unknown
  readonly endOffset: number; // its end offset on the leader; -1 unknown
}

/**
 * @param leader the leader's answer for the follower's latest epoch
 * @param ownEndOffsetForEpoch the follower's own end offset of an epoch (its epoch cache)
 * @param logEndOffset the follower's log end offset
 * @param highWatermark fallback when the leader knows no epoch (pre-KIP-101 behaviour)
 */
export function truncationOffset(
  leader: EpochAnswer,
  ownEndOffsetForEpoch: (epoch: number) => number,
  logEndOffset: number,
  highWatermark: number,
): number {
  if (leader.epoch < 0 || leader.endOffset < 0) return Math.min(highWatermark, logEndOffset);
  // KIP-279: the leader's largest epoch <= ours may be smaller than ours; then our log
  // diverged at the end of that epoch as *we* know it, or the leader's, whichever is first.
  const ownEnd = ownEndOffsetForEpoch(leader.epoch);
  const bound = ownEnd >= 0 ? Math.min(ownEnd, leader.endOffset) : leader.endOffset;
  return Math.min(bound, logEndOffset);
}
