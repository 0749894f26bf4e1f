// @brook/client: the Brook SDK for Node services: Producer, Consumer (groups), Admin.
export { Brook, type BrookOptions } from "./brook.js";
export { Admin, type ConfigEntry, type NewTopic, type PartitionOffsets } from "./admin.js";
export {
  Producer,
  SendError,
  type Message,
  type ProducerConfig,
  type RecordMetadata,
} from "./producer/producer.js";
export { type Partitioner, type PartitionerContext, keyPartition, roundRobinPartitioner, stickyPartitioner } from "./producer/partitioner.js";
export {
  Consumer,
  type ConsumedMessage,
  type ConsumerConfig,
  type MessageBatch,
  type OffsetReset,
  type RebalanceListener,
  type RunOptions,
  type TopicPartition,
} from "./consumer/consumer.js";
export { bytesSerde, jsonSerde, stringSerde, type Deserializer, type Serde, type Serializer } from "./serde.js";
export type { Logger } from "./logger.js";
export type { CompressionName } from "./records/record_batch.js";
export {
  BrookError,
  BrokerResponseError,
  ClosedError,
  ClusterUnavailableError,
  ConfigError,
  GroupMembershipError,
  InvalidRequestError,
  NotLeaderError,
  ProducerFencedError,
  RecordTooLargeError,
  SerializationError,
  TimeoutError,
  UnknownTopicError,
  errorFromCode,
  errorName,
} from "./errors.js";
