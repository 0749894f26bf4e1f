// The SDK's error classes: one per kind of failure, each saying whether retrying can help
// (`retriable`), whether the metadata cache should be refreshed first (`staleMetadata`), the
// broker's Kafka error code (`code`, -1 when none) and a message that says what to do.
// `errorFromCode` maps a broker answer to the right class.
import { errorInfo } from "@brook/protocol";

export class BrookError extends Error {
  constructor(
    message: string,
    readonly code: number = -1,
    readonly retriable = false,
    readonly staleMetadata = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing, of the wrong type or out of range. Fix the config. */
export class ConfigError extends BrookError {}
/** A record is larger than a limit; the message names the limit. Send smaller records or raise it. */
export class RecordTooLargeError extends BrookError {}
/** The key or value serializer threw for this record only. */
export class SerializationError extends BrookError {}
/** The topic or partition does not exist (or is not yet known to this broker). */
export class UnknownTopicError extends BrookError {}
/** The broker asked to talk to another node (leader moved, coordinator moved). Retried internally. */
export class NotLeaderError extends BrookError {}
/** A deadline passed: a request, delivery.timeout.ms or a retry budget. */
export class TimeoutError extends BrookError {}
/** No broker answered; the cluster is down or unreachable from here. */
export class ClusterUnavailableError extends BrookError {}
/** The group rejected this member (removed, or a newer epoch exists); the consumer rejoins. */
export class GroupMembershipError extends BrookError {}
/** The broker rejected the request as invalid; retrying the same request will not help. */
export class InvalidRequestError extends BrookError {}
/** The producer's sequence or id was rejected; the producer must be recreated. */
export class ProducerFencedError extends BrookError {}
/** The client (or this producer/consumer) was closed. */
export class ClosedError extends BrookError {}
/** Any other broker error. */
export class BrokerResponseError extends BrookError {}

type Ctor = new (message: string, code: number, retriable: boolean, staleMetadata: boolean) => BrookError;

interface Entry {
  readonly name: string;
  readonly cls: Ctor;
  readonly retriable: boolean;
  readonly stale: boolean;
  readonly hint: string;
}

const e = (name: string, cls: Ctor, retriable: boolean, stale: boolean, hint: string): Entry => ({ name, cls, retriable, stale, hint });

/** Kafka's codes (org.apache.kafka.common.protocol.Errors) the SDK distinguishes. */
const CODES = new Map<number, Entry>([
  [-1, e("UNKNOWN_SERVER_ERROR", BrokerResponseError, false, false, "the broker failed unexpectedly; check its logs")],
  [1, e("OFFSET_OUT_OF_RANGE", BrokerResponseError, false, false, "the offset is outside the log; the consumer resets per auto.offset.reset")],
  [2, e("CORRUPT_MESSAGE", InvalidRequestError, true, false, "a batch failed its CRC check; it is resent")],
  [3, e("UNKNOWN_TOPIC_OR_PARTITION", UnknownTopicError, true, true, "create the topic first, or check its name and partition count")],
  [5, e("LEADER_NOT_AVAILABLE", NotLeaderError, true, true, "a leader election is in progress; retried")],
  [6, e("NOT_LEADER_OR_FOLLOWER", NotLeaderError, true, true, "leadership moved; retried against the new leader")],
  [7, e("REQUEST_TIMED_OUT", TimeoutError, true, false, "the broker did not finish in time; retried")],
  [8, e("BROKER_NOT_AVAILABLE", ClusterUnavailableError, true, true, "the broker is down; retried elsewhere")],
  [10, e("MESSAGE_TOO_LARGE", RecordTooLargeError, false, false, "the batch exceeds the broker's max.message.bytes; send smaller records")],
  [12, e("OFFSET_METADATA_TOO_LARGE", InvalidRequestError, false, false, "commit metadata is limited to 4096 characters")],
  [14, e("COORDINATOR_LOAD_IN_PROGRESS", NotLeaderError, true, false, "the group coordinator is loading; retried")],
  [15, e("COORDINATOR_NOT_AVAILABLE", NotLeaderError, true, true, "no group coordinator right now; retried")],
  [16, e("NOT_COORDINATOR", NotLeaderError, true, true, "the group coordinator moved; retried against the new one")],
  [17, e("INVALID_TOPIC_EXCEPTION", InvalidRequestError, false, false, "topic names use [a-zA-Z0-9._-], at most 249 characters")],
  [18, e("RECORD_LIST_TOO_LARGE", RecordTooLargeError, false, false, "the request is too large; lower batch.size")],
  [19, e("NOT_ENOUGH_REPLICAS", BrokerResponseError, true, false, "fewer in-sync replicas than min.insync.replicas; retried")],
  [20, e("NOT_ENOUGH_REPLICAS_AFTER_APPEND", BrokerResponseError, true, false, "written but not replicated enough; retried (idempotence avoids duplicates)")],
  [21, e("INVALID_REQUIRED_ACKS", ConfigError, false, false, "acks must be 0, 1 or -1/all")],
  [24, e("INVALID_GROUP_ID", InvalidRequestError, false, false, "group ids are 1-255 characters")],
  [25, e("UNKNOWN_MEMBER_ID", GroupMembershipError, false, false, "this member was removed from the group; it rejoins")],
  [26, e("INVALID_SESSION_TIMEOUT", ConfigError, false, false, "session.timeout.ms is outside the broker's allowed range")],
  [36, e("TOPIC_ALREADY_EXISTS", InvalidRequestError, false, false, "the topic exists already")],
  [37, e("INVALID_PARTITIONS", InvalidRequestError, false, false, "the partition count is invalid (must grow, at least 1)")],
  [38, e("INVALID_REPLICATION_FACTOR", InvalidRequestError, false, false, "the replication factor is invalid or exceeds the live brokers")],
  [40, e("INVALID_CONFIG", ConfigError, false, false, "the config key or value is not accepted; the message names what is allowed")],
  [41, e("NOT_CONTROLLER", NotLeaderError, true, true, "the controller moved; retried")],
  [42, e("INVALID_REQUEST", InvalidRequestError, false, false, "the broker rejected the request as malformed")],
  [45, e("OUT_OF_ORDER_SEQUENCE_NUMBER", ProducerFencedError, false, false, "the broker lost track of this producer's sequence; recreate the producer")],
  [46, e("DUPLICATE_SEQUENCE_NUMBER", BrokerResponseError, false, false, "duplicate batch (already written)")],
  [56, e("KAFKA_STORAGE_ERROR", BrokerResponseError, true, true, "a broker disk failed; retried")],
  [59, e("UNKNOWN_PRODUCER_ID", ProducerFencedError, true, false, "the broker forgot this producer id; the producer re-initializes")],
  [68, e("NON_EMPTY_GROUP", InvalidRequestError, false, false, "the group has active members; stop them first")],
  [69, e("GROUP_ID_NOT_FOUND", InvalidRequestError, false, false, "no such group")],
  [74, e("FENCED_LEADER_EPOCH", NotLeaderError, true, true, "our leader epoch is old; metadata refreshed and retried")],
  [75, e("UNKNOWN_LEADER_EPOCH", NotLeaderError, true, true, "the broker is behind on metadata; retried")],
  [81, e("GROUP_MAX_SIZE_REACHED", InvalidRequestError, false, false, "the group is full")],
  [87, e("INVALID_RECORD", InvalidRequestError, false, false, "the broker rejected a record as invalid")],
  [110, e("FENCED_MEMBER_EPOCH", GroupMembershipError, false, false, "a newer member epoch exists; the consumer rejoins")],
  [111, e("UNRELEASED_INSTANCE_ID", GroupMembershipError, false, false, "another member uses this group.instance.id")],
  [112, e("UNSUPPORTED_ASSIGNOR", ConfigError, false, false, "use group.remote.assignor uniform or range")],
  [113, e("STALE_MEMBER_EPOCH", GroupMembershipError, true, false, "the member epoch moved on; retried with the new epoch")],
]);

export function errorName(code: number): string {
  return CODES.get(code)?.name ?? errorInfo(code).name;
}

/** The typed error for a broker's answer; `context` says what was being done. */
export function errorFromCode(code: number, brokerMessage: string, context: string): BrookError {
  const entry = CODES.get(code);
  const detail = brokerMessage === "" ? "" : `: ${brokerMessage}`;
  if (entry === undefined) {
    // Not one the SDK maps to a class of its own: the protocol's table still names it.
    const info = errorInfo(code);
    return new BrokerResponseError(`${context} failed with ${info.name}${detail}`, code, info.retriable, info.staleMetadata);
  }
  return new entry.cls(`${context} failed with ${entry.name}${detail} (${entry.hint})`, code, entry.retriable, entry.stale);
}

export function isRetriable(err: unknown): boolean {
  return err instanceof BrookError && err.retriable;
}
