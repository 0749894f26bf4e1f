// Typed errors of the durable Raft store. A store that fails its own checks refuses to open:
// losing an acknowledged entry silently is worse than a node that stays down and says why.

/** The store on disk is torn or corrupt (bad checksum, gap in the log, impossible state). */
export class CorruptStorageError extends Error {
  override readonly name = "CorruptStorageError";
  readonly code = "CORRUPT_STORAGE";
  constructor(
    readonly dir: string,
    readonly detail: string,
  ) {
    super(`raft store ${dir} is corrupt: ${detail}`);
  }
}

/** A write asked for something the log cannot hold (e.g. a gap or an entry below the snapshot). */
export class StorageContractError extends Error {
  override readonly name = "StorageContractError";
  constructor(detail: string) {
    super(`raft storage contract violated: ${detail}`);
  }
}
