// Times the durable half of the file seam: every fdatasync and every O_DSYNC write, the calls
// an acks=all produce waits on. A slow disk then shows in the node's metrics (Kafka's
// LogFlushRateAndTimeMs) instead of only as produce latency with no visible cause; this VM's
// disk stalls 50-400 ms a few times a minute, and this is how an operator would see it.
import type { LogFile, LogIo } from "./log_file.js";

/** "fsync": a flush of a log's written tail; "dsync-write": a lone append written through. */
export type DurableWriteKind = "fsync" | "dsync-write";

/** Receives each durable call's duration; must be cheap and must not throw. */
export type DurableWriteObserver = (kind: DurableWriteKind, seconds: number) => void;

export function timedLogIo(inner: LogIo, observe: DurableWriteObserver, now: () => number = () => performance.now()): LogIo {
  const timed = async (kind: DurableWriteKind, call: () => Promise<void>): Promise<void> => {
    const t0 = now();
    await call();
    // Only completed calls: a failed one is reported by the log itself (offline directory).
    observe(kind, (now() - t0) / 1000);
  };
  return {
    async openFile(path: string, create: boolean): Promise<LogFile> {
      const file = await inner.openFile(path, create);
      const release = file.releaseDurable?.bind(file);
      return {
        write: (buf, position) => file.write(buf, position),
        writeDurable: (buf, position) => timed("dsync-write", () => file.writeDurable(buf, position)),
        ...(release !== undefined ? { releaseDurable: release } : {}),
        read: (buf, offset, length, position) => file.read(buf, offset, length, position),
        sync: () => timed("fsync", () => file.sync()),
        truncate: (length) => file.truncate(length),
        size: () => file.size(),
        close: () => file.close(),
      };
    },
  };
}
