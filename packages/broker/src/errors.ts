// The Kafka error codes the broker answers with (@brook/protocol's table, Kafka's values so a
// Kafka wire listener can pass them through unchanged), and the typed error it throws internally.
import { ErrorCode } from "@brook/protocol";

export const Code = ErrorCode;
export type Code = number;

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
