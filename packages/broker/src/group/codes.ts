// Kafka error codes for consumer groups: @brook/protocol's table under the name the coordinator uses.
import { ErrorCode } from "@brook/protocol";

export const GroupCode = ErrorCode;

/** A group-protocol rejection carrying its Kafka code. */
export class GroupError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "GroupError";
  }
}
