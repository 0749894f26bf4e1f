// @brook/raft: a generic Raft library. The pure core (core/) in the style of etcd's raft,
// durable storage on level (storage/), a gRPC transport (transport/), and RaftNode (node/),
// the shell that runs a core with real time, disk and network. See ../README.md.
export * from "./core/index.js";
// The shell's NotLeaderError extends the core's and adds the leader's address.
export { NotLeaderError, ProposalOutcomeUnknownError, RaftNodeClosedError, RaftTimeoutError } from "./node/errors.js";
export { RaftNode, type RaftNodeOptions, type RaftNodeStatus } from "./node/raft_node.js";
export type { StateMachine } from "./node/state_machine.js";
export { LevelStorage, type LevelStorageOptions } from "./storage/level_storage.js";
export { CorruptStorageError, StorageContractError } from "./storage/errors.js";
export { GrpcTransport, type GrpcTransportOptions, type TransportHandler } from "./transport/grpc_transport.js";
export { DEFAULT_BACKOFF, type BackoffPolicy } from "./transport/backoff.js";
