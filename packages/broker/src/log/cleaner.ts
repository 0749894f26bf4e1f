// The log cleaner: compacts partition logs with cleanup.policy=compact in the background.
//
// One pass over a log (LogCleaner.clean):
// - The cleanable part is the inactive segments wholly below the high watermark; the active
//   segment is never touched. `cleaner.checkpoint` in the partition directory holds the first
//   dirty offset (everything below it has been cleaned).
// - The pass runs when dirty bytes / cleanable bytes >= min.cleanable.dirty.ratio. It builds
//   key -> latest offset over the dirty segments (bounded: at most `maxKeys` keys; a full map
//   ends the dirty range at a segment boundary), then rewrites each cleanable segment up to
//   the end of that range (compaction.ts decides per record), then moves the checkpoint.
// - All reads and writes are async, a segment is read in chunks of about 1 MiB, and the
//   cleaner yields to the event loop between chunks, so it never blocks it for long.
//
// Swapping a cleaned segment in (Kafka's recovery rules, one segment at a time):
//   1. write `<base>.log.cleaned` and fsync it                       (outside the log's queue)
//   2. rename it to `<base>.log.swap`, fsync the directory            (the commit point)
//   3. delete `<base>.index` and `<base>.timeindex`
//   4. rename `<base>.log.swap` over `<base>.log`, fsync the directory
//   5. open the new segment (its indexes are rebuilt from its batches) and put it in the list
// Steps 2-5 run inside the log's queue, so no append, truncation or retention interleaves. On
// open, recoverCleanerFiles() deletes `.cleaned` files (an unfinished pass: the old segment is
// intact) and completes any `.swap` (steps 3-4), so a crash at any step leaves either the old
// or the cleaned segment, both holding the same latest value per key at the same offsets.
// The old segment's file descriptor stays open a minute after the swap so reads already in
// flight on it finish (its bytes live on until the descriptor closes).
import { open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type BatchHeader, lastOffsetOf, readBatchHeader, RECORD_BATCH_OVERHEAD } from "./batch.js";
import { readJsonCheckpoint, syncDir, writeJsonCheckpoint } from "./checkpoint_file.js";
import { emptyBatch, forEachBatch, isControl, OffsetMap, recordArea, recordsOf, retain, rewriteBatch, type RetainRule } from "./compaction.js";
import type { PartitionLog } from "./partition_log.js";
import { LogSegment, segmentFileName } from "./segment.js";
import type { Clock, LogLogger } from "./types.js";

export const CLEANER_CHECKPOINT = "cleaner.checkpoint";
const CHUNK_BYTES = 1 << 20;
const OLD_SEGMENT_GRACE_MS = 60_000;

export interface CompactionSettings {
  /** min.cleanable.dirty.ratio (Kafka default 0.5). */
  readonly minCleanableDirtyRatio: number;
  /** delete.retention.ms: how long tombstones stay (Kafka default 1 day). */
  readonly deleteRetentionMs: number;
}

export const DEFAULT_COMPACTION: CompactionSettings = { minCleanableDirtyRatio: 0.5, deleteRetentionMs: 24 * 60 * 60 * 1000 };

/** Steps of a swap, for tests that crash the cleaner at each one. */
export type SwapStep = "cleaned-written" | "swap-renamed" | "indexes-removed" | "log-renamed";

export interface CleanerOptions {
  readonly clock: Clock;
  readonly logger: LogLogger;
  /** Largest number of distinct keys in one pass's offset map (memory bound). */
  readonly maxKeys?: number;
  /** Called after each swap step; throwing simulates a crash there (tests only). */
  readonly afterStep?: (step: SwapStep, base: number) => void;
}

export interface CleanResult {
  /** Segments rewritten and swapped in. */
  readonly segmentsCleaned: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** The first dirty offset after the pass. */
  readonly firstDirtyOffset: number;
}

const NOTHING = (firstDirtyOffset: number): CleanResult => ({ segmentsCleaned: 0, bytesBefore: 0, bytesAfter: 0, firstDirtyOffset });
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Finishes or discards what a crashed cleaner left in `dir`; call before the segments are listed. */
export async function recoverCleanerFiles(dir: string, logger: LogLogger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  let changed = false;
  for (const name of names) {
    if (name.endsWith(".log.cleaned")) {
      await rm(join(dir, name), { force: true });
      changed = true;
      continue;
    }
    const m = /^(\d{20})\.log\.swap$/.exec(name);
    if (m === null) continue;
    const base = Number(m[1]);
    await Promise.all([rm(join(dir, segmentFileName(base, ".index")), { force: true }), rm(join(dir, segmentFileName(base, ".timeindex")), { force: true })]);
    await syncDir(dir);
    await rename(join(dir, name), join(dir, segmentFileName(base, ".log")));
    logger.warn({ dir, base }, "completed a cleaned-segment swap interrupted by a crash");
    changed = true;
  }
  if (changed) await syncDir(dir);
}

/** Reads the batches of an inactive segment in chunks of whole batches. */
async function* batchChunks(seg: LogSegment): AsyncGenerator<Buffer> {
  let pos = 0;
  const end = seg.sizeBytes;
  while (pos + RECORD_BATCH_OVERHEAD <= end) {
    let buf = await seg.read(pos, CHUNK_BYTES);
    let walked = forEachBatch(buf, () => undefined);
    if (walked === 0) {
      // One batch larger than a chunk: read exactly it.
      const h = readBatchHeader(buf, 0);
      if (h.sizeBytes < RECORD_BATCH_OVERHEAD) throw new RangeError(`bad batch at ${pos} of segment ${seg.baseOffset}`);
      buf = await seg.read(pos, h.sizeBytes);
      walked = forEachBatch(buf, () => undefined);
      if (walked === 0) throw new RangeError(`truncated batch at ${pos} of segment ${seg.baseOffset}`);
    }
    yield buf.subarray(0, walked);
    pos += walked;
    await yieldToLoop();
  }
}

async function readFirstDirty(dir: string): Promise<number> {
  try {
    const body = (await readJsonCheckpoint(join(dir, CLEANER_CHECKPOINT))) as { firstDirtyOffset?: unknown } | null;
    return typeof body?.firstDirtyOffset === "number" ? body.firstDirtyOffset : 0;
  } catch {
    return 0; // damaged: cleaning again from the start is always safe
  }
}

export class LogCleaner {
  private readonly maxKeys: number;

  constructor(private readonly opts: CleanerOptions) {
    this.maxKeys = opts.maxKeys ?? 1_000_000;
  }

  /** One cleaning pass over `log` (see the file comment). */
  async clean(log: PartitionLog, settings: CompactionSettings): Promise<CleanResult> {
    const view = await log.withSegments(async (segments, env) => ({ segments: [...segments], ...env }));
    const checkpointed = await readFirstDirty(log.dir);
    const inactive = view.segments.slice(0, -1);
    const cleanable: LogSegment[] = [];
    for (const s of inactive) {
      if (s.nextOffset > view.hw) break;
      cleanable.push(s);
    }
    const logEnd = view.segments[view.segments.length - 1]!.nextOffset;
    // A checkpoint past the log's end belongs to a log since truncated: clean from the start.
    const firstDirty = checkpointed > logEnd ? view.logStart : Math.max(checkpointed, view.logStart);
    const dirty = cleanable.filter((s) => s.nextOffset > firstDirty);
    const dirtyBytes = dirty.reduce((n, s) => n + s.sizeBytes, 0);
    const totalBytes = cleanable.reduce((n, s) => n + s.sizeBytes, 0);
    if (dirtyBytes === 0 || dirtyBytes / totalBytes < settings.minCleanableDirtyRatio) return NOTHING(firstDirty);

    const map = new OffsetMap(this.maxKeys);
    let dirtyEnd = firstDirty;
    for (const seg of dirty) {
      for await (const chunk of batchChunks(seg)) {
        const batches: { h: ReturnType<typeof readBatchHeader>; pos: number }[] = [];
        forEachBatch(chunk, (h, pos) => batches.push({ h, pos }));
        for (const { h, pos } of batches) {
          if (isControl(h)) continue;
          for (const r of recordsOf(await recordArea(chunk, pos, h), h.recordsCount, h.baseOffset)) {
            if (r.key !== null && r.offset >= firstDirty) map.put(r.key, r.offset);
          }
        }
      }
      dirtyEnd = seg.nextOffset;
      if (map.full) break; // the rest waits for the next pass
    }

    const rule: RetainRule = { map, deleteHorizonMs: this.opts.clock.nowMs() - settings.deleteRetentionMs };
    let segmentsCleaned = 0;
    let bytesBefore = 0;
    let bytesAfter = 0;
    let skipped = false;
    for (const seg of cleanable) {
      if (seg.baseOffset >= dirtyEnd) break;
      const r = await this.cleanSegment(log, seg, rule);
      if (r === "unchanged") continue;
      if (r === "skipped") {
        skipped = true;
        continue;
      }
      segmentsCleaned++;
      bytesBefore += seg.sizeBytes;
      bytesAfter += r;
    }
    // The checkpoint claims every key below dirtyEnd is compacted against this pass's map. A
    // segment whose swap was dropped still holds values that later tombstones hide; marking
    // it clean would let those values come back once the tombstones expire. A truncation
    // during the pass also voids it. Written in the log's queue, so it cannot land after a
    // truncation or in a removed (or re-created) log's directory.
    const recorded = skipped
      ? false
      : await log.withSegments(async (_segments, env) => {
          if (env.truncations !== view.truncations) return false;
          await writeJsonCheckpoint(join(log.dir, CLEANER_CHECKPOINT), { firstDirtyOffset: dirtyEnd });
          return true;
        });
    if (!recorded) dirtyEnd = firstDirty;
    if (segmentsCleaned > 0) {
      this.opts.logger.info({ dir: log.dir, segmentsCleaned, bytesBefore, bytesAfter, firstDirtyOffset: dirtyEnd }, "compacted log segments");
    }
    return { segmentsCleaned, bytesBefore, bytesAfter, firstDirtyOffset: dirtyEnd };
  }

  /** Rewrites one segment and swaps it in; returns its new size, "unchanged" when nothing was removed, "skipped" when the segment changed under it and was not swapped. */
  private async cleanSegment(log: PartitionLog, seg: LogSegment, rule: RetainRule): Promise<number | "unchanged" | "skipped"> {
    const logPath = join(log.dir, segmentFileName(seg.baseOffset, ".log"));
    const cleanedPath = `${logPath}.cleaned`;
    const swapPath = `${logPath}.swap`;
    const fh = await open(cleanedPath, "w");
    let written = 0;
    let changed = false;
    const emit = async (buf: Buffer): Promise<void> => {
      await fh.write(buf, 0, buf.length, written);
      written += buf.length;
    };
    // Batches emptied in a row (same leader epoch) become one empty batch spanning them.
    let run: { first: BatchHeader; last: number; maxTimestamp: number } | null = null;
    const endRun = async (): Promise<void> => {
      if (run !== null) await emit(emptyBatch(run.first, run.last, run.maxTimestamp));
      run = null;
    };
    try {
      for await (const chunk of batchChunks(seg)) {
        const positions: number[] = [];
        forEachBatch(chunk, (_h, pos) => positions.push(pos));
        for (const pos of positions) {
          const h = readBatchHeader(chunk, pos);
          const out = await rewriteBatch(chunk, pos, (r, bh) => retain(r, bh.maxTimestamp, rule));
          if (out === null || out.length !== h.sizeBytes) changed = true;
          if (out === null) {
            if (run !== null && run.first.partitionLeaderEpoch !== h.partitionLeaderEpoch) await endRun();
            if (run === null) run = { first: h, last: lastOffsetOf(h), maxTimestamp: h.maxTimestamp };
            else {
              run.last = lastOffsetOf(h);
              run.maxTimestamp = Math.max(run.maxTimestamp, h.maxTimestamp);
            }
            continue;
          }
          await endRun();
          await emit(out);
        }
      }
      await endRun();
      if (changed) await fh.sync();
    } finally {
      await fh.close();
    }
    if (!changed) {
      await rm(cleanedPath, { force: true });
      return "unchanged";
    }
    this.opts.afterStep?.("cleaned-written", seg.baseOffset);
    const swapped = await log.withSegments(async (segments, env) => {
      const i = segments.indexOf(seg);
      // Gone (retention, truncation) or no longer wholly below the HW: drop this work.
      if (i < 0 || i === segments.length - 1 || seg.nextOffset > env.hw) return false;
      await rename(cleanedPath, swapPath);
      await syncDir(log.dir);
      this.opts.afterStep?.("swap-renamed", seg.baseOffset);
      await Promise.all([rm(join(log.dir, segmentFileName(seg.baseOffset, ".index")), { force: true }), rm(join(log.dir, segmentFileName(seg.baseOffset, ".timeindex")), { force: true })]);
      this.opts.afterStep?.("indexes-removed", seg.baseOffset);
      await rename(swapPath, logPath);
      await syncDir(log.dir);
      this.opts.afterStep?.("log-renamed", seg.baseOffset);
      const { segment } = await LogSegment.open(env.io, log.dir, seg.baseOffset, env.config.indexIntervalBytes, env.nowMs, {
        recover: false,
        expectedBaseOffset: seg.baseOffset,
      });
      await segment.persistIndexes();
      segment.maybeUnloadIndexes();
      segments[i] = segment;
      setTimeout(() => void seg.close().catch(() => undefined), OLD_SEGMENT_GRACE_MS).unref();
      return true;
    });
    if (!swapped) {
      await rm(cleanedPath, { force: true });
      return "skipped";
    }
    return written;
  }
}

/**
 * Runs cleaning passes in the background for the LogManager: at most one pass at a time over
 * the logs whose cleanup.policy includes compact, every `intervalMs`. A failure is logged and
 * only delays that log to the next round.
 */
export class CleanerRunner {
  private readonly cleaner: LogCleaner;
  private nextMs: number;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    clock: Clock,
    private readonly logger: LogLogger,
    private readonly intervalMs = 15_000,
  ) {
    this.cleaner = new LogCleaner({ clock, logger });
    this.nextMs = clock.nowMs() + intervalMs;
  }

  /** Starts a round when due (not awaited); returns when the next one is due. */
  poll(nowMs: number, logs: Iterable<PartitionLog>): number {
    if (nowMs >= this.nextMs && this.running === null && !this.stopped) {
      this.nextMs = nowMs + this.intervalMs;
      const compacted = [...logs].filter((l) => !l.offline && l.config.cleanupPolicy !== undefined && l.config.cleanupPolicy !== "delete");
      if (compacted.length > 0) {
        this.running = this.round(compacted).finally(() => {
          this.running = null;
        });
      }
    }
    return this.nextMs;
  }

  private async round(logs: readonly PartitionLog[]): Promise<void> {
    for (const log of logs) {
      if (this.stopped) return;
      const settings: CompactionSettings = {
        minCleanableDirtyRatio: log.config.minCleanableDirtyRatio ?? DEFAULT_COMPACTION.minCleanableDirtyRatio,
        deleteRetentionMs: log.config.deleteRetentionMs ?? DEFAULT_COMPACTION.deleteRetentionMs,
      };
      await this.cleaner.clean(log, settings).catch((err: unknown) => this.logger.warn({ dir: log.dir, err: String(err) }, "log cleaning failed; retried next round"));
    }
  }

  /** Lets a running round finish its current log and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    this.stopped = false;
  }
}
