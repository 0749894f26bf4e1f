// The pure Raft core's public surface (re-exported by the package's src/index.ts).
export * from "./types.js";
export { NotLeaderError, EntryTooLargeError, ProposalDroppedError } from "./errors.js";
export { MemoryStorage, SnapshotOutOfDateError } from "./memory_storage.js";
export { RawNode } from "./raw_node.js";
export { entrySize } from "./entry_size.js";
