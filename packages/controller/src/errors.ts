// Kafka-style error codes the controller answers with, and the typed error its pure logic
// throws. Codes are Kafka's numbers so a Kafka wire listener can pass them through unchanged.

export const Codes = {
  NONE: 0,
  UNKNOWN_SERVER_ERROR: -1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  BROKER_NOT_AVAILABLE: 8,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  STALE_BROKER_EPOCH: 77,
  PREFERRED_LEADER_NOT_AVAILABLE: 80,
  ELIGIBLE_LEADERS_NOT_AVAILABLE: 83,
  ELECTION_NOT_NEEDED: 84,
  INVALID_UPDATE_VERSION: 95,
  UNKNOWN_TOPIC_ID: 100,
  DUPLICATE_BROKER_REGISTRATION: 101,
  BROKER_ID_NOT_REGISTERED: 102,
  INELIGIBLE_REPLICA: 107,
} as const;

export type CodeName = keyof typeof Codes;

/** The wire form every response carries. */
export interface ApiError {
  readonly code: number;
  readonly message: string;
}

export const OK: ApiError = Object.freeze({ code: Codes.NONE, message: "" });

export function apiError(name: CodeName, message: string): ApiError {
  return { code: Codes[name], message };
}

/** Thrown by request logic for a whole-request failure; the service turns it into the response's Error. */
export class ControllerError extends Error {
  override readonly name = "ControllerError";
  constructor(
    readonly codeName: CodeName,
    message: string,
  ) {
    super(message);
  }
  get code(): number {
    return Codes[this.codeName];
  }
  toApi(): ApiError {
    return { code: this.code, message: this.message };
  }
}

/** A record the image cannot apply: a bug or a corrupt log, never bad user input. */
export class MetadataReplayError extends Error {
  override readonly name = "MetadataReplayError";
}
