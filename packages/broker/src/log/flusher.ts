// Broker-wide group commit (DESIGN.md, durability): callers ask for a log to be flushed up to
// an offset; each log runs its own fsync loop, and every append that arrived before a log's
// fsync started shares it. No timer anywhere: an idle log starts its fsync at once. Requests made while that log's fsync runs wait for its next one, so
// under load the disk sees one fsync per partition per round, not per append. Logs do not wait
// for each other: a slow fsync on one partition never delays the acknowledgements of another.
import type { PartitionLog } from "./partition_log.js";

interface Waiter {
  readonly upToOffset: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class LogFlusher {
  /** Waiters per log not yet covered by a started fsync; a log is here while its loop runs. */
  private readonly pending = new Map<PartitionLog, Waiter[]>();
  /** Per-log fsync rounds started and finished, for metrics and benchmarks. */
  passes = 0;
  logsFlushed = 0;

  /**
   * Resolves once `log.flushedOffset >= upToOffset` (or the log no longer reaches that
   * offset, having been truncated). Resolves at once for logs in replicated flush mode.
   * Rejects with the log's storage error when its fsync fails.
   */
  flush(log: PartitionLog, upToOffset: number): Promise<void> {
    if (log.config.flushMode === "replicated" || log.flushedOffset >= upToOffset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { upToOffset, resolve, reject };
      const list = this.pending.get(log);
      if (list !== undefined) {
        list.push(w);
        return;
      }
      this.pending.set(log, [w]);
      // Start once the current microtasks have run (appends completing together still share
      // the first fsync) but not a whole event-loop turn later: under load a turn is several
      // milliseconds of other callbacks, all on the acks=all critical path. Appends arriving
      // while this fsync runs join the next round, which is where group commit batches.
      queueMicrotask(() => void this.run(log));
    });
  }

  private async run(log: PartitionLog): Promise<void> {
    for (;;) {
      const waiters = this.pending.get(log) ?? [];
      if (waiters.length === 0) {
        this.pending.delete(log);
        return;
      }
      // Later requests queue on a fresh list for the next round.
      this.pending.set(log, []);
      this.passes++;
      try {
        await log.flush();
        this.logsFlushed++;
      } catch (err) {
        for (const w of waiters) w.reject(err);
        continue;
      }
      const next = this.pending.get(log)!;
      for (const w of waiters) {
        if (log.flushedOffset >= w.upToOffset || log.logEndOffset < w.upToOffset) w.resolve();
        else next.push(w); // appended after this round took its target
      }
    }
  }
}
