// One segment of a partition log: `<20-digit baseOffset>.log` holding whole RecordBatch v2
// batches back to back, with its sparse offset index (`.index`) and time index (`.timeindex`)
// held in memory while the segment is active or recently looked up, and persisted when the
// segment is rolled or closed.
// Contract: appends are serialized by the owning PartitionLog; a batch is written at
// `sizeBytes` and only then counted, so a failed write never leaves a counted partial batch.
// Index files are hints: they are trusted only when they pass a sanity check, and a segment
// being recovered always rebuilds them from its batches.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  RECORD_BATCH_OVERHEAD,
  lastOffsetOf,
  readBatchHeader,
  validateBatch,
  type BatchHeader,
} from "./batch.js";
import { syncDir, writeFileAtomic } from "./checkpoint_file.js";
import { MESSAGE_BYTES_MAX } from "./config.js";
import type { LogFile, LogIo } from "./log_file.js";
import { OffsetIndex } from "./offset_index.js";
import { TailCache } from "./tail_cache.js";
import { TimeIndex } from "./time_index.js";

export function segmentFileName(baseOffset: number, suffix: ".log" | ".index" | ".timeindex"): string {
  return `${String(baseOffset).padStart(20, "0")}${suffix}`;
}

/** Base offset named by a `.log` file, or null for other files. */
export function parseSegmentFileName(name: string): number | null {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Called for each valid batch met by a scan, in order. */
export type BatchVisitor = (h: BatchHeader, position: number) => void;

const SCAN_CHUNK_BYTES = 1 << 20;
/**
 * Newest appended bytes kept in memory per active segment (see TailCache): a few replica fetch
 * cycles of one partition under load. Memory: this much per partition with recent appends.
 */
const TAIL_CACHE_BYTES = 512 * 1024;
/** Larger "batches" are garbage: max.message.bytes is capped at this (config.ts). */
const BATCH_BYTES_MAX = MESSAGE_BYTES_MAX;

export class LogSegment {
  /** Bytes of whole batches in the file; the write position of the next batch. */
  sizeBytes = 0;
  /** One past the last offset in the segment; baseOffset when empty. */
  nextOffset: number;
  /** Largest batch maxTimestamp seen, -1 if none (retention by time looks at this). */
  maxTimestamp = -1;
  private offsetOfMaxTimestamp: number;
  private bytesSinceIndexEntry = 0;
  /** Appended bytes not yet covered by a sync(). */
  dirty = false;
  /** Indexes changed since last persisted. */
  private indexesDirty = false;
  private readonly syncsInFlight = new Set<Promise<void>>();
  private readonly tail = new TailCache(TAIL_CACHE_BYTES);

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    private readonly file: LogFile,
    /** Null while unloaded (an inactive segment whose index files are current). */
    private offsetIndex: OffsetIndex | null,
    private timeIndex: TimeIndex | null,
    private readonly indexIntervalBytes: number,
    /**
     * Where segment.ms is counted from: the creation time for a segment made by this process;
     * for one loaded from disk, its first batch's timestamp (capped at now), so a restart does
     * not restart the age of the active segment (Kafka rolls on the first batch's time too).
     */
    public rollBaseMs: number,
  ) {
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
  }

  get logPath(): string {
    return join(this.dir, segmentFileName(this.baseOffset, ".log"));
  }

  static async create(io: LogIo, dir: string, baseOffset: number, indexIntervalBytes: number, nowMs: number): Promise<LogSegment> {
    const file = await io.openFile(join(dir, segmentFileName(baseOffset, ".log")), true);
    const seg = new LogSegment(dir, baseOffset, file, new OffsetIndex(baseOffset), new TimeIndex(baseOffset), indexIntervalBytes, nowMs);
    // A new segment may reuse a base offset after a truncation: start from an empty file.
    await file.truncate(0);
    await seg.removeIndexFiles();
    // The new file's directory entry must survive a crash as surely as its data.
    await syncDir(dir);
    return seg;
  }

  /**
   * Opens an existing segment. With `recover`, every batch is validated (CRC, offsets) and
   * the file is truncated at the first bad one; otherwise persisted indexes are used when
   * sane and the batches are only walked to learn the end offset and max timestamp.
   * `visit` sees every batch kept (the log rebuilds producer state and epochs from them).
   */
  static async open(
    io: LogIo,
    dir: string,
    baseOffset: number,
    indexIntervalBytes: number,
    nowMs: number,
    opts: { recover: boolean; expectedBaseOffset: number; visit?: BatchVisitor },
  ): Promise<{ segment: LogSegment; truncatedBytes: number }> {
    const file = await io.openFile(join(dir, segmentFileName(baseOffset, ".log")), false);
    const seg = new LogSegment(dir, baseOffset, file, new OffsetIndex(baseOffset), new TimeIndex(baseOffset), indexIntervalBytes, nowMs);
    const fileBytes = await file.size();
    if (!opts.recover) {
      const start = await seg.maybeLoadIndexes(fileBytes);
      if (start !== null && (await seg.scan(start.position, start.offset, fileBytes, false)) === fileBytes) {
        return { segment: seg, truncatedBytes: 0 };
      }
      // No usable index, or the walk from it did not end cleanly at the file end: the index
      // is not to be trusted, so the segment is rebuilt from its start with full validation.
      seg.resetInMemory();
    }
    const end = await seg.scan(0, opts.expectedBaseOffset, fileBytes, true, opts.visit);
    // Index files from before this scan may describe bytes that are about to be cut and later
    // rewritten; the in-memory indexes just built replace them at the next roll or close.
    await seg.removeIndexFiles();
    const truncatedBytes = fileBytes - end;
    if (truncatedBytes > 0) {
      await file.truncate(end);
      await file.sync();
    }
    return { segment: seg, truncatedBytes };
  }

  private async removeIndexFiles(): Promise<void> {
    await Promise.all([rm(this.indexPath(".index"), { force: true }), rm(this.indexPath(".timeindex"), { force: true })]);
  }

  private resetInMemory(): void {
    this.offsetIndex = new OffsetIndex(this.baseOffset);
    this.timeIndex = new TimeIndex(this.baseOffset);
    this.sizeBytes = 0;
    this.nextOffset = this.baseOffset;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = this.baseOffset;
    this.bytesSinceIndexEntry = 0;
    this.indexesDirty = true;
    this.tail.clear();
  }

  private indexPath(suffix: ".index" | ".timeindex"): string {
    return join(this.dir, segmentFileName(this.baseOffset, suffix));
  }

  /**
   * Walks the batches from `startPosition`, extending the in-memory indexes, and returns the
   * position where the valid batches end (the caller decides whether to cut the file there).
   * With `verify`, each batch's CRC is checked too; otherwise only its header.
   */
  private async scan(
    startPosition: number,
    startOffset: number,
    fileBytes: number,
    verify: boolean,
    visit?: BatchVisitor,
  ): Promise<number> {
    let pos = startPosition;
    let expected = startOffset;
    this.sizeBytes = pos;
    if (pos > 0) this.nextOffset = startOffset;
    let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileBytes, RECORD_BATCH_OVERHEAD)));
    let bufStart = 0;
    let bufLen = 0;
    scan: while (pos < fileBytes) {
      // Ensure the header is buffered.
      if (pos + RECORD_BATCH_OVERHEAD > bufStart + bufLen) {
        bufStart = pos;
        bufLen = await this.file.read(buf, 0, Math.min(buf.length, fileBytes - pos), pos);
        if (bufLen < RECORD_BATCH_OVERHEAD) break;
      }
      const h = readBatchHeader(buf, pos - bufStart);
      if (h.sizeBytes < RECORD_BATCH_OVERHEAD || h.sizeBytes > BATCH_BYTES_MAX || pos + h.sizeBytes > fileBytes || h.magic !== 2) break;
      if (h.baseOffset < expected || h.lastOffsetDelta < 0) break;
      if (verify) {
        if (pos + h.sizeBytes > bufStart + bufLen) {
          if (h.sizeBytes > buf.length) buf = Buffer.allocUnsafe(h.sizeBytes);
          bufStart = pos;
          bufLen = await this.file.read(buf, 0, Math.min(buf.length, fileBytes - pos), pos);
          if (bufLen < h.sizeBytes) break;
        }
        try {
          validateBatch(buf.subarray(0, bufLen), pos - bufStart);
        } catch {
          break scan;
        }
      }
      if (pos === 0 && h.maxTimestamp >= 0) this.rollBaseMs = Math.min(this.rollBaseMs, h.maxTimestamp);
      this.indexBatch(h, pos);
      visit?.(h, pos);
      expected = lastOffsetOf(h) + 1;
      pos += h.sizeBytes;
      this.sizeBytes = pos;
      this.nextOffset = expected;
    }
    this.indexesDirty = true;
    return this.sizeBytes;
  }

  /**
   * Loads persisted indexes when sane; returns where the tail walk must start (the last
   * indexed batch), or null when the files are missing or fail the sanity check.
   */
  private async maybeLoadIndexes(fileBytes: number): Promise<{ position: number; offset: number } | null> {
    const [off, time] = await Promise.all([readOptional(this.indexPath(".index")), readOptional(this.indexPath(".timeindex"))]);
    if (off === null || time === null) return null;
    const oi = OffsetIndex.decode(this.baseOffset, off, fileBytes);
    const ti = TimeIndex.decode(this.baseOffset, time);
    if (oi === null || ti === null) return null;
    const last = oi.last() ?? { offset: this.baseOffset, position: 0 };
    this.offsetIndex = oi;
    this.timeIndex = ti;
    const lastTime = ti.last();
    if (lastTime !== null) {
      this.maxTimestamp = lastTime.timestamp;
      this.offsetOfMaxTimestamp = lastTime.offset;
    }
    return last;
  }

  /**
   * A segment that stopped being active keeps no tail cache and no second (O_DSYNC) file
   * handle: every segment of a partition stays open, and a handle each is enough.
   */
  async deactivate(): Promise<void> {
    this.tail.clear();
    await this.file.releaseDurable?.();
  }

  /**
   * Drops the in-memory indexes when their files are current, to bound memory: inactive
   * segments reload them on the next lookup. Returns whether they were dropped.
   */
  maybeUnloadIndexes(): boolean {
    if (this.indexesDirty || this.offsetIndex === null) return false;
    this.offsetIndex = null;
    this.timeIndex = null;
    return true;
  }

  /** Loads the indexes of a segment that becomes the active one again (after a truncation). */
  async activate(): Promise<void> {
    await this.loadedIndexes();
  }

  get indexesLoaded(): boolean {
    return this.offsetIndex !== null;
  }

  /** The indexes, loaded from their files (or rebuilt from the batches when those fail). */
  private async loadedIndexes(): Promise<{ offsetIndex: OffsetIndex; timeIndex: TimeIndex }> {
    if (this.offsetIndex !== null && this.timeIndex !== null) return { offsetIndex: this.offsetIndex, timeIndex: this.timeIndex };
    const [off, time] = await Promise.all([readOptional(this.indexPath(".index")), readOptional(this.indexPath(".timeindex"))]);
    const offsetIndex = off === null ? null : OffsetIndex.decode(this.baseOffset, off, Math.max(this.sizeBytes, 1));
    const timeIndex = time === null ? null : TimeIndex.decode(this.baseOffset, time);
    if (this.offsetIndex !== null && this.timeIndex !== null) return { offsetIndex: this.offsetIndex, timeIndex: this.timeIndex };
    if (offsetIndex !== null && timeIndex !== null) {
      this.offsetIndex = offsetIndex;
      this.timeIndex = timeIndex;
      return { offsetIndex, timeIndex };
    }
    // Unusable files: rebuild from headers (same end offset and timestamps as before).
    const { sizeBytes, nextOffset, maxTimestamp, offsetOfMaxTimestamp } = this;
    const rebuiltOffsets = new OffsetIndex(this.baseOffset);
    const rebuiltTimes = new TimeIndex(this.baseOffset);
    this.offsetIndex = rebuiltOffsets;
    this.timeIndex = rebuiltTimes;
    this.bytesSinceIndexEntry = 0;
    await this.scan(0, this.baseOffset, sizeBytes, false);
    Object.assign(this, { sizeBytes, nextOffset, maxTimestamp, offsetOfMaxTimestamp });
    // Written now so the segment can leave memory again; a failure only keeps it loaded
    // until the next try (close), it does not fail the read that needed the index.
    await this.persistIndexes().catch(() => {
      this.indexesDirty = true;
    });
    return { offsetIndex: rebuiltOffsets, timeIndex: rebuiltTimes };
  }

  private indexBatch(h: BatchHeader, position: number): void {
    // Lookups before the first entry start at position 0, so the first batch needs none.
    if (this.bytesSinceIndexEntry >= this.indexIntervalBytes && this.offsetIndex !== null && this.timeIndex !== null) {
      this.offsetIndex.append(h.baseOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += h.sizeBytes;
    if (h.maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = h.maxTimestamp;
      this.offsetOfMaxTimestamp = h.baseOffset;
    }
    this.indexesDirty = true;
  }

  /**
   * Appends already validated and stamped batches (`headers` describe `buf` in order).
   * `durable` asks for a write that is on stable storage when it returns; granted (true) only
   * when nothing appended earlier is still unsynced. On a failed write the file is cut back
   * to the previous size before the error is rethrown, so nothing partly written stays behind.
   */
  async append(buf: Buffer, headers: readonly BatchHeader[], durable = false): Promise<boolean> {
    const start = this.sizeBytes;
    // A durable write covers only its own bytes: everything before must already be synced.
    const writeThrough = durable && !this.unsynced;
    try {
      if (writeThrough) await this.file.writeDurable(buf, start);
      else await this.file.write(buf, start);
    } catch (err) {
      await this.file.truncate(start).catch(() => undefined);
      throw err;
    }
    this.tail.add(start, buf, headers);
    let pos = start;
    for (const h of headers) {
      this.indexBatch(h, pos);
      pos += h.sizeBytes;
      this.nextOffset = lastOffsetOf(h) + 1;
    }
    this.sizeBytes = pos;
    if (!writeThrough) this.dirty = true;
    return writeThrough;
  }

  /**
   * Position and header of the first batch whose last offset is >= `offset`, or null when
   * the segment has none. Index lookup, then a short scan of headers.
   */
  async findBatch(offset: number): Promise<{ position: number; header: BatchHeader } | null> {
    const cached = this.tail.findBatch(offset);
    if (cached !== null) return cached;
    const { offsetIndex } = await this.loadedIndexes();
    return this.scanFrom(offsetIndex.lookup(offset), (h) => lastOffsetOf(h) >= offset);
  }

  /** Calls `fn` for every batch with offsets in [from, to), in order (headers only). */
  async forEachBatch(from: number, to: number, fn: (h: BatchHeader) => void): Promise<void> {
    if (this.nextOffset <= from || this.baseOffset >= to) return;
    const { offsetIndex } = await this.loadedIndexes();
    await this.scanFrom(offsetIndex.lookup(from), (h) => {
      if (h.baseOffset >= to) return true;
      if (lastOffsetOf(h) >= from) fn(h);
      return false;
    });
  }

  /** First batch with maxTimestamp >= `timestamp`, via the time index. */
  async findBatchByTimestamp(timestamp: number): Promise<{ position: number; header: BatchHeader } | null> {
    if (this.maxTimestamp < timestamp) return null;
    const { offsetIndex, timeIndex } = await this.loadedIndexes();
    return this.scanFrom(offsetIndex.lookup(timeIndex.lookup(timestamp)), (h) => h.maxTimestamp >= timestamp);
  }

  /**
   * Walks batch headers from an index entry until `match`. The entry is checked against the
   * header it points at; a mismatch (an index that lies) restarts the walk from the segment
   * start rather than serving the wrong batch.
   */
  private async scanFrom(
    entry: { offset: number; position: number },
    match: (h: BatchHeader) => boolean,
  ): Promise<{ position: number; header: BatchHeader } | null> {
    const startPosition = entry.position;
    const end = this.sizeBytes;
    // One read covers the usual index interval's worth of small batches' headers.
    const chunk = Buffer.allocUnsafe(Math.min(Math.max(this.indexIntervalBytes + RECORD_BATCH_OVERHEAD, 8192), 1 << 16));
    let chunkStart = 0;
    let chunkLen = 0;
    let pos = startPosition;
    while (pos + RECORD_BATCH_OVERHEAD <= end) {
      if (pos < chunkStart || pos + RECORD_BATCH_OVERHEAD > chunkStart + chunkLen) {
        chunkStart = pos;
        chunkLen = await this.file.read(chunk, 0, Math.min(chunk.length, end - pos), pos);
        if (chunkLen < RECORD_BATCH_OVERHEAD) return null;
      }
      const h = readBatchHeader(chunk, pos - chunkStart);
      if (pos === startPosition && startPosition > 0 && h.baseOffset !== entry.offset)
        return this.scanFrom({ offset: this.baseOffset, position: 0 }, match);
      if (h.sizeBytes < RECORD_BATCH_OVERHEAD) return null; // cannot happen for a recovered segment
      if (match(h)) return { position: pos, header: h };
      pos += h.sizeBytes;
    }
    return null;
  }

  /** Bytes [position, position + length) clipped to the segment. */
  async read(position: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.sizeBytes - position));
    const cached = this.tail.read(position, n);
    if (cached !== null && cached.length === n) return cached;
    const buf = Buffer.allocUnsafe(n);
    const got = await this.file.read(buf, 0, n, position);
    return got === n ? buf : buf.subarray(0, got);
  }

  /**
   * Removes every batch from the one containing `offset` on; returns the bytes removed.
   * The log end becomes that batch's base offset (batches are never split).
   */
  async truncateTo(offset: number): Promise<number> {
    if (offset >= this.nextOffset) return 0;
    const found = offset <= this.baseOffset ? { position: 0 } : await this.findBatch(offset);
    const position = found === null ? this.sizeBytes : found.position;
    const removed = this.sizeBytes - position;
    await this.file.truncate(position);
    await this.file.sync();
    // Persisted indexes may point past the new end or into batches written later.
    await this.removeIndexFiles();
    // Rebuild the in-memory state of what is left: cheap relative to a truncation's rarity.
    this.resetInMemory();
    await this.scan(0, this.baseOffset, position, false);
    return removed;
  }

  /** True while appended bytes are not yet covered by a finished fsync. */
  get unsynced(): boolean {
    return this.dirty || this.syncsInFlight.size > 0;
  }

  /**
   * Resolves once everything appended before the call is on stable storage: starts an fsync
   * when there are new bytes, else waits for the fsyncs already in flight (which cover them).
   * close() and delete() wait for fsyncs in flight instead of racing them.
   */
  async sync(): Promise<void> {
    if (!this.dirty) {
      await Promise.all([...this.syncsInFlight]);
      return;
    }
    this.dirty = false;
    const p = this.file.sync();
    this.syncsInFlight.add(p);
    try {
      await p;
    } finally {
      this.syncsInFlight.delete(p);
    }
  }

  /** Writes the indexes (with a final time-index entry, as Kafka does when a segment goes inactive). */
  async persistIndexes(): Promise<void> {
    if (!this.indexesDirty || this.offsetIndex === null || this.timeIndex === null) return;
    this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    this.indexesDirty = false;
    await Promise.all([
      writeFileAtomic(this.indexPath(".index"), this.offsetIndex.encode()),
      writeFileAtomic(this.indexPath(".timeindex"), this.timeIndex.encode()),
    ]);
  }

  async close(): Promise<void> {
    this.tail.clear();
    await Promise.allSettled([...this.syncsInFlight]);
    await this.file.close();
  }

  /** Closes and removes the segment's files. */
  async delete(): Promise<void> {
    await Promise.allSettled([...this.syncsInFlight]);
    await this.file.close().catch(() => undefined);
    await Promise.all([
      rm(this.logPath, { force: true }),
      rm(this.indexPath(".index"), { force: true }),
      rm(this.indexPath(".timeindex"), { force: true }),
    ]);
  }
}

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}
