// Errors the core throws out of propose(), transferLeader() and friends. These are the only
// exceptions that leave the core: step() never throws on bad input, it logs and drops.
import type { NodeId } from "./types.js";

/** This node is not the leader; `leader` is the one it knows of (0 = unknown). Retry there. */
export class NotLeaderError extends Error {
  override readonly name = "NotLeaderError";
  readonly code = "NOT_LEADER_OR_FOLLOWER";
  constructor(readonly leader: NodeId) {
    super(leader === 0 ? "not the raft leader; leader unknown" : `not the raft leader; leader is ${leader}`);
  }
}

/** The proposal is larger than maxEntryBytes. Retrying cannot help. */
export class EntryTooLargeError extends Error {
  override readonly name = "EntryTooLargeError";
  readonly code = "MESSAGE_TOO_LARGE";
  constructor(readonly size: number, readonly max: number) {
    super(`raft entry of ${size} bytes exceeds the limit of ${max} bytes`);
  }
}

/** The leader is busy (e.g. transferring leadership) and dropped the proposal. Retry later. */
export class ProposalDroppedError extends Error {
  override readonly name = "ProposalDroppedError";
  readonly code = "NOT_LEADER_OR_FOLLOWER";
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}`);
  }
}
