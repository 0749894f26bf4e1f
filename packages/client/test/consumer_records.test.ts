import { describe, expect, it } from "vitest";
import { FetchBuffer } from "../src/consumer/fetch_buffer.js";
import { indexBatches, RecordCursor } from "../src/consumer/record_cursor.js";
import { type BatchRecord, encodeBatch, encodeBatchAsync } from "../src/records/record_batch.js";
import { Wakeup } from "../src/consumer/wakeup.js";

const meta = { producerId: -1, producerEpoch: -1, baseSequence: -1, compression: "none" as const };

function withBaseOffset(batch: Buffer, base: number): Buffer {
  batch.writeBigInt64BE(BigInt(base), 0); // the base offset is outside the CRC
  return batch;
}

function readAll(cur: RecordCursor): { offset: number; timestamp: number; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | null> }[] {
  const out = [];
  while (cur.next()) out.push({ offset: cur.offset, timestamp: cur.timestamp, key: cur.key(), value: cur.value(), headers: { ...cur.headers() } });
  return out;
}

describe("RecordCursor", () => {
  const records: BatchRecord[] = [
    { key: Buffer.from("k1"), value: Buffer.from("v1"), headers: [{ key: "h", value: Buffer.from("x") }, { key: "n", value: null }], timestamp: 1_700_000_000_000 },
    { key: null, value: null, headers: [], timestamp: 1_700_000_000_005 },
    { key: Buffer.alloc(0), value: Buffer.alloc(300, 1), headers: [], timestamp: 1_699_999_999_990 },
  ];

  it("reads every record of plain and gzip batches in place, from the fetch offset on", async () => {
    const plain = withBaseOffset(encodeBatch(records, meta), 10);
    const zipped = withBaseOffset(await encodeBatchAsync(records, { ...meta, compression: "gzip" }), 13);
    const partial = encodeBatch(records, meta).subarray(0, 70); // a trailing partial batch is ignored
    const indexed = await indexBatches(Buffer.concat([plain, zipped, partial]));
    expect(indexed.count).toBe(6);
    expect(indexed.nextOffset).toBe(16);
    const got = readAll(new RecordCursor(indexed.runs, 11));
    expect(got.map((r) => r.offset)).toEqual([11, 12, 13, 14, 15]);
    expect(got.map((r) => r.value)).toEqual([null, Buffer.alloc(300, 1), Buffer.from("v1"), null, Buffer.alloc(300, 1)]);
    expect(got.map((r) => r.key)).toEqual([null, Buffer.alloc(0), Buffer.from("k1"), null, Buffer.alloc(0)]);
    expect(got[2]!.headers).toEqual({ h: Buffer.from("x"), n: null });
    expect(got[0]!.headers).toEqual({});
    expect(got[1]!.timestamp).toBe(1_699_999_999_990);
  });

  it("rejects a corrupted batch", async () => {
    const b = encodeBatch(records, meta);
    b[b.length - 3] ^= 0xff;
    await expect(indexBatches(b)).rejects.toThrow(/CRC/);
    // check.crcs=false trusts the bytes (the broker validated them on append).
    expect((await indexBatches(b, false)).count).toBe(3);
  });
});

describe("FetchBuffer", () => {
  it("drops chunks of an outdated generation and reports fullness", () => {
    const buf = new FetchBuffer<number[]>(3);
    buf.push({ topic: "t", partition: 0, generation: 0, records: [1, 2], count: 2, nextOffset: 2, highWatermark: 2 });
    buf.push({ topic: "t", partition: 1, generation: 0, records: [7], count: 1, nextOffset: 1, highWatermark: 1 });
    expect(buf.full).toBe(true);
    const got = buf.take((_t, p) => p === 1);
    expect(got?.records).toEqual([7]);
    expect(buf.size).toBe(0);
  });
});

describe("Wakeup", () => {
  it("remembers a wake that came while nobody waited", async () => {
    const w = new Wakeup();
    w.wake();
    const t0 = Date.now();
    await w.wait(60_000); // returns at once, or the test times out
    expect(Date.now() - t0).toBeLessThan(30_000);
    const later = w.wait(60_000);
    setTimeout(() => w.wake(), 5);
    await later;
  });
});
