// Typed access to the error-code table and the error classes every Brook package throws or
// maps to. Contract: `ErrorCode.NAME` is the wire code; `errorInfo(code)` never throws (an
// unknown code yields a non-retriable UNKNOWN_CODE_<n> entry); a BrookProtocolError carries the
// code, its name and the retry hints, and its message says what went wrong in this instance.
import { ERROR_ROWS } from "./table.js";

type Row = (typeof ERROR_ROWS)[number];
export type ErrorName = Row[1];
export type KnownErrorCode = Row[0];

export interface ErrorInfo {
  readonly code: number;
  readonly name: string;
  /** The same request may succeed later without any change by the caller. */
  readonly retriable: boolean;
  /** The caller should refresh metadata (leaders, coordinator, controller) before retrying. */
  readonly staleMetadata: boolean;
  readonly message: string;
}

export const ErrorCode = Object.freeze(Object.fromEntries(ERROR_ROWS.map((row) => [row[1], row[0]]))) as {
  readonly [R in Row as R[1]]: R[0];
};

const byCode = new Map<number, ErrorInfo>(
  ERROR_ROWS.map(([code, name, retriable, staleMetadata, message]) => [code, Object.freeze({ code, name, retriable, staleMetadata, message })]),
);

export function errorInfo(code: number): ErrorInfo {
  return (
    byCode.get(code) ?? {
      code,
      name: `UNKNOWN_CODE_${code}`,
      retriable: false,
      staleMetadata: false,
      message: `Error code ${code} is not in Brook's error table.`,
    }
  );
}

/** Every error table entry, in code order (for docs, metrics labels and tests). */
export function allErrors(): readonly ErrorInfo[] {
  return [...byCode.values()];
}

export class BrookProtocolError extends Error {
  readonly code: number;
  readonly errorName: string;
  readonly retriable: boolean;
  readonly staleMetadata: boolean;

  constructor(code: number, detail?: string, options?: ErrorOptions) {
    const info = errorInfo(code);
    super(`${info.name}: ${detail ?? info.message}`, options);
    this.name = new.target.name;
    this.code = code;
    this.errorName = info.name;
    this.retriable = info.retriable;
    this.staleMetadata = info.staleMetadata;
  }

  static fromCode(code: number, detail?: string): BrookProtocolError {
    return new BrookProtocolError(code, detail);
  }
}

/** Why a batch was rejected as corrupt; stable strings for logs, metrics and tests. */
export type CorruptionReason =
  | "TRUNCATED"
  | "BAD_MAGIC"
  | "BAD_CRC"
  | "BAD_LENGTH"
  | "BAD_RECORD_COUNT"
  | "BAD_RECORD"
  | "BAD_ATTRIBUTES"
  | "BAD_COMPRESSED_DATA";

/** The bytes are not a well-formed RecordBatch v2 (CORRUPT_MESSAGE). */
export class CorruptRecordError extends BrookProtocolError {
  readonly reason: CorruptionReason;
  /** Byte position of the offending batch in the buffer checked, when known. */
  readonly position: number | undefined;
  constructor(reason: CorruptionReason, detail: string, options?: ErrorOptions, position?: number) {
    super(ErrorCode.CORRUPT_MESSAGE, `${reason}: ${detail}`, options);
    this.reason = reason;
    this.position = position;
  }
}

/** A batch, or a decompressed batch, exceeds the size the caller allows (MESSAGE_TOO_LARGE). */
export class RecordTooLargeError extends BrookProtocolError {
  constructor(detail: string) {
    super(ErrorCode.MESSAGE_TOO_LARGE, detail);
  }
}

/** The compression codec is unknown or not available on this node (UNSUPPORTED_COMPRESSION_TYPE). */
export class UnsupportedCompressionError extends BrookProtocolError {
  constructor(detail: string) {
    super(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, detail);
  }
}

/** The caller asked the encoder for something the format cannot hold (INVALID_RECORD). */
export class InvalidRecordError extends BrookProtocolError {
  constructor(detail: string) {
    super(ErrorCode.INVALID_RECORD, detail);
  }
}
