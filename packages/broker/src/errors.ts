// The Kafka error codes the broker answers with, and the typed error it throws internally.
// Values are Kafka's (org.apache.kafka.common.protocol.Errors) so a Kafka wire listener can
// pass them through unchanged. Kept local until @brook/protocol's table lands; the numbers
// are the contract, not this file.
export const Code = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  REPLICA_NOT_AVAILABLE: 9,
  MESSAGE_TOO_LARGE: 10,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  INVALID_REQUIRED_ACKS: 21,
  BROKER_NOT_AVAILABLE: 8,
  UNKNOWN_SERVER_ERROR: -1,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  KAFKA_STORAGE_ERROR: 56,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  COORDINATOR_NOT_AVAILABLE: 15,
  STALE_BROKER_EPOCH: 77,
  INVALID_UPDATE_VERSION: 95,
  BROKER_ID_NOT_REGISTERED: 102,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** A failure with a Kafka code, answered to the client as a per-partition error. */
export class BrokerError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly leaderHint: { leader: number; leaderEpoch: number } | null = null,
  ) {
    super(message);
    this.name = "BrokerError";
  }
}

/** Maps anything thrown to a code: typed errors keep theirs, everything else is a server error. */
export function errorCodeOf(err: unknown): number {
  if (err instanceof BrokerError) return err.code;
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "number") return err.code;
  return Code.UNKNOWN_SERVER_ERROR;
}
