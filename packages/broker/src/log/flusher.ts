// Broker-wide group commit (DESIGN.md, durability): callers ask for a log to be flushed up to
// an offset; one pass fsyncs every log with a waiter, in parallel, and every append that
// arrived before the pass started shares that fsync. Requests made while a pass runs wait for
// the next pass, so under load the disk sees one fsync per partition per pass, not per append.
import type { PartitionLog } from "./partition_log.js";

interface Waiter {
  readonly upToOffset: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class LogFlusher {
  private pending = new Map<PartitionLog, Waiter[]>();
  private running = false;
  /** Passes started and logs fsync'd, for metrics and benchmarks. */
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
      const list = this.pending.get(log);
      const w = { upToOffset, resolve, reject };
      if (list === undefined) this.pending.set(log, [w]);
      else list.push(w);
      if (!this.running) {
        this.running = true;
        // Start on the next turn of the event loop so every append completing in this one
        // joins the first pass.
        setImmediate(() => void this.run());
      }
    });
  }

  private async run(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      this.passes++;
      await Promise.all([...batch].map(([log, waiters]) => this.flushOne(log, waiters)));
    }
    this.running = false;
  }

  private async flushOne(log: PartitionLog, waiters: readonly Waiter[]): Promise<void> {
    try {
      await log.flush();
      this.logsFlushed++;
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const w of waiters) {
      if (log.flushedOffset >= w.upToOffset || log.logEndOffset < w.upToOffset) w.resolve();
      else {
        // Appended after this pass took its target: the next pass covers it.
        const list = this.pending.get(log);
        if (list === undefined) this.pending.set(log, [w]);
        else list.push(w);
      }
    }
  }
}
