// @brook/controller: the KRaft-style metadata quorum. Metadata records and the immutable
// MetadataImage built from them, the pure request logic (validation, placement, fencing,
// elections), and QuorumController + controllerService, which run it on a RaftNode behind the
// Controller gRPC service. Brokers never import this package; they use proto/controller.proto.
export { Codes, ControllerError, MetadataReplayError, type ApiError, type CodeName } from "./errors.js";
export {
  EMPTY_IMAGE,
  type BrokerRegistration,
  type ClusterImage,
  type ConfigsImage,
  type MetadataImage,
  type PartitionState,
  type ProducerIdsImage,
  type TopicImage,
  type TopicsImage,
} from "./image/image.js";
export { MetadataDelta, applyRecords, LEADER_NONE, LEADER_UNCHANGED, METADATA_RECORD_VERSION } from "./image/delta.js";
export { encodeBatch, decodeBatch, encodeSnapshot, decodeSnapshot, imageDigest, imageRecords } from "./image/records.js";
export { ControllerLogic, DEFAULT_LOGIC_CONFIG, type Clock, type ControllerLogicConfig, type ControllerResult } from "./logic/controller_logic.js";
export { placePartitions, type PlacementBroker } from "./logic/placement.js";
export { QuorumController, NotControllerError, type QuorumControllerOptions } from "./server/quorum_controller.js";
export { controllerService } from "./server/controller_service.js";
