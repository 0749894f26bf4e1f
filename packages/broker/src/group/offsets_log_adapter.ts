// Adapts the broker's partition access (append with acks, committed reads) to the group
// coordinator's OffsetsLog port: coordinator records become one RecordBatch v2 per append,
// and replay decodes committed batches back into key/value records.
import { decodeRecordBatchesAsync, encodeRecordBatch } from "@brook/protocol";
import type { ProduceOutcome, ReadCommittedResult } from "../replica/replica_manager.js";
import { OFFSETS_TOPIC, type OffsetsLog } from "./group_coordinator.js";
import type { RawRecord } from "./offsets_records.js";

/** What the adapter needs from the broker (Broker implements it). */
export interface OffsetsPartitionAccess {
  append(topic: string, partition: number, records: Buffer, acks: -1 | 1, timeoutMs: number): Promise<ProduceOutcome>;
  readCommitted(topic: string, partition: number, fromOffset: number, maxBytes: number): Promise<ReadCommittedResult>;
  logEndOffset(topic: string, partition: number): number;
}

const READ_BYTES = 1024 * 1024;

export function brokerOffsetsLog(access: OffsetsPartitionAccess, clock: () => number, appendTimeoutMs = 30_000): OffsetsLog {
  return {
    async append(partition, records) {
      const batch = encodeRecordBatch(
        records.map((r) => ({ key: r.key, value: r.value })),
        { baseTimestamp: clock() },
      );
      const out = await access.append(OFFSETS_TOPIC, partition, batch, -1, appendTimeoutMs);
      return { errorCode: out.errorCode, errorMessage: out.errorMessage };
    },
    logEndOffset: (partition) => access.logEndOffset(OFFSETS_TOPIC, partition),
    async read(partition, offset) {
      const res = await access.readCommitted(OFFSETS_TOPIC, partition, offset, READ_BYTES);
      if (res.records.length === 0) return { records: [], nextOffset: Math.max(offset, res.logStartOffset) };
      const batches = await decodeRecordBatchesAsync(res.records);
      const records: RawRecord[] = [];
      let next = offset;
      for (const b of batches) {
        if (!b.isControl) for (const r of b.records) if (r.offset >= offset && r.key !== null) records.push({ key: r.key, value: r.value });
        next = Math.max(next, b.lastOffset + 1);
      }
      return { records, nextOffset: next };
    },
  };
}
