// A parked long poll (a client Fetch, a follower's ReplicaFetch) waits on every partition it
// looked at until one of them changes or its time runs out. The two differ only in which
// change counts, so they name the Partition subscription to use.
import type { Partition } from "./partition.js";

/** A partition a long poll looked at, with the change counter it read before looking. */
export interface WatchedPartition {
  readonly p: Partition;
  readonly seq: number;
}

/**
 * Resolves once any of `parts` fires `on` (at once if it changed since its `seq`), or after
 * `ms`; either way every other registration and the timer are cancelled.
 */
export function waitForWake(parts: readonly WatchedPartition[], ms: number, on: "onChange" | "onData"): Promise<void> {
  return new Promise((resolve) => {
    const cancels: (() => void)[] = [];
    const done = () => {
      clearTimeout(timer);
      for (const c of cancels) c();
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    for (const { p, seq } of parts) cancels.push(p[on](done, seq));
  });
}
