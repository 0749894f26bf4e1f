// The hand-written Produce request encoder against ts-proto's generated one: byte for byte the
// same message, and the generated decoder reads it back, for the shapes the producer sends and
// for the edge values (negative acks, zero partition, empty batches and names, non-ASCII).
import { ProduceRequest, ProduceStreamRequest } from "@brook/protocol/gen/brook/v1/broker";
import { describe, expect, it } from "vitest";
import { encodeProduceRequest, encodeProduceStreamRequest } from "../src/producer/produce_encoding.js";

const batch = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

const requests: ProduceRequest[] = [
  { acks: -1, timeoutMs: 30_000, transactionalId: "", topics: [{ topic: "orders", partitions: [{ partition: 0, records: batch(70_001, 7) }, { partition: 5, records: batch(200, 1) }] }] },
  { acks: 1, timeoutMs: 0, transactionalId: "tx-ü", topics: [{ topic: "a", partitions: [] }, { topic: "b→c", partitions: [{ partition: 300, records: batch(0, 0) }] }] },
  { acks: 0, timeoutMs: 2 ** 31 - 1, transactionalId: "", topics: [] },
  { acks: -1, timeoutMs: -5, transactionalId: "", topics: [{ topic: "", partitions: [{ partition: 2 ** 31 - 1, records: batch(127, 2) }, { partition: 1, records: batch(128, 3) }] }] },
];

describe("produce request encoding", () => {
  it.each(requests.map((r, i) => [i, r] as const))("ProduceRequest %i matches ts-proto", (_, r) => {
    const ours = encodeProduceRequest(r);
    expect(Buffer.compare(ours, Buffer.from(ProduceRequest.encode(r).finish()))).toBe(0);
    expect(ProduceRequest.decode(ours)).toEqual(ProduceRequest.decode(ProduceRequest.encode(r).finish()));
  });

  it.each([0, 1, 127, 128, 2 ** 31, 2 ** 40, -1])("ProduceStreamRequest with correlation id %d matches ts-proto", (correlationId) => {
    for (const request of [...requests, undefined]) {
      const m: ProduceStreamRequest = { correlationId, request };
      const ours = encodeProduceStreamRequest(m);
      expect(Buffer.compare(ours, Buffer.from(ProduceStreamRequest.encode(m).finish()))).toBe(0);
      const back = ProduceStreamRequest.decode(ours);
      expect(back.correlationId).toBe(correlationId);
      expect(back.request?.topics.map((t) => t.partitions.map((p) => p.records.length))).toEqual(request?.topics.map((t) => t.partitions.map((p) => p.records.length)));
    }
  });
});
