// @brook/broker: partition logs on disk, ISR replication, the group coordinator and the
// client-facing gRPC service. This is the package's only public entry.
export { Broker, type BrokerOptions, type BrokerParts, type BrokerStatus } from "./broker.js";
export { batchRecordCount, type BrokerMetricsSink, type GroupLagSnapshot } from "./metrics.js";
export { DEFAULT_BROKER_CONFIG, type BrokerConfig } from "./config.js";
export { BrokerError, Code } from "./errors.js";
export type { GroupCoordinatorApi } from "./service/group_api.js";
export type { ControllerApi, ProducerIdBlock } from "./service/controller_api.js";
export type {
  ControllerChannel,
  BrokerRegistration,
  HeartbeatRequest,
  HeartbeatResult,
} from "./lifecycle/controller_channel.js";
export type {
  LeadershipListener,
  LogStore,
  ProduceOutcome,
  ReadCommittedResult,
  AlterPartitionFn,
  AlterPartitionRequest,
  AlterPartitionResult,
} from "./replica/replica_manager.js";
export type { MetadataView, PartitionView, TopicView, BrokerView } from "./metadata/view.js";
export type { ReplicaLog } from "./replica/log_port.js";
