import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  CompressionType,
  compressionCodec,
  CorruptRecordError,
  crc32c,
  decodeRecordBatch,
  decodeRecordBatchAsync,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  isCompressionSupported,
  iterateBatches,
  lastOffsetOf,
  LOG_OVERHEAD,
  readBatchHeader,
  RECORD_BATCH_OVERHEAD,
  setBaseOffset,
  setLogAppendTime,
  InvalidRecordError,
  type EncodeBatchOptions,
  setPartitionLeaderEpoch,
  TimestampType,
  validateBatch,
  type RecordInput,
  UnsupportedCompressionError,
} from "@brook/protocol";

const T0 = 1_700_000_000_000;

function sample(n: number): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: i % 3 === 0 ? null : Buffer.from(`key-${i}`),
      value: i % 5 === 4 ? null : Buffer.from(`value-${i}-${"x".repeat(i % 17)}`),
      headers: i % 2 ? [{ key: "h\u00e9", value: Buffer.from([i & 0xff]) }, { key: "n", value: null }] : [],
      timestamp: T0 + i * 3 - (i % 4 === 1 ? 1000 : 0),
    });
  }
  return out;
}

describe("RecordBatch v2 codec", () => {
  it("round-trips every header field and record field", () => {
    const records = sample(20);
    const buf = encodeRecordBatch(records, {
      baseOffset: 1234567890123,
      partitionLeaderEpoch: 7,
      producerId: 99999999999,
      producerEpoch: 3,
      baseSequence: 42,
      transactional: true,
    });
    const batch = decodeRecordBatch(buf);
    expect(batch.sizeInBytes).toBe(buf.length);
    expect(batch.batchLength).toBe(buf.length - LOG_OVERHEAD);
    expect(batch).toMatchObject({
      baseOffset: 1234567890123,
      partitionLeaderEpoch: 7,
      magic: 2,
      producerId: 99999999999,
      producerEpoch: 3,
      baseSequence: 42,
      recordCount: 20,
      lastOffsetDelta: 19,
      lastOffset: 1234567890142,
      baseTimestamp: T0,
      maxTimestamp: Math.max(...records.map((r) => r.timestamp!)),
      isTransactional: true,
      isControl: false,
      compression: CompressionType.None,
      timestampType: TimestampType.CreateTime,
    });
    batch.records.forEach((r, i) => {
      const input = records[i]!;
      expect(r.offset).toBe(1234567890123 + i);
      expect(r.timestamp).toBe(input.timestamp);
      expect(r.key === null ? null : Buffer.from(r.key)).toEqual(input.key === null ? null : Buffer.from(input.key!));
      expect(r.value === null ? null : Buffer.from(r.value)).toEqual(input.value === null ? null : Buffer.from(input.value));
      expect(r.headers.map((h) => ({ key: h.key, value: h.value && Buffer.from(h.value) }))).toEqual(
        (input.headers ?? []).map((h) => ({ key: h.key, value: h.value && Buffer.from(h.value) })),
      );
    });
  });

  it("keeps control, LogAppendTime, offset gaps and big timestamp deltas", () => {
    const buf = encodeRecordBatch(
      [
        { key: Buffer.from([0, 0, 0, 1]), value: Buffer.alloc(0), offsetDelta: 0, timestamp: T0 },
        { key: null, value: Buffer.from("v"), offsetDelta: 5, timestamp: T0 + 2 ** 40 },
      ],
      { control: true, timestampType: TimestampType.LogAppendTime, maxTimestamp: T0 + 555, lastOffsetDelta: 9 },
    );
    const b = decodeRecordBatch(buf);
    expect(b.isControl).toBe(true);
    expect(b.timestampType).toBe(TimestampType.LogAppendTime);
    expect(b.lastOffsetDelta).toBe(9);
    expect(b.records.map((r) => r.offset)).toEqual([0, 5]);
    // LogAppendTime: every record carries the batch's max timestamp, as in Kafka.
    expect(b.records.map((r) => r.timestamp)).toEqual([T0 + 555, T0 + 555]);
    expect(b.records[0]!.value!.length).toBe(0);
  });

  // Every codec is installed as a dependency, so every one must work here.
  const zlibHasZstd = typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";
  for (const type of [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd]) {
    it(`round-trips compression type ${type} sync and async`, async () => {
      expect(isCompressionSupported(type)).toBe(true);
      const records = sample(300);
      const plain = encodeRecordBatch(records);
      const encodings = [await encodeRecordBatchAsync(records, { compression: type })];
      if (type === CompressionType.Zstd && !zlibHasZstd) {
        // Without node:zlib zstd only the async (native, off-loop) compressor exists.
        expect(() => encodeRecordBatch(records, { compression: type })).toThrow(UnsupportedCompressionError);
      } else {
        encodings.push(encodeRecordBatch(records, { compression: type }));
      }
      const expected = decodeRecordBatch(plain).records.map((r) => [r.offset, r.timestamp, r.key?.toString("hex"), r.value?.toString("hex")]);
      for (const buf of encodings) {
        expect(buf.length).toBeLessThan(plain.length);
        const a = decodeRecordBatch(buf);
        const b = await decodeRecordBatchAsync(buf);
        expect(a.compression).toBe(type);
        expect(a.records.map((r) => [r.offset, r.timestamp, r.key?.toString("hex"), r.value?.toString("hex")])).toEqual(expected);
        expect(b.records.map((r) => [r.offset, r.timestamp, r.key?.toString("hex"), r.value?.toString("hex")])).toEqual(expected);
      }
    });
  }

  it("refuses unknown compression codecs with typed errors", () => {
    const forged = encodeRecordBatch(sample(3));
    forged.writeInt16BE(5, 21);
    forged.writeUInt32BE(crc32c(forged.subarray(21)), 17);
    expect(() => decodeRecordBatch(forged)).toThrow(/BAD_ATTRIBUTES/);
    expect(() => compressionCodec(7)).toThrow(UnsupportedCompressionError);
  });


  it("stamps base offset and leader epoch without breaking the CRC", () => {
    const buf = encodeRecordBatch(sample(3));
    setBaseOffset(buf, 0, 2 ** 40 + 5);
    setPartitionLeaderEpoch(buf, 0, 12);
    const h = validateBatch(buf);
    expect(h.baseOffset).toBe(2 ** 40 + 5);
    expect(h.partitionLeaderEpoch).toBe(12);
    expect(lastOffsetOf(h)).toBe(2 ** 40 + 7);
    expect(readBatchHeader(buf)).toEqual(h);
  });

  it("stamps LogAppendTime with a fresh CRC", () => {
    const buf = encodeRecordBatch(sample(3));
    setLogAppendTime(buf, 0, T0 + 99_999);
    const b = decodeRecordBatch(buf);
    expect(b.timestampType).toBe(TimestampType.LogAppendTime);
    expect(b.maxTimestamp).toBe(T0 + 99_999);
    expect(b.records.map((r) => r.timestamp)).toEqual([T0 + 99_999, T0 + 99_999, T0 + 99_999]);
  });

  it("refuses encoder inputs the format cannot hold with INVALID_RECORD", () => {
    const one = [{ key: null, value: Buffer.from("v"), timestamp: T0 }];
    const bad: EncodeBatchOptions[] = [
      { partitionLeaderEpoch: 2 ** 31 },
      { producerEpoch: 40_000 },
      { baseSequence: -2 },
      { baseOffset: -5 },
      { baseOffset: 2 ** 60 },
      { lastOffsetDelta: -1 },
      { compression: 9 as CompressionType },
    ];
    for (const options of bad) {
      expect(() => encodeRecordBatch(one, options), JSON.stringify(options)).toThrow(InvalidRecordError);
    }
    expect(() => encodeRecordBatch([])).toThrow(InvalidRecordError);
    expect(() => encodeRecordBatch([{ value: null }])).toThrow(/baseTimestamp/);
    expect(() => encodeRecordBatch([{ value: null, timestamp: 1.5 }])).toThrow(InvalidRecordError);
    expect(() => encodeRecordBatch([{ value: null, timestamp: 1, offsetDelta: 3 }, { value: null, timestamp: 1, offsetDelta: 3 }])).toThrow(/offsetDelta/);
    expect(() => setBaseOffset(encodeRecordBatch(one), 0, -1)).toThrow(InvalidRecordError);
    expect(() => setPartitionLeaderEpoch(encodeRecordBatch(one), 0, 2 ** 32)).toThrow(InvalidRecordError);
  });

  it("encodes an empty batch (what compaction leaves) with an explicit last offset delta", () => {
    const buf = encodeRecordBatch([], { baseOffset: 10, baseTimestamp: T0, lastOffsetDelta: 4 });
    const b = decodeRecordBatch(buf);
    expect(b.recordCount).toBe(0);
    expect(b.records).toEqual([]);
    expect(b.lastOffset).toBe(14);
    expect(buf.length).toBe(RECORD_BATCH_OVERHEAD);
  });

  it("walks concatenated batches and reports where a torn tail starts", () => {
    const a = encodeRecordBatch(sample(2), { baseOffset: 0 });
    const b = encodeRecordBatch(sample(3), { baseOffset: 2 });
    const log = Buffer.concat([a, b]);
    expect([...iterateBatches(log)].map((v) => [v.position, v.size, v.header.baseOffset])).toEqual([
      [0, a.length, 0],
      [a.length, b.length, 2],
    ]);
    const torn = log.subarray(0, log.length - 3);
    const seen: number[] = [];
    let error: unknown;
    try {
      for (const v of iterateBatches(torn)) seen.push(v.position);
    } catch (e) {
      error = e;
    }
    expect(seen).toEqual([0]);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect((error as CorruptRecordError).reason).toBe("TRUNCATED");
    expect((error as CorruptRecordError).position).toBe(a.length);
  });

  it("says what is wrong with a bad batch", () => {
    const good = encodeRecordBatch(sample(4));
    const reason = (buf: Buffer): string => {
      try {
        decodeRecordBatch(buf);
      } catch (e) {
        expect(e).toBeInstanceOf(CorruptRecordError);
        return (e as CorruptRecordError).reason;
      }
      throw new Error("accepted a bad batch");
    };
    const badMagic = Buffer.from(good);
    badMagic[16] = 1;
    expect(reason(badMagic)).toBe("BAD_MAGIC");
    const badCrc = Buffer.from(good);
    badCrc[good.length - 1]! ^= 0xff;
    expect(reason(badCrc)).toBe("BAD_CRC");
    expect(() => decodeRecordBatch(badCrc)).toThrow(/CRC-32C mismatch.*header says 0x[0-9a-f]{8}, bytes give 0x[0-9a-f]{8}/);
    expect(reason(good.subarray(0, good.length - 1))).toBe("TRUNCATED");
    expect(reason(good.subarray(0, 30))).toBe("TRUNCATED");
    const shortLength = Buffer.from(good);
    shortLength.writeInt32BE(10, 8);
    expect(reason(shortLength)).toBe("BAD_LENGTH");
    // A record count that lies (and a CRC recomputed so only the count is wrong).
    const negativeDelta = reencodeCrc(Buffer.from(good), (b) => b.writeInt32BE(-3, 23));
    expect(reason(negativeDelta)).toBe("BAD_RECORD_COUNT");
    for (const count of [3, 5, 1_000_000_000]) {
      const lying = reencodeCrc(Buffer.from(good), (b) => b.writeInt32BE(count, 57));
      expect(["BAD_RECORD_COUNT", "BAD_RECORD"]).toContain(reason(lying));
    }
    expect(RECORD_BATCH_OVERHEAD).toBe(61);
  });
});

/** Applies a mutation to the CRC-covered region and fixes the CRC, so deeper checks are reached. */
function reencodeCrc(buf: Buffer, mutate: (b: Buffer) => void): Buffer {
  mutate(buf);
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}
