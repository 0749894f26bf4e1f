// The SDK's batch encoder, checked by decoding with @brook/protocol's independent codec (the
// one the broker validates with). The consumer's own reader is tested in consumer_records.
import { decodeRecordBatchesAsync } from "@brook/protocol";
import { describe, expect, it } from "vitest";
import { type BatchRecord, encodeBatch, encodeBatchAsync, recordSize } from "../src/records/record_batch.js";

const decodeBatches = (buf: Buffer) => decodeRecordBatchesAsync(buf);

const meta = { producerId: 7, producerEpoch: 1, baseSequence: 10, compression: "none" as const };

describe("RecordBatch v2", () => {
  const records: BatchRecord[] = [
    { key: Buffer.from("k1"), value: Buffer.from("v1"), headers: [{ key: "h", value: Buffer.from("x") }], timestamp: 1_700_000_000_000 },
    { key: null, value: null, headers: [{ key: "n", value: null }], timestamp: 1_700_000_000_005 },
    { key: Buffer.alloc(0), value: Buffer.alloc(300, 1), headers: [], timestamp: 1_699_999_999_990 },
  ];

  it("round-trips records, headers and nulls, with the producer fields in the header", async () => {
    const buf = encodeBatch(records, meta);
    expect(buf.readInt8(16)).toBe(2);
    expect(Number(buf.readBigInt64BE(43))).toBe(7);
    expect(buf.readInt32BE(53)).toBe(10);
    const [batch] = await decodeBatches(buf);
    expect(batch!.records.map((r) => [r.offset, r.key, r.value, r.timestamp])).toEqual(records.map((r, i) => [i, r.key, r.value, r.timestamp]));
    expect(batch!.records[0]!.headers).toEqual([{ key: "h", value: Buffer.from("x") }]);
    expect(batch!.records[1]!.headers).toEqual([{ key: "n", value: null }]);
  });

  it("encodes a large batch to exactly the bytes its records size to (each record sized once)", async () => {
    // More records than the encoder's first scratch array holds, with deltas of every width.
    const many: BatchRecord[] = Array.from({ length: 1100 }, (_, i) => ({
      key: i % 3 === 0 ? null : Buffer.from(`k${i}`),
      value: Buffer.alloc(i % 200, i),
      headers: i % 5 === 0 ? [{ key: "é", value: Buffer.from("x") }] : [],
      timestamp: 1_700_000_000_000 + i * 1_000,
    }));
    const buf = encodeBatch(many, meta);
    const base = many[0]!.timestamp;
    expect(buf.length).toBe(61 + many.reduce((n, r, i) => n + recordSize(r, i, r.timestamp - base), 0));
    const [batch] = await decodeBatches(buf);
    expect(batch!.records.map((r) => [r.key, r.value, r.timestamp, r.headers])).toEqual(many.map((r) => [r.key, r.value, r.timestamp, r.headers]));
    // A smaller batch after it reuses the scratch sizes without leftovers.
    const [again] = await decodeBatches(encodeBatch(records, meta));
    expect(again!.records.map((r) => r.value)).toEqual(records.map((r) => r.value));
  });

  it("round-trips gzip batches", async () => {
    const buf = await encodeBatchAsync(records, { ...meta, compression: "gzip" });
    expect(buf.readInt16BE(21) & 7).toBe(1);
    const [batch] = await decodeBatches(buf);
    expect(batch!.records.map((r) => r.value)).toEqual(records.map((r) => r.value));
  });

  it("leaves the base offset outside the CRC, so a leader can stamp it without re-checksumming", async () => {
    const a = encodeBatch(records.slice(0, 1), meta);
    const b = encodeBatch(records.slice(1), meta);
    b.writeBigInt64BE(5n, 0);
    const out = await decodeBatches(Buffer.concat([a, b]));
    expect(out.map((x) => x.records.map((r) => r.offset))).toEqual([[0], [5, 6]]);
    const bad = Buffer.from(a);
    bad[bad.length - 1] ^= 1;
    await expect(decodeBatches(bad)).rejects.toThrow(/CRC/i);
  });
});
