// @brook/raft: a generic Raft library (pure core, level storage, gRPC transport).
export const RAFT_PLACEHOLDER = true;
