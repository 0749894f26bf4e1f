// All partition logs of one broker data directory: `<dataDir>/<topic>-<partition>/`. Opens
// (and so recovers) every partition found at start, creates and removes partitions, and runs
// the periodic work: retention and checkpoints. Time is driven from outside through
// `poll(nowMs)`, which returns the milliseconds until it next needs to run; `start()` wraps
// that in one timer for production use.
//
// A partition removed by `remove()` is first renamed to `<topic>-<partition>.<ms>-delete` and
// the rename made durable (so a crash mid-delete never resurrects it at the next start); the
// files are then deleted in the background, as Kafka does, so removing a large partition
// never holds up the caller (the broker applies metadata behind it). Leftover `-delete`
// directories found at start are deleted in the background too.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { syncDir } from "./checkpoint_file.js";
import { validateLogConfig, type LogConfig } from "./config.js";
import { LogFlusher } from "./flusher.js";
import type { LogIo } from "./log_file.js";
import { CleanerRunner } from "./cleaner.js";
import { PartitionLog } from "./partition_log.js";
import type { LogStorageError } from "./errors.js";
import type { Clock, LogLogger } from "./types.js";

export interface LogManagerOptions {
  readonly clock: Clock;
  readonly logger: LogLogger;
  readonly io?: LogIo;
  /** log.retention.check.interval.ms (Kafka default 5 minutes). */
  readonly retentionCheckIntervalMs?: number;
  /** How often checkpoints (HW, recovery point, producer state) are written; Kafka uses 5 s for HW. */
  readonly checkpointIntervalMs?: number;
  /** Called when a partition's log goes offline after a disk failure. */
  readonly onOffline?: (topic: string, partition: number, err: LogStorageError) => void;
  /** How often the log cleaner looks for compacted logs to clean (log.cleaner.backoff.ms; default 15 s). */
  readonly cleanerIntervalMs?: number;
  /** Per-topic overrides of the defaults, consulted when a partition found on disk is opened. */
  readonly topicConfigs?: (topic: string) => Partial<LogConfig> | undefined;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

const DELETE_SUFFIX = "-delete";
/** Partitions opened (and recovered) in parallel at start. */
const RECOVERY_CONCURRENCY = 4;

/** `<topic>-<partition>` -> parts; null for other names. Topics may contain '-'. */
export function parsePartitionDirName(name: string): TopicPartition | null {
  const m = /^(.+)-(\d+)$/.exec(name);
  if (m === null) return null;
  return { topic: m[1]!, partition: Number(m[2]) };
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();
  private readonly opening = new Map<string, Promise<PartitionLog>>();
  private readonly failed = new Map<string, TopicPartition>();
  readonly flusher = new LogFlusher();
  private nextRetentionMs: number;
  private nextCheckpointMs: number;
  private readonly retentionIntervalMs: number;
  private readonly checkpointIntervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly cleaner: CleanerRunner;
  private polling: Promise<void> | null = null;
  private closed = false;
  /** Background deletions of renamed partition directories; close() waits for them. */
  private readonly deleting = new Set<Promise<void>>();

  private constructor(
    readonly dataDir: string,
    readonly defaults: LogConfig,
    private readonly opts: LogManagerOptions,
  ) {
    this.retentionIntervalMs = opts.retentionCheckIntervalMs ?? 5 * 60_000;
    this.checkpointIntervalMs = opts.checkpointIntervalMs ?? 5_000;
    const now = opts.clock.nowMs();
    this.nextRetentionMs = now + this.retentionIntervalMs;
    this.nextCheckpointMs = now + this.checkpointIntervalMs;
    this.cleaner = new CleanerRunner(opts.clock, opts.logger, opts.cleanerIntervalMs);
  }

  /** Opens the data directory and every partition log in it (recovering each). */
  static async open(dataDir: string, defaults: LogConfig, opts: LogManagerOptions): Promise<LogManager> {
    validateLogConfig(defaults);
    await mkdir(dataDir, { recursive: true });
    const mgr = new LogManager(dataDir, defaults, opts);
    const names = await readdir(dataDir, { withFileTypes: true });
    const found: Array<{ name: string; tp: TopicPartition }> = [];
    for (const d of names) {
      if (!d.isDirectory()) continue;
      if (d.name.endsWith(DELETE_SUFFIX)) {
        mgr.deleteInBackground(join(dataDir, d.name));
        continue;
      }
      const tp = parsePartitionDirName(d.name);
      if (tp !== null) found.push({ name: d.name, tp });
    }
    // A few partitions recover at once: recovery is mostly waiting on the disk.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < found.length) {
        const { name, tp } = found[next++]!;
        try {
          await mgr.getOrCreate(tp.topic, tp.partition, opts.topicConfigs?.(tp.topic) ?? {});
        } catch (err) {
          // One unreadable partition must not keep the broker from serving the others.
          mgr.failed.set(name, tp);
          opts.logger.error({ dir: join(dataDir, name), err: String(err) }, "partition log failed to open; left offline");
        }
      }
    };
    await Promise.all(Array.from({ length: RECOVERY_CONCURRENCY }, worker));
    return mgr;
  }

  /** Partitions found on disk that could not be opened at start (a later getOrCreate retries). */
  failedPartitions(): TopicPartition[] {
    return [...this.failed.values()];
  }

  private key(topic: string, partition: number): string {
    return partitionDirName(topic, partition);
  }

  get(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(this.key(topic, partition));
  }

  all(): Array<TopicPartition & { log: PartitionLog }> {
    return [...this.logs].map(([k, log]) => ({ ...parsePartitionDirName(k)!, log }));
  }

  /**
   * The log of a partition, opened or created with the defaults overlaid by `topicConfig`.
   * For a log already open (e.g. loaded at start before its topic config was known) a
   * non-empty `topicConfig` is applied to it.
   */
  getOrCreate(topic: string, partition: number, topicConfig: Partial<LogConfig> = {}): Promise<PartitionLog> {
    if (this.closed) return Promise.reject(new Error("log manager is closed"));
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === "." || topic === "..")
      return Promise.reject(new Error(`illegal topic name ${JSON.stringify(topic)}`));
    if (!Number.isSafeInteger(partition) || partition < 0) return Promise.reject(new Error(`illegal partition ${partition}`));
    const key = this.key(topic, partition);
    const existing = this.logs.get(key);
    const hasConfig = Object.keys(topicConfig).length > 0;
    if (existing !== undefined) {
      if (hasConfig) {
        try {
          existing.updateConfig({ ...this.defaults, ...topicConfig });
        } catch (err) {
          return Promise.reject(err);
        }
      }
      return Promise.resolve(existing);
    }
    const inFlight = this.opening.get(key);
    if (inFlight !== undefined)
      return hasConfig ? inFlight.then(() => this.getOrCreate(topic, partition, topicConfig)) : inFlight;
    const p = (async () => {
      const config = validateLogConfig({ ...this.defaults, ...topicConfig });
      const log = await PartitionLog.open(join(this.dataDir, key), config, {
        clock: this.opts.clock,
        logger: this.opts.logger,
        ...(this.opts.io !== undefined ? { io: this.opts.io } : {}),
      });
      await syncDir(this.dataDir);
      log.onOffline((err) => this.opts.onOffline?.(topic, partition, err));
      this.logs.set(key, log);
      this.failed.delete(key);
      return log;
    })();
    this.opening.set(key, p);
    return p.finally(() => this.opening.delete(key));
  }

  /** Closes and deletes a partition's log (rename first, so a crash cannot bring it back). */
  async remove(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    // An open in flight would otherwise register the log again after it is gone.
    await this.opening.get(key)?.catch(() => undefined);
    const log = this.logs.get(key);
    this.logs.delete(key);
    this.failed.delete(key);
    if (log !== undefined) await log.close().catch(() => undefined);
    const dir = join(this.dataDir, key);
    const doomed = join(this.dataDir, `${key}.${this.opts.clock.nowMs()}${DELETE_SUFFIX}`);
    try {
      await rename(dir, doomed);
      await syncDir(this.dataDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    this.deleteInBackground(doomed);
  }

  /** Deletes an already renamed `-delete` directory without making anyone wait for it. */
  private deleteInBackground(doomed: string): void {
    const p: Promise<void> = rm(doomed, { recursive: true, force: true })
      .catch((err: unknown) => this.opts.logger.warn({ dir: doomed, err: String(err) }, "deleting a removed partition directory failed; retried at the next start"))
      .finally(() => this.deleting.delete(p));
    this.deleting.add(p);
  }

  /** Resolves once every background deletion started so far has finished (tests, close). */
  async deletionsSettled(): Promise<void> {
    while (this.deleting.size > 0) await Promise.all([...this.deleting]);
  }

  /**
   * Runs what is due at `nowMs` (retention, checkpoints) and returns the milliseconds until
   * the next deadline. Failures of one log are logged and do not stop the others.
   */
  async poll(nowMs: number): Promise<number> {
    if (nowMs >= this.nextRetentionMs) {
      this.nextRetentionMs = nowMs + this.retentionIntervalMs;
      for (const log of this.logs.values()) {
        if (log.offline) continue;
        await log.deleteRecordsForRetention(nowMs).catch((err: unknown) => this.warn(log, "retention", err));
      }
    }
    if (nowMs >= this.nextCheckpointMs) {
      this.nextCheckpointMs = nowMs + this.checkpointIntervalMs;
      await Promise.all(
        [...this.logs.values()].filter((l) => !l.offline).map((l) => l.checkpoint().catch((err: unknown) => this.warn(l, "checkpoint", err))),
      );
    }
    const nextCleanMs = this.cleaner.poll(nowMs, this.logs.values());
    return Math.max(0, Math.min(this.nextRetentionMs, this.nextCheckpointMs, nextCleanMs) - nowMs);
  }

  private warn(log: PartitionLog, what: string, err: unknown): void {
    this.opts.logger.warn({ dir: log.dir, err: String(err) }, `periodic ${what} failed`);
  }

  /** Drives poll() from a timer until stop() or close(). */
  start(): void {
    if (this.timer !== null || this.closed) return;
    const tick = (): void => {
      this.polling = this.poll(this.opts.clock.nowMs()).then(
        (waitMs) => {
          this.polling = null;
          if (this.timer !== null) this.timer = setTimeout(tick, Math.max(10, waitMs));
        },
        () => {
          this.polling = null;
        },
      );
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
    await this.cleaner.stop();
  }

  /** Stops the timer and closes every log (each flushes and checkpoints). */
  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
    await Promise.all([...this.opening.values()].map((p) => p.catch(() => undefined)));
    await Promise.all([...this.logs.values()].map((l) => l.close()));
    this.logs.clear();
    await this.deletionsSettled();
  }
}
