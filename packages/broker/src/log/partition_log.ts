// One partition's log on disk: a directory of segments (see segment.ts), a leader-epoch cache,
// idempotent-producer state and a checkpoint file. Owns offsets: logStartOffset <=
// highWatermark <= logEndOffset, and recoveryPoint (= flushedOffset) <= logEndOffset.
//
// Contract:
// - Appends (leader or follower), truncations, retention, rolls and checkpoints are serialized
//   by one internal queue; reads and fsyncs run beside them.
// - A batch is validated completely (CRC, sizes, timestamps, sequences) before any byte is
//   written; bad input throws a BrokerError and leaves the log as it was.
// - A failed write or fsync cuts the partial batch away, marks the log offline and throws
//   LogStorageError (KAFKA_STORAGE_ERROR); an offline log refuses every further operation.
// - `flushedOffset` only grows past data that an fsync covered, so in durable mode nothing
//   below it can be lost by a crash (DESIGN.md, durability). Recovery on open scans every
//   segment from the checkpointed recovery point, validating CRCs and cutting a torn tail.
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { BrokerError } from "../errors.js";
import {
  RECORD_BATCH_OVERHEAD,
  lastOffsetOf,
  readBatchHeader,
  recordTimestamps,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  type BatchHeader,
} from "./batch.js";
import { readJsonCheckpoint, writeJsonCheckpointText } from "./checkpoint_file.js";
import { CLEANER_CHECKPOINT, recoverCleanerFiles } from "./cleaner.js";
import { validateFollowerInput, validateProduceInput } from "./append_validation.js";
import { parsePartitionCheckpoint, type PartitionCheckpoint } from "./partition_checkpoint.js";
import { validateLogConfig, type LogConfig } from "./config.js";
import { LeaderEpochCache, type EpochEntry } from "./epoch_cache.js";
import { LogCode, LogStorageError, OffsetOutOfRangeError } from "./errors.js";
import { nodeLogIo, type LogIo } from "./log_file.js";
import { ProducerStateTable, type ProducerEntry } from "./producer_state.js";
import { LogSegment, parseSegmentFileName, segmentFileName } from "./segment.js";
import type { Clock, LogLogger } from "./types.js";

export const CHECKPOINT_FILE = "partition.checkpoint";
/** Most bytes one read returns (beyond a single larger batch); fetch.max.bytes is 50 MiB in Kafka. */
export const READ_BYTES_MAX = 64 * 1024 * 1024;
/** Inactive segments per partition whose indexes stay in memory after a lookup. */
export const INACTIVE_INDEXES_LOADED_MAX = 4;

export interface PartitionLogDeps {
  readonly clock: Clock;
  readonly logger: LogLogger;
  /** File seam; defaults to real files. Tests wrap it to inject disk faults. */
  readonly io?: LogIo;
}

export interface AppendInfo {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The broker time stamped into the batches with LogAppendTime; -1 with CreateTime (as Kafka). */
  readonly logAppendTimeMs: number;
  /** An idempotent retry of a batch already in the log: offsets are the original ones. */
  readonly duplicate: boolean;
}

export interface ReadInfo {
  /** Whole batches, possibly empty. */
  readonly records: Buffer;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
}

/** Follower batches that do not continue the log where it ends. */
export class UnexpectedAppendOffsetError extends BrokerError {
  constructor(
    readonly expectedOffset: number,
    readonly actualOffset: number,
  ) {
    super(LogCode.CORRUPT_MESSAGE, `follower append starts at offset ${actualOffset}, log end is ${expectedOffset}`);
    this.name = "UnexpectedAppendOffsetError";
  }
}

export class PartitionLog {
  private segments: LogSegment[];
  private logStart: number;
  private hw: number;
  private recoveryPoint: number;
  private readonly epochs: LeaderEpochCache;
  private readonly producers: ProducerStateTable;
  /**
   * Producer state as of the last checkpoint and the log offset it is valid at: truncation
   * reloads it and replays the batches after it (Kafka's ProducerStateManager does the same),
   * so no producer's history is lost by cutting batches off the end.
   */
  private producerSnapshot: { readonly offset: number; readonly entries: readonly ProducerEntry[] };
  /** The checkpoint body this log last wrote (JSON text); undefined until the first write. */
  private checkpointOnDisk: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Serialized operations queued and not yet started. */
  private waiting = 0;
  private offlineError: LogStorageError | null = null;
  private closed = false;
  private readonly offlineListeners = new Set<(err: LogStorageError) => void>();
  private currentConfig: LogConfig;
  /** Inactive segments whose indexes are loaded, least recently used first. */
  private recentIndexes: LogSegment[] = [];

  private constructor(
    readonly dir: string,
    config: LogConfig,
    private readonly deps: PartitionLogDeps & { readonly io: LogIo },
    state: {
      segments: LogSegment[];
      logStart: number;
      hw: number;
      recoveryPoint: number;
      epochs: LeaderEpochCache;
      producers: ProducerStateTable;
      producerSnapshot: { readonly offset: number; readonly entries: readonly ProducerEntry[] };
    },
  ) {
    this.currentConfig = config;
    this.segments = state.segments;
    this.logStart = state.logStart;
    this.hw = state.hw;
    this.recoveryPoint = state.recoveryPoint;
    this.epochs = state.epochs;
    this.producers = state.producers;
    this.producerSnapshot = state.producerSnapshot;
  }

  /** Opens (creating if needed) the log in `dir`, recovering it after a crash. */
  static async open(dir: string, config: LogConfig, deps: PartitionLogDeps): Promise<PartitionLog> {
    validateLogConfig(config);
    const io = deps.io ?? nodeLogIo;
    const nowMs = deps.clock.nowMs();
    await mkdir(dir, { recursive: true });
    await recoverCleanerFiles(dir, deps.logger);
    const names = await readdir(dir);
    await Promise.all(names.filter((n) => n.endsWith(".tmp")).map((n) => rm(join(dir, n), { force: true })));
    let cp: PartitionCheckpoint | null = null;
    try {
      cp = parsePartitionCheckpoint(await readJsonCheckpoint(join(dir, CHECKPOINT_FILE)));
    } catch (err) {
      deps.logger.warn({ dir, err: String(err) }, "partition checkpoint unreadable: recovering the whole log");
    }
    const bases = names
      .map(parseSegmentFileName)
      .filter((b): b is number => b !== null)
      .sort((a, b) => a - b);
    const epochs = new LeaderEpochCache(cp?.epochs ?? []);
    const producers = new ProducerStateTable(cp?.producers ?? []);
    const recoveryPoint = cp?.recoveryPoint ?? 0;
    const segments: LogSegment[] = [];
    let recoveredBytesCut = 0;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const next = bases[i + 1];
      const prev = segments[segments.length - 1];
      if (prev !== undefined && base < prev.nextOffset) {
        // Overlaps what is already loaded: garbage from an interrupted operation.
        deps.logger.warn({ dir, base }, "deleting segment overlapping its predecessor");
        await deleteSegmentFiles(dir, base);
        continue;
      }
      const recover = next === undefined || next > recoveryPoint;
      const visit = (h: BatchHeader): void => {
        if (lastOffsetOf(h) < recoveryPoint) return;
        producers.update(h);
        if (h.partitionLeaderEpoch > epochs.latestEpoch) epochs.assign(h.partitionLeaderEpoch, h.baseOffset);
      };
      const { segment, truncatedBytes } = await LogSegment.open(io, dir, base, config.indexIntervalBytes, nowMs, {
        recover,
        expectedBaseOffset: base,
        ...(recover ? { visit } : {}),
      });
      segments.push(segment);
      if (truncatedBytes > 0) {
        recoveredBytesCut += truncatedBytes;
        deps.logger.warn({ dir, base, truncatedBytes }, "cut a torn or corrupt tail off a segment during recovery");
        // Everything after a hole is unreachable: drop the later segments.
        for (const later of bases.slice(i + 1)) await deleteSegmentFiles(dir, later);
        break;
      }
    }
    if (segments.length === 0) segments.push(await LogSegment.create(io, dir, cp?.logStartOffset ?? 0, config.indexIntervalBytes, nowMs));
    const logEnd = segments[segments.length - 1]!.nextOffset;
    epochs.truncateFromEnd(logEnd);
    producers.truncateFromEnd(logEnd);
    const producerSnapshot =
      cp !== null && cp.recoveryPoint <= logEnd
        ? { offset: cp.recoveryPoint, entries: cp.producers }
        : { offset: logEnd, entries: producers.snapshot() };
    const logStart = Math.min(Math.max(cp?.logStartOffset ?? 0, segments[0]!.baseOffset), logEnd);
    const log = new PartitionLog(dir, config, { ...deps, io }, {
      segments,
      logStart,
      hw: Math.min(Math.max(cp?.highWatermark ?? 0, logStart), logEnd),
      recoveryPoint: Math.min(recoveryPoint, logEnd),
      epochs,
      producers,
      producerSnapshot,
    });
    if (recoveredBytesCut > 0 || cp === null || recoveryPoint < logEnd) await log.checkpoint();
    for (const seg of segments.slice(0, -1)) seg.maybeUnloadIndexes();
    deps.logger.info({ dir, logStart, logEnd, segments: segments.length }, "partition log opened");
    return log;
  }

  get config(): LogConfig {
    return this.currentConfig;
  }

  /**
   * Applies a topic-config change (e.g. retention.ms altered). Takes effect for the next
   * append, roll and retention pass; index interval changes apply to new segments.
   */
  updateConfig(config: LogConfig): void {
    this.currentConfig = validateLogConfig(config);
  }

  // ---- offsets ----

  get logStartOffset(): number {
    return this.logStart;
  }

  get logEndOffset(): number {
    return this.active.nextOffset;
  }

  /** End offset covered by an fsync (the recovery point). */
  get flushedOffset(): number {
    return this.recoveryPoint;
  }

  /** What may count toward the high watermark: flushed data in durable mode, everything in replicated mode. */
  get durableEndOffset(): number {
    return this.config.flushMode === "durable" ? this.recoveryPoint : this.logEndOffset;
  }

  get highWatermark(): number {
    return this.hw;
  }

  /** Persisted with the next checkpoint. Clamped to [logStartOffset, logEndOffset]. */
  set highWatermark(offset: number) {
    this.hw = Math.max(this.logStart, Math.min(offset, this.logEndOffset));
  }

  get offline(): boolean {
    return this.offlineError !== null;
  }

  /** Registers a listener for the log going offline (disk failure); returns the unsubscribe. */
  onOffline(listener: (err: LogStorageError) => void): () => void {
    this.offlineListeners.add(listener);
    return () => this.offlineListeners.delete(listener);
  }

  get sizeBytes(): number {
    return this.segments.reduce((n, s) => n + s.sizeBytes, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** How many segments hold their indexes in memory (diagnostics: bounded, see touchIndexes). */
  segmentsWithIndexesLoaded(): number {
    return this.segments.filter((s) => s.indexesLoaded).length;
  }

  /** Base offsets of the segments, oldest first (for tests and tooling). */
  segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  // ---- epochs ----

  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  epochEntries(): readonly EpochEntry[] {
    return this.epochs.entries;
  }

  /** A snapshot of the epoch cache, e.g. for divergenceOffset. */
  epochCache(): LeaderEpochCache {
    return new LeaderEpochCache(this.epochs.entries);
  }

  /** Records that `epoch` starts at `startOffset`, durably (a new leader does this before appending). */
  assignEpoch(epoch: number, startOffset: number): Promise<void> {
    return this.serialize(async () => {
      if (this.epochs.assign(epoch, startOffset)) await this.writeCheckpoint();
    });
  }

  /** OffsetsForLeaderEpoch answer (KIP-101/279): largest epoch <= `epoch` and its end offset. */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  // ---- appends ----

  /**
   * Validates, stamps base offsets and `leaderEpoch` into `records` in place, checks producer
   * sequences, and writes. Throws CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_TIMESTAMP,
   * OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, DUPLICATE_SEQUENCE_NUMBER or
   * KAFKA_STORAGE_ERROR; on any of them nothing was written. The log keeps `records` (the
   * segment's tail cache serves reads from it): callers must not modify it afterwards.
   */
  async appendAsLeader(records: Buffer, leaderEpoch: number, producerCheck = true, stillLeads?: () => boolean): Promise<AppendInfo> {
    const headers = this.validateLeaderInput(records);
    return this.serialize(async () => {
      this.ensureWritable();
      // Checked where the write happens, not where it was asked for: an append queued behind
      // other log work may run after the replica became a follower, and would then land after
      // the follower's truncation decision (the soak saw replicas diverge that way).
      if (stillLeads !== undefined && !stillLeads())
        throw new BrokerError(LogCode.FENCED_LEADER_EPOCH, `append in leader epoch ${leaderEpoch}, but this replica no longer leads that epoch`);
      // A deposed leader must not write below the epoch cache's newest epoch (KIP-101 relies on it).
      if (leaderEpoch < this.epochs.latestEpoch)
        throw new BrokerError(
          LogCode.FENCED_LEADER_EPOCH,
          `append in leader epoch ${leaderEpoch} but the log is already at epoch ${this.epochs.latestEpoch}`,
        );
      let table = this.producers;
      if (producerCheck) {
        if (headers.length > 1) table = new ProducerStateTable(this.producers.snapshot());
        for (const h of headers) {
          const check = table.check(h);
          if (check.kind === "duplicate") {
            if (headers.length > 1)
              throw new BrokerError(LogCode.DUPLICATE_SEQUENCE_NUMBER, `a batch of producer ${h.producerId} in a multi-batch append is a duplicate`);
            return { baseOffset: check.batch.firstOffset, lastOffset: check.batch.lastOffset, logAppendTimeMs: -1, duplicate: true };
          }
          if (headers.length > 1) table.update(h);
        }
      }
      const baseOffset = this.logEndOffset;
      const logAppendTimeMs = this.config.messageTimestampType === "LogAppendTime" ? this.deps.clock.nowMs() : -1;
      let next = baseOffset;
      const stamped: BatchHeader[] = [];
      let pos = 0;
      for (const h of headers) {
        setBaseOffset(records, pos, next);
        setPartitionLeaderEpoch(records, pos, leaderEpoch);
        const withTime = logAppendTimeMs >= 0 ? setLogAppendTime(records, pos, h, logAppendTimeMs) : h;
        stamped.push({ ...withTime, baseOffset: next, partitionLeaderEpoch: leaderEpoch });
        next += h.lastOffsetDelta + 1;
        pos += h.sizeBytes;
      }
      await this.write(records, stamped);
      if (leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(leaderEpoch, baseOffset);
      for (const h of stamped) this.producers.update(h);
      return { baseOffset, lastOffset: next - 1, logAppendTimeMs, duplicate: false };
    });
  }

  /**
   * Appends batches as the leader stamped them: CRC-checked, contiguous from the log end.
   * Updates the epoch cache from the batches' leader epochs and the producer state. Keeps
   * `records` like appendAsLeader does.
   */
  async appendAsFollower(records: Buffer): Promise<AppendInfo> {
    if (this.offlineError !== null) throw this.offlineError;
    const headers = validateFollowerInput(records);
    return this.serialize(async () => {
      this.ensureWritable();
      const baseOffset = this.logEndOffset;
      if (headers.length === 0) return { baseOffset, lastOffset: baseOffset - 1, logAppendTimeMs: -1, duplicate: false };
      let expected = baseOffset;
      for (const h of headers) {
        if (h.baseOffset !== expected) throw new UnexpectedAppendOffsetError(expected, h.baseOffset);
        expected = lastOffsetOf(h) + 1;
      }
      await this.write(records, headers);
      for (const h of headers) {
        if (h.partitionLeaderEpoch > this.epochs.latestEpoch) this.epochs.assign(h.partitionLeaderEpoch, h.baseOffset);
        this.producers.update(h);
      }
      return { baseOffset, lastOffset: expected - 1, logAppendTimeMs: -1, duplicate: false };
    });
  }

  private validateLeaderInput(records: Buffer): BatchHeader[] {
    if (this.offlineError !== null) throw this.offlineError;
    return validateProduceInput(records, this.config, this.deps.clock.nowMs());
  }

  /** Rolls if needed, then writes; a failure takes the log offline (the segment cut the partial write). */
  private async write(records: Buffer, headers: readonly BatchHeader[]): Promise<void> {
    // Durable mode, everything before already flushed and no other operation queued behind
    // this one (so no later append could share an fsync with it): write through with O_DSYNC,
    // one thread-pool round trip instead of a write and then the flusher's fdatasync. Under
    // load appends queue up and take the write + group-commit path as before.
    const writeThrough = this.config.flushMode === "durable" && this.waiting === 0 && this.recoveryPoint === this.logEndOffset;
    try {
      await this.maybeRoll(records.length, headers[0]!.baseOffset, lastOffsetOf(headers[headers.length - 1]!));
      const durable = await this.active.append(records, headers, writeThrough);
      if (durable) this.recoveryPoint = this.logEndOffset;
    } catch (err) {
      throw this.goOffline(err, "append");
    }
  }

  private async maybeRoll(incomingBytes: number, firstOffset: number, lastOffset: number): Promise<void> {
    const seg = this.active;
    if (seg.sizeBytes === 0) return;
    const nowMs = this.deps.clock.nowMs();
    const full = seg.sizeBytes + incomingBytes > this.config.segmentBytes;
    const old = nowMs - seg.rollBaseMs >= this.config.segmentMs;
    // Index entries store offsets relative to the base as u32; positions as u32 too.
    const relOverflow = lastOffset - seg.baseOffset > 0x7fffffff;
    if (!full && !old && !relOverflow) return;
    await this.roll(firstOffset, nowMs);
  }

  private async roll(baseOffset: number, nowMs: number): Promise<void> {
    const prev = this.active;
    const seg = await LogSegment.create(this.deps.io, this.dir, baseOffset, this.config.indexIntervalBytes, nowMs);
    this.segments.push(seg);
    // The rolled segment stays dirty until the next flush; its indexes are final now, and
    // leave memory until a lookup needs them.
    await prev.persistIndexes();
    prev.maybeUnloadIndexes();
    await prev.deactivate();
  }

  /**
   * Keeps the indexes of at most INACTIVE_INDEXES_LOADED_MAX inactive segments in memory: the
   * ones looked up most recently. Index memory is then bounded per partition, not by log size.
   */
  private touchIndexes(seg: LogSegment): void {
    if (seg === this.active) return;
    const i = this.recentIndexes.indexOf(seg);
    if (i >= 0) this.recentIndexes.splice(i, 1);
    this.recentIndexes.push(seg);
    while (this.recentIndexes.length > INACTIVE_INDEXES_LOADED_MAX) {
      const evicted = this.recentIndexes.shift()!;
      if (evicted !== this.active) evicted.maybeUnloadIndexes();
    }
  }

  // ---- durability ----

  /** fsyncs every segment holding unflushed data; advances flushedOffset to what it covered. */
  async flush(): Promise<void> {
    this.ensureReadable();
    const target = this.logEndOffset;
    if (target <= this.recoveryPoint) return;
    // Includes segments whose fsync another caller started: we must wait for it too.
    const unsynced = this.segments.filter((s) => s.unsynced);
    try {
      await Promise.all(unsynced.map((s) => s.sync()));
    } catch (err) {
      throw this.goOffline(err, "fsync");
    }
    // A truncation meanwhile may have moved the end below `target`.
    this.recoveryPoint = Math.max(this.recoveryPoint, Math.min(target, this.logEndOffset));
  }

  /** Flushes, then writes the checkpoint (recovery point, HW, log start, epochs, producers). */
  checkpoint(): Promise<void> {
    return this.serialize(() => this.writeCheckpoint());
  }

  private async writeCheckpoint(): Promise<void> {
    await this.flush();
    const body: PartitionCheckpoint = {
      version: 1,
      recoveryPoint: this.recoveryPoint,
      highWatermark: this.hw,
      logStartOffset: this.logStart,
      epochs: this.epochs.entries,
      producers: this.producers.snapshot(),
    };
    const text = JSON.stringify(body);
    // The periodic checkpoint runs for every partition every few seconds: an idle broker with
    // 1,000 partitions rewrote 1,000 unchanged files (tmp, fsync, rename, directory fsync)
    // each time, 414 fsyncs/s at rest. What is on disk already says this.
    if (text === this.checkpointOnDisk) return;
    try {
      await writeJsonCheckpointText(join(this.dir, CHECKPOINT_FILE), text);
    } catch (err) {
      this.checkpointOnDisk = undefined;
      throw this.goOffline(err, "checkpoint");
    }
    this.checkpointOnDisk = text;
    this.producerSnapshot = { offset: body.recoveryPoint, entries: body.producers };
  }

  // ---- reads ----

  /**
   * Whole batches from the one containing `fetchOffset`, none containing an offset >=
   * `maxOffset` (the high watermark for consumers), about `maxBytes` but always at least one
   * whole batch when one is readable (Kafka semantics). Reads one segment per call.
   * Throws OffsetOutOfRangeError outside [logStartOffset, logEndOffset].
   */
  async read(fetchOffset: number, maxBytes: number, maxOffset: number): Promise<ReadInfo> {
    this.ensureReadable();
    if (!Number.isSafeInteger(fetchOffset) || !Number.isSafeInteger(maxBytes) || maxBytes < 0 || Number.isNaN(maxOffset))
      throw new BrokerError(LogCode.INVALID_REQUEST, `bad read arguments offset=${fetchOffset} maxBytes=${maxBytes} maxOffset=${maxOffset}`);
    const empty = (): ReadInfo => this.readInfo(Buffer.alloc(0));
    if (fetchOffset < this.logStart || fetchOffset > this.logEndOffset)
      throw new OffsetOutOfRangeError(fetchOffset, this.logStart, this.logEndOffset, this.dir);
    const end = Math.min(maxOffset, this.logEndOffset);
    if (fetchOffset >= end) return empty();
    let i = this.segmentIndexFor(fetchOffset);
    for (; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      try {
        const found = await seg.findBatch(fetchOffset);
        this.touchIndexes(seg);
        if (found === null) continue;
        if (lastOffsetOf(found.header) >= end) return empty();
        // An absurd maxBytes must not make us buffer a whole 1 GiB segment.
        const buf = await seg.read(found.position, Math.max(Math.min(maxBytes, READ_BYTES_MAX), found.header.sizeBytes));
        return this.readInfo(trimToBatches(buf, end));
      } catch (err) {
        this.ensureReadable();
        if (!this.segments.includes(seg))
          throw new OffsetOutOfRangeError(fetchOffset, this.logStart, this.logEndOffset, this.dir);
        throw this.goOffline(err, "read");
      }
    }
    return empty();
  }

  private readInfo(records: Buffer): ReadInfo {
    return { records, logStartOffset: this.logStart, logEndOffset: this.logEndOffset, highWatermark: this.hw };
  }

  /** Index of the last segment with baseOffset <= offset (binary search). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * ListOffsets by timestamp: the first offset whose record timestamp >= `timestamp`, below
   * `maxOffset`, via each segment's time index; null when there is none.
   */
  async offsetForTimestamp(
    timestamp: number,
    maxOffset = Number.MAX_SAFE_INTEGER,
  ): Promise<{ offset: number; timestamp: number; leaderEpoch: number } | null> {
    this.ensureReadable();
    for (const seg of [...this.segments]) {
      if (seg.maxTimestamp < timestamp) continue;
      let found: Awaited<ReturnType<LogSegment["findBatchByTimestamp"]>>;
      let batch: Buffer;
      try {
        found = await seg.findBatchByTimestamp(timestamp);
        this.touchIndexes(seg);
        if (found === null) continue;
        batch = await seg.read(found.position, found.header.sizeBytes);
      } catch (err) {
        this.ensureReadable();
        if (!this.segments.includes(seg)) continue; // deleted by retention meanwhile
        throw this.goOffline(err, "read");
      }
      const h = found.header;
      if (h.baseOffset >= maxOffset) return null;
      const records = recordTimestamps(batch, h);
      const hit = records === null ? { offset: h.baseOffset, timestamp: h.maxTimestamp } : records.find((r) => r.timestamp >= timestamp);
      if (hit === undefined || hit.offset >= maxOffset) return null;
      return { offset: hit.offset, timestamp: hit.timestamp, leaderEpoch: h.partitionLeaderEpoch };
    }
    return null;
  }

  // ---- truncation and retention ----

  /**
   * Removes everything from the batch containing `offset` on (a follower cutting a divergent
   * suffix). Below the log start it empties the log and restarts it at `offset`.
   */
  truncateTo(offset: number): Promise<void> {
    return this.serialize(async () => {
      this.ensureWritable();
      if (offset >= this.logEndOffset) return;
      if (offset < this.logStart) return this.truncateFullyAndStartAtLocked(offset);
      try {
        await this.forgetCleanerProgress();
        while (this.segments.length > 1 && this.active.baseOffset >= offset) {
          await this.segments.pop()!.delete();
        }
        await this.active.activate();
        await this.active.truncateTo(offset);
        await this.rebuildProducerState();
      } catch (err) {
        throw this.goOffline(err, "truncate");
      }
      this.afterTruncation();
      await this.writeCheckpoint();
    });
  }

  /** Deletes all data and restarts the log at `offset` (a follower far behind a retained leader). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    return this.serialize(() => this.truncateFullyAndStartAtLocked(offset));
  }

  /**
   * Bumped by every truncation. The cleaner's checkpoint says which offsets are already
   * compacted; after a truncation, offsets below it may hold new records, so the checkpoint is
   * dropped (the next pass cleans from the start) and a pass running meanwhile must not write
   * its now stale one back.
   */
  private truncations = 0;

  private async forgetCleanerProgress(): Promise<void> {
    this.truncations++;
    await rm(join(this.dir, CLEANER_CHECKPOINT), { force: true });
  }

  private async truncateFullyAndStartAtLocked(offset: number): Promise<void> {
    this.ensureWritable();
    try {
      await this.forgetCleanerProgress();
      const old = this.segments;
      this.segments = [];
      for (const s of old) await s.delete();
      this.segments.push(await LogSegment.create(this.deps.io, this.dir, offset, this.config.indexIntervalBytes, this.deps.clock.nowMs()));
    } catch (err) {
      throw this.goOffline(err, "truncate");
    }
    this.logStart = offset;
    this.hw = offset;
    this.recoveryPoint = offset;
    this.epochs.clear();
    this.producers.clear();
    this.producerSnapshot = { offset: offset, entries: [] };
    await this.writeCheckpoint();
  }

  /**
   * After a truncation: the checkpointed producer snapshot plus a replay of the batches after
   * it, when the snapshot is not past the new end; otherwise (truncation below the last
   * checkpoint) the batches past the end are just forgotten.
   */
  private async rebuildProducerState(): Promise<void> {
    const end = this.logEndOffset;
    const snap = this.producerSnapshot;
    if (snap.offset > end || snap.offset < this.logStart) {
      this.producers.truncateFromEnd(end);
      return;
    }
    this.producers.resetTo(snap.entries);
    for (const seg of this.segments) await seg.forEachBatch(snap.offset, end, (h) => this.producers.update(h));
  }

  private afterTruncation(): void {
    const end = this.logEndOffset;
    this.epochs.truncateFromEnd(end);
    this.hw = Math.min(this.hw, end);
    this.recoveryPoint = Math.min(this.recoveryPoint, end);
  }

  /**
   * Deletes whole segments past retention.ms (by their newest timestamp) or beyond
   * retention.bytes (oldest first), only ever below the high watermark, and advances the log
   * start offset. Also expires idempotent-producer state older than producer.id.expiration.ms.
   * Returns the number of segments deleted.
   */
  deleteRecordsForRetention(nowMs: number): Promise<number> {
    return this.serialize(async () => {
      this.ensureWritable();
      const { producerIdExpirationMs } = this.config;
      // A compact-only log is bounded by the cleaner, not by retention (Kafka semantics).
      const deletes = this.config.cleanupPolicy !== "compact";
      const retentionMs = deletes ? this.config.retentionMs : -1;
      const retentionBytes = deletes ? this.config.retentionBytes : -1;
      const expiredProducers = this.producers.expire(nowMs, producerIdExpirationMs);
      const expired = (s: LogSegment): boolean =>
        retentionMs >= 0 && s.sizeBytes > 0 && nowMs - (s.maxTimestamp >= 0 ? s.maxTimestamp : s.rollBaseMs) > retentionMs;
      // An expired, fully replicated active segment is rolled so that it can go too (Kafka does the same).
      const act = this.active;
      if (expired(act) && act.nextOffset <= this.hw && this.segments.every(expired)) {
        try {
          await this.roll(act.nextOffset, nowMs);
        } catch (err) {
          throw this.goOffline(err, "roll");
        }
      }
      let total = this.sizeBytes;
      let count = 0;
      while (this.segments.length > 1) {
        const seg = this.segments[0]!;
        const next = this.segments[1]!;
        if (next.baseOffset > this.hw) break;
        const bySize = retentionBytes >= 0 && total - seg.sizeBytes >= retentionBytes;
        if (!expired(seg) && !bySize) break;
        this.segments.shift();
        total -= seg.sizeBytes;
        count++;
        this.logStart = Math.max(this.logStart, next.baseOffset);
        try {
          await seg.delete();
        } catch (err) {
          throw this.goOffline(err, "retention");
        }
      }
      if (count > 0 || expiredProducers > 0) {
        this.epochs.truncateFromStart(this.logStart);
        this.deps.logger.info(
          { dir: this.dir, deleted: count, logStartOffset: this.logStart, expiredProducers },
          "retention deleted segments or expired producer state",
        );
        await this.writeCheckpoint();
      }
      return count;
    });
  }

  applyRetention(): Promise<number> {
    return this.deleteRecordsForRetention(this.deps.clock.nowMs());
  }

  /**
   * The log cleaner's door (cleaner.ts): runs `fn` in the log's queue with the live segment
   * list, which `fn` may change in place (a segment replaced by its cleaned copy).
   */
  withSegments<T>(fn: (segments: LogSegment[], env: { io: LogIo; hw: number; logStart: number; config: LogConfig; nowMs: number; truncations: number }) => Promise<T>): Promise<T> {
    return this.serialize(async () => {
      this.ensureWritable();
      return fn(this.segments, { io: this.deps.io, hw: this.hw, logStart: this.logStart, config: this.config, nowMs: this.deps.clock.nowMs(), truncations: this.truncations });
    });
  }

  // ---- lifecycle ----

  /** Flushes, persists indexes and the checkpoint, closes files. Idempotent. */
  close(): Promise<void> {
    return this.serialize(async () => {
      if (this.closed) return;
      if (this.offlineError === null) {
        for (const seg of this.segments) await seg.persistIndexes().catch((err: unknown) => this.goOffline(err, "close"));
        await this.writeCheckpoint().catch(() => undefined);
      }
      this.closed = true;
      await Promise.all(this.segments.map((s) => s.close().catch(() => undefined)));
    });
  }

  /** Closes and removes the whole partition directory. */
  delete(): Promise<void> {
    return this.serialize(async () => {
      this.closed = true;
      await Promise.all(this.segments.map((s) => s.close().catch(() => undefined)));
      await rm(this.dir, { recursive: true, force: true });
    });
  }

  // ---- internals ----

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    this.waiting++;
    const start = (): Promise<T> => {
      this.waiting--;
      return fn();
    };
    const run = this.queue.then(start, start);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private ensureWritable(): void {
    this.ensureReadable();
  }

  private ensureReadable(): void {
    if (this.offlineError !== null) throw this.offlineError;
    // Closed: the partition was removed or the broker is stopping; not a disk failure.
    if (this.closed) throw new BrokerError(LogCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
  }

  /** Marks the log offline once, tells listeners, and returns the error to throw. */
  private goOffline(err: unknown, during: string): BrokerError {
    if (err instanceof BrokerError) return err;
    if (this.offlineError !== null) return this.offlineError;
    const e = new LogStorageError(`log ${this.dir} failed during ${during} and is now offline: ${String(err)}`, { cause: err });
    this.offlineError = e;
    this.deps.logger.error({ dir: this.dir, err: String(err), during }, "partition log offline");
    for (const l of this.offlineListeners) l(e);
    return e;
  }
}

/** Keeps the whole batches at the front of `buf` whose last offset is below `end`. */
function trimToBatches(buf: Buffer, end: number): Buffer {
  let pos = 0;
  while (pos + RECORD_BATCH_OVERHEAD <= buf.length) {
    const h = readBatchHeader(buf, pos);
    if (pos + h.sizeBytes > buf.length || lastOffsetOf(h) >= end) break;
    pos += h.sizeBytes;
  }
  return pos === buf.length ? buf : buf.subarray(0, pos);
}

async function deleteSegmentFiles(dir: string, base: number): Promise<void> {
  await Promise.all(
    ([".log", ".index", ".timeindex"] as const).map((suffix) => rm(join(dir, segmentFileName(base, suffix)), { force: true })),
  );
}
