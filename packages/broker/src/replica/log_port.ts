// The slice of a partition log the replication layer uses. The log engineer's PartitionLog
// (src/log) is adapted to this in log_adapter.ts; keeping the replica code on this narrow
// contract lets its pure parts be tested and keeps storage details out of replication.
// Offsets are log offsets; "end" offsets are exclusive (next offset to be written).

export interface LeaderAppendResult {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** An idempotent retry of a batch already in the log: offsets are the original ones. */
  readonly duplicate: boolean;
  readonly logAppendTimeMs: number;
}

export interface ReadResult {
  readonly records: Buffer;
}

export interface EpochEnd {
  readonly epoch: number; // -1 when unknown
  readonly endOffset: number; // -1 when unknown
}

export interface ReplicaLog {
  logStartOffset(): number;
  logEndOffset(): number;
  /** End offset known to be on stable storage (equals logEndOffset when flush.mode=replicated). */
  durableEndOffset(): number;
  highWatermark(): number;
  setHighWatermark(hw: number): void;
  /**
   * Validates, stamps offsets and `leaderEpoch`, dedups idempotent batches; throws BrokerError.
   * `stillLeads` is asked in the log's own order of operations, right before the write: false
   * refuses the append (FENCED_LEADER_EPOCH) and nothing is written.
   */
  appendAsLeader(records: Buffer, leaderEpoch: number, stillLeads?: () => boolean): Promise<LeaderAppendResult>;
  /** Appends batches as the leader stamped them. */
  appendAsFollower(records: Buffer): Promise<void>;
  /** Whole batches from `fetchOffset`, below `maxOffset`, at most `maxBytes` (at least one batch). */
  read(fetchOffset: number, maxBytes: number, maxOffset: number): Promise<ReadResult>;
  /** First offset whose timestamp >= ts, or null. */
  offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number; leaderEpoch: number } | null>;
  /** Records that `epoch` starts at `startOffset` (leader-epoch cache). */
  assignEpoch(epoch: number, startOffset: number): Promise<void>;
  latestEpoch(): number;
  /** KIP-101: end offset of the largest epoch <= `epoch`. */
  endOffsetForEpoch(epoch: number): EpochEnd;
  truncateTo(offset: number): Promise<void>;
  /** Empties the log and restarts it at `offset` (a follower fallen below the leader's log start). */
  truncateFullyAndStartAt(offset: number): Promise<void>;
  /** Group-committed fsync covering everything appended so far (no-op in replicated mode). */
  flush(): Promise<void>;
}
