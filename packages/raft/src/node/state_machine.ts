// The contract between RaftNode and what it replicates (e.g. the controller's metadata image).
import type { Entry, Snapshot } from "../core/types.js";

/**
 * RaftNode calls these one at a time, never concurrently, in log order.
 * - apply: committed Normal entries, in index order (the leader's Empty entries are skipped).
 *   It must be deterministic; every node applies the same sequence.
 * - snapshot: the state after everything applied so far; RaftNode stores it and compacts.
 * - restore: replace the state with a snapshot (at startup from the stored snapshot, or when
 *   the leader sends one because this node fell behind the compacted log).
 */
export interface StateMachine {
  apply(entries: readonly Entry[]): void | Promise<void>;
  snapshot(): Promise<Uint8Array> | Uint8Array;
  restore(snapshot: Snapshot): void | Promise<void>;
}
