// Errors RaftNode hands to its callers. NotLeaderError extends the core's so `instanceof`
// works against either, and adds the leader's address so a caller can redirect (KRaft's
// NOT_CONTROLLER answer names the leader the same way).
import { NotLeaderError as CoreNotLeaderError } from "../core/errors.js";
import type { NodeId } from "../core/types.js";

export class NotLeaderError extends CoreNotLeaderError {
  constructor(
    leader: NodeId,
    /** host:port of the leader's Raft endpoint, when the leader is known. */
    readonly leaderAddress: string | undefined,
  ) {
    super(leader);
  }

  /** The leader this node knows of; 0 when unknown. */
  get leaderId(): NodeId {
    return this.leader;
  }
}

/** The proposal's fate is unknown: a snapshot replaced the log around it. Retry if idempotent. */
export class ProposalOutcomeUnknownError extends Error {
  override readonly name = "ProposalOutcomeUnknownError";
  readonly code = "REQUEST_TIMED_OUT";
  constructor(index: number) {
    super(`outcome of the proposal at index ${index} is unknown: a snapshot replaced the log there`);
  }
}

/** The node was closed, or stopped after a storage failure, before the request finished. */
export class RaftNodeClosedError extends Error {
  override readonly name = "RaftNodeClosedError";
  readonly code = "REQUEST_TIMED_OUT";
  constructor(reason: string) {
    super(`raft node closed: ${reason}`);
  }
}

/** A read or leadership transfer did not finish in time (no leader, or a partition). */
export class RaftTimeoutError extends Error {
  override readonly name = "RaftTimeoutError";
  readonly code = "REQUEST_TIMED_OUT";
  constructor(what: string, ms: number) {
    super(`${what} did not complete within ${ms} ms`);
  }
}
