// What the log checks on bytes arriving for an append, before anything is written: whole-batch
// structure and CRC for every append; for producer input also sizes, record counts, batch kinds
// and timestamps (Kafka's LogValidator, minus per-record work). Pure: time comes in as nowMs.
import { ATTR_CONTROL, ATTR_TRANSACTIONAL } from "@brook/protocol";
import { BrokerError } from "../errors.js";
import { validateBatch, type BatchHeader } from "./batch.js";
import type { LogConfig } from "./config.js";
import { LogCode, corrupt } from "./errors.js";

/** Every batch of `records` back to back, CRC-checked; throws CORRUPT_MESSAGE on the first bad one. */
export function validateFollowerInput(records: Buffer): BatchHeader[] {
  const out: BatchHeader[] = [];
  let pos = 0;
  while (pos < records.length) {
    const h = validateBatch(records, pos);
    out.push(h);
    pos += h.sizeBytes;
  }
  return out;
}

/**
 * A producer's batches: structure and CRC, then max.message.bytes (MESSAGE_TOO_LARGE), record
 * count against lastOffsetDelta (CORRUPT_MESSAGE), no transactional/control batches and a
 * sequence for idempotent ones (INVALID_RECORD), and timestamps (INVALID_TIMESTAMP).
 */
export function validateProduceInput(records: Buffer, config: LogConfig, nowMs: number): BatchHeader[] {
  const headers = validateFollowerInput(records);
  if (headers.length === 0) throw corrupt("produce request carries no record batch");
  for (const h of headers) {
    if (h.sizeBytes > config.maxMessageBytes)
      throw new BrokerError(LogCode.MESSAGE_TOO_LARGE, `record batch of ${h.sizeBytes} bytes exceeds max.message.bytes ${config.maxMessageBytes}`);
    if (h.recordsCount !== h.lastOffsetDelta + 1 || h.recordsCount === 0)
      throw corrupt(`record batch has ${h.recordsCount} records but lastOffsetDelta ${h.lastOffsetDelta}`);
    // Without a transaction coordinator these would be stored without their markers.
    if ((h.attributes & (ATTR_TRANSACTIONAL | ATTR_CONTROL)) !== 0)
      throw new BrokerError(LogCode.INVALID_RECORD, "transactional and control batches are not accepted from producers");
    if (h.producerId >= 0 && h.baseSequence < 0)
      throw new BrokerError(LogCode.INVALID_RECORD, `idempotent batch of producer ${h.producerId} has no sequence number`);
    if (h.maxTimestamp < h.baseTimestamp && h.maxTimestamp !== -1)
      throw new BrokerError(LogCode.INVALID_TIMESTAMP, `batch maxTimestamp ${h.maxTimestamp} is below its baseTimestamp ${h.baseTimestamp}`);
    // Producer timestamps matter only when they are kept (Kafka skips this for LogAppendTime).
    if (
      config.messageTimestampType === "CreateTime" &&
      h.maxTimestamp >= 0 &&
      Math.abs(h.maxTimestamp - nowMs) > config.messageTimestampDifferenceMaxMs
    )
      throw new BrokerError(
        LogCode.INVALID_TIMESTAMP,
        `batch timestamp ${h.maxTimestamp} is more than ${config.messageTimestampDifferenceMaxMs} ms from broker time ${nowMs}`,
      );
  }
  return headers;
}
