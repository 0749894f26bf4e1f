// How many bytes an entry counts for against maxSizePerMsg / maxBytes limits. One definition so
// the core, MemoryStorage and LevelStorage agree on where a batch ends.
import type { Entry } from "./types.js";

/** Payload plus a fixed allowance for index, term and type. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

/** The longest prefix of `ents` within maxBytes, never fewer than one entry. */
export function limitSize(ents: readonly Entry[], maxBytes: number): readonly Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  while (n < ents.length) {
    size += entrySize(ents[n]!);
    if (size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
