// Group commit for pipelined Readys: while one storage write is in flight, the Readys taken
// meanwhile queue up; when it completes, the queue is written as ONE batch (one fsync). This
// module is the pure part: which queued Readys go together and what the combined write is.
import type { Entry, HardState, Ready, Snapshot } from "../core/types.js";

export interface SaveBatch {
  /** The Readys this write covers, in order; each is persisted once it lands. */
  readonly readys: readonly Ready[];
  /** The newest hard state among them, if any changed. */
  readonly hardState: HardState | undefined;
  /** Their entries as one contiguous run (later Readys overwrite earlier ones from their first index). */
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly mustSync: boolean;
}

/**
 * Takes the next batch off the front of `queue` (mutating it): every queued Ready up to the
 * next one carrying a snapshot, or a snapshot Ready and those after it up to the next one.
 * A received snapshot replaces the whole log, so it never shares a batch with older entries.
 */
export function takeBatch(queue: Ready[]): SaveBatch {
  let n = 1;
  while (n < queue.length && queue[n]!.snapshot === undefined) n++;
  const readys = queue.splice(0, n);
  let hardState: HardState | undefined;
  let entries: readonly Entry[] = [];
  let mustSync = false;
  for (const rd of readys) {
    if (rd.hardState !== undefined) hardState = rd.hardState;
    entries = mergeEntries(entries, rd.entries);
    mustSync ||= rd.mustSync;
  }
  return { readys, hardState, entries, snapshot: readys[0]!.snapshot, mustSync };
}

/** `later` appended after `earlier`, replacing whatever of `earlier` it overlaps (a truncation). */
export function mergeEntries(earlier: readonly Entry[], later: readonly Entry[]): readonly Entry[] {
  if (later.length === 0) return earlier;
  if (earlier.length === 0) return later;
  const first = later[0]!.index;
  const base = earlier[0]!.index;
  if (first <= base) return later;
  if (first > base + earlier.length) throw new Error(`raft: Ready entries at ${first} leave a gap after ${base + earlier.length - 1}`);
  return earlier.slice(0, first - base).concat(later);
}
