// Leader-epoch cache of one partition log (Kafka's LeaderEpochFileCache, KIP-101/KIP-279):
// the start offset of every leader epoch that wrote to this log, in increasing order of both.
// Pure; the PartitionLog persists it in its checkpoint. Also the pure divergence rule a
// follower applies after a leader change.

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_OFFSET = -1;

export class LeaderEpochCache {
  private list: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.list = [...entries];
  }

  get entries(): readonly EpochEntry[] {
    return this.list;
  }

  get latestEpoch(): number {
    return this.list.length === 0 ? UNDEFINED_EPOCH : this.list[this.list.length - 1]!.epoch;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Ignored unless the epoch is newer than the
   * latest; entries with a start offset >= `startOffset` are dropped first (they were never
   * written, or are being overwritten), as Kafka's assign does.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0) return false;
    const latest = this.list[this.list.length - 1];
    if (latest !== undefined && (epoch <= latest.epoch)) {
      if (epoch === latest.epoch && startOffset < latest.startOffset) {
        // Same epoch re-assigned lower (follower rewriting after truncation).
        this.list[this.list.length - 1] = { epoch, startOffset };
        return true;
      }
      return false;
    }
    this.list = this.list.filter((e) => e.startOffset < startOffset);
    this.list.push({ epoch, startOffset });
    return true;
  }

  /**
   * OffsetsForLeaderEpoch (Kafka LeaderEpochFileCache.endOffsetFor): the largest epoch <=
   * `requested` this log knows and its end offset (the next epoch's start, or `logEndOffset`
   * for the latest). A requested epoch newer than the latest, or an empty cache, is unknown:
   * (-1, -1). One older than every known epoch answers (requested, first start offset).
   */
  endOffsetFor(requested: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const unknown = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
    if (this.list.length === 0 || requested < 0 || requested > this.latestEpoch) return unknown;
    if (requested === this.latestEpoch) return { epoch: requested, endOffset: logEndOffset };
    let idx = -1;
    for (let i = 0; i < this.list.length; i++) if (this.list[i]!.epoch <= requested) idx = i;
    const higher = this.list[idx + 1]!; // exists: requested < latestEpoch
    if (idx < 0) return { epoch: requested, endOffset: higher.startOffset };
    return { epoch: this.list[idx]!.epoch, endOffset: higher.startOffset };
  }

  /** Truncation of the log's tail to `endOffset`: drops epochs that start at or after it. */
  truncateFromEnd(endOffset: number): void {
    this.list = this.list.filter((e) => e.startOffset < endOffset);
  }

  /** The log start moved to `startOffset`: the epoch covering it now starts there. */
  truncateFromStart(startOffset: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.list.length; i++) if (this.list[i]!.startOffset <= startOffset) keepFrom = i;
    const kept = this.list.slice(keepFrom);
    if (kept.length > 0 && kept[0]!.startOffset < startOffset) kept[0] = { epoch: kept[0]!.epoch, startOffset };
    this.list = kept;
  }

  clear(): void {
    this.list = [];
  }
}

/**
 * KIP-101/KIP-279 divergence: where a follower must truncate its log before fetching from a
 * new leader. The follower asks the leader for the end offset of its latest epoch; the leader
 * answers with the largest epoch it knows that is <= that, and where it ends. The follower
 * truncates to min(leader's end, its own end of the largest epoch <= the answered one, its
 * log end); if it did not have the answered epoch itself, it asks again with its new latest
 * epoch (KIP-279's extra rounds), until both agree on an epoch. When the leader knows no
 * epoch (a pre-KIP-101 log) the high watermark bounds the truncation instead.
 */
export function divergenceOffset(args: {
  readonly leader: LeaderEpochCache;
  readonly leaderLogEndOffset: number;
  readonly follower: LeaderEpochCache;
  readonly followerLogEndOffset: number;
  readonly followerHighWatermark: number;
}): number {
  const follower = new LeaderEpochCache(args.follower.entries);
  let logEnd = args.followerLogEndOffset;
  for (;;) {
    const asked = follower.latestEpoch;
    if (asked === UNDEFINED_EPOCH) return Math.min(args.followerHighWatermark, logEnd);
    const answer = args.leader.endOffsetFor(asked, args.leaderLogEndOffset);
    if (answer.epoch === UNDEFINED_EPOCH) return Math.min(args.followerHighWatermark, logEnd);
    const own = follower.endOffsetFor(answer.epoch, logEnd);
    const offset = Math.min(own.endOffset < 0 ? answer.endOffset : own.endOffset, answer.endOffset, logEnd);
    if (own.epoch === answer.epoch || own.epoch === UNDEFINED_EPOCH) return offset;
    // We lack the leader's epoch: cut to the bound and ask about our (now older) latest epoch.
    logEnd = offset;
    follower.truncateFromEnd(offset);
    if (follower.latestEpoch >= asked) return offset; // cannot happen; guards the loop
  }
}
