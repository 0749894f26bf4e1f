// SimDisk: one node's simulated durable store. Writes land in `current` (what the running node
// reads) and in a queue of unsynced operations; sync() replays the queue onto `synced`. A crash
// throws `current` away and the node restarts from a copy of `synced`: exactly what a power
// loss does to data written but not fsynced.
import { MemoryStorage } from "../core/memory_storage.js";
import type { Entry, HardState, NodeId, Snapshot } from "../core/types.js";

type Op =
  | { readonly kind: "append"; readonly entries: readonly Entry[] }
  | { readonly kind: "hardState"; readonly hs: HardState }
  | { readonly kind: "snapshot"; readonly snap: Snapshot };

export class SimDisk {
  current: MemoryStorage;
  #synced: MemoryStorage;
  #pending: Op[] = [];

  constructor(readonly voters: readonly NodeId[], readonly observers: readonly NodeId[]) {
    this.current = new MemoryStorage(voters, observers);
    this.#synced = new MemoryStorage(voters, observers);
  }

  get synced(): MemoryStorage {
    return this.#synced;
  }

  hasUnsynced(): boolean {
    return this.#pending.length > 0;
  }

  writeSnapshot(snap: Snapshot): void {
    this.current.applySnapshot(snap);
    this.#pending.push({ kind: "snapshot", snap });
  }

  writeEntries(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.current.append(entries);
    this.#pending.push({ kind: "append", entries });
  }

  writeHardState(hs: HardState): void {
    this.current.setHardState(hs);
    this.#pending.push({ kind: "hardState", hs });
  }

  sync(): void {
    for (const op of this.#pending) apply(this.#synced, op);
    this.#pending = [];
  }

  /**
   * The state machine snapshots at `index` and the log is compacted, keeping `retain` entries
   * for slow followers. Done synced on both copies (a real shell writes the snapshot file and
   * fsyncs it before compacting).
   */
  snapshotAndCompact(index: number, data: Uint8Array, retain: number): void {
    this.sync();
    for (const s of [this.current, this.#synced]) {
      if (index <= s.snapshot().meta.index || index > s.lastIndex()) continue;
      s.createSnapshot(index, data);
      const upTo = index - retain;
      if (upTo >= s.firstIndex()) s.compact(upTo);
    }
  }

  /** Power loss: unsynced writes vanish. */
  crash(): void {
    this.#pending = [];
    this.current = clone(this.#synced, this.voters, this.observers);
  }
}

function apply(s: MemoryStorage, op: Op): void {
  switch (op.kind) {
    case "append":
      s.append(op.entries);
      return;
    case "hardState":
      s.setHardState(op.hs);
      return;
    case "snapshot":
      s.applySnapshot(op.snap);
      return;
  }
}

function clone(s: MemoryStorage, voters: readonly NodeId[], observers: readonly NodeId[]): MemoryStorage {
  const c = new MemoryStorage(voters, observers);
  const snap = s.snapshot();
  if (snap.meta.index > 0) c.applySnapshot(snap);
  if (s.lastIndex() >= s.firstIndex()) c.append(s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
  c.setHardState(s.hardState());
  return c;
}
