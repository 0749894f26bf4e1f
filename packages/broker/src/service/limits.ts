// Edge validation and clamping for client requests. Pure: each function maps raw request
// values to a valid value or an error code, so bad input never reaches a log.
import { Code } from "../errors.js";

/** Kafka's legal topic names (Topic.java): 1..249 of [a-zA-Z0-9._-], not "." or "..". */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return "topic name is empty";
  if (name.length > 249) return "topic name is longer than 249 characters";
  if (name === "." || name === "..") return `topic name "${name}" is reserved`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name "${name}" has characters outside [a-zA-Z0-9._-]`;
  return null;
}

export function acksError(acks: number): number {
  return acks === 0 || acks === 1 || acks === -1 ? Code.NONE : Code.INVALID_REQUIRED_ACKS;
}

/** The smallest RecordBatch v2 (a header with no records) is 61 bytes. */
export const BATCH_HEADER_BYTES = 61;

export const FETCH_MAX_BYTES_CAP = 50 * 1024 * 1024; // Kafka's fetch.max.bytes default
export const PARTITION_MAX_BYTES_DEFAULT = 1024 * 1024; // Kafka's max.partition.fetch.bytes
export const FETCH_MAX_WAIT_CAP_MS = 30_000;
export const PRODUCE_TIMEOUT_DEFAULT_MS = 30_000;
export const PRODUCE_TIMEOUT_CAP_MS = 300_000;

/** Absurd or missing values become the nearest sane one instead of an error (as Kafka does). */
export function clampFetch(req: { maxWaitMs: number; minBytes: number; maxBytes: number }): {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
} {
  const maxBytes = req.maxBytes <= 0 ? FETCH_MAX_BYTES_CAP : Math.min(req.maxBytes, FETCH_MAX_BYTES_CAP);
  return {
    maxWaitMs: Math.min(Math.max(0, req.maxWaitMs), FETCH_MAX_WAIT_CAP_MS),
    minBytes: Math.min(Math.max(0, req.minBytes), maxBytes),
    maxBytes,
  };
}

export function clampPartitionMaxBytes(v: number): number {
  return v <= 0 ? PARTITION_MAX_BYTES_DEFAULT : Math.min(v, FETCH_MAX_BYTES_CAP);
}

export function produceTimeoutMs(v: number): number {
  return v <= 0 ? PRODUCE_TIMEOUT_DEFAULT_MS : Math.min(v, PRODUCE_TIMEOUT_CAP_MS);
}
