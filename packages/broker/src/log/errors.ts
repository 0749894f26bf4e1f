// Typed errors of the log layer. Codes are Kafka's (see ../errors.ts); the two codes missing
// there are defined here so the log does not reach into a file it does not own.
import { BrokerError, Code } from "../errors.js";

export const LogCode = {
  ...Code,
  INVALID_TIMESTAMP: 32,
  INVALID_PRODUCER_EPOCH: 47,
  INVALID_RECORD: 87,
} as const;

/** Fetch outside [logStartOffset, logEndOffset]: carries the valid range for the answer. */
export class OffsetOutOfRangeError extends BrokerError {
  constructor(
    readonly fetchOffset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
    where: string,
  ) {
    super(
      LogCode.OFFSET_OUT_OF_RANGE,
      `offset ${fetchOffset} is out of range for ${where}: valid offsets are [${logStartOffset}, ${logEndOffset}]`,
    );
    this.name = "OffsetOutOfRangeError";
  }
}

/** A disk failure (full, read-only, I/O error): the log has gone offline; `cause` is the OS error. */
export class LogStorageError extends BrokerError {
  constructor(message: string, options: { cause: unknown }) {
    super(LogCode.KAFKA_STORAGE_ERROR, message);
    this.name = "LogStorageError";
    this.cause = options.cause;
  }
}

export function corrupt(message: string): BrokerError {
  return new BrokerError(LogCode.CORRUPT_MESSAGE, message);
}
