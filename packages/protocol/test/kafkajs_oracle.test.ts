// Cross-checks the codec against KafkaJS 2.2.4 (an implementation nobody here wrote), used only
// as a test oracle: KafkaJS encodes and we decode, we encode and KafkaJS decodes, and where the
// format is deterministic (no compression, gzip with the same zlib) the bytes must be identical.
// KafkaJS checks no CRC, so our validateBatch on its bytes also checks its CRC-32C against ours.
// Snappy, LZ4 and zstd go through implementations independent of ours (kafkajs-snappy's xerial
// reader on snappyjs, lz4js, and libzstd/fzstd), registered into KafkaJS the way its users
// register codecs.
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompressionType, TimestampType, decodeRecordBatch, decodeRecordBatchAsync, encodeRecordBatch, encodeRecordBatchAsync, validateBatch, type RecordInput } from "@brook/protocol";

const require = createRequire(import.meta.url);

interface KafkaJsEncoder {
  buffer: Buffer;
}
interface KafkaJsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
}
interface KafkaJsBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  records: KafkaJsRecord[];
}
type KafkaJsRecordBatch = (args: Record<string, unknown>) => Promise<KafkaJsEncoder>;

const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as { RecordBatch: KafkaJsRecordBatch };
const KafkaJsRecordEncoder = require("kafkajs/src/protocol/recordBatch/record/v0") as (args: Record<string, unknown>) => KafkaJsEncoder;
const decodeKafkaJsBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder") as (decoder: unknown) => Promise<KafkaJsBatch>;
const KafkaJsDecoder = require("kafkajs/src/protocol/decoder") as new (buf: Buffer) => unknown;
const { Codecs } = require("kafkajs/src/protocol/message/compression") as { Codecs: Record<number, () => unknown> };
const lz4js = require("lz4js") as { compress(b: Buffer): Uint8Array; decompress(b: Buffer): Uint8Array };
Codecs[CompressionType.Snappy] = require("kafkajs-snappy") as () => unknown;
const libzstd = require("@mongodb-js/zstd") as { compress(b: Buffer, level?: number): Promise<Buffer> };
const fzstd = require("fzstd") as { decompress(b: Uint8Array): Uint8Array };
Codecs[CompressionType.Zstd] = () => ({
  compress: async (encoder: KafkaJsEncoder) => libzstd.compress(encoder.buffer, 3),
  decompress: async (buf: Buffer) => Buffer.from(fzstd.decompress(buf)),
});
Codecs[CompressionType.Lz4] = () => ({
  compress: async (encoder: KafkaJsEncoder) => Buffer.from(lz4js.compress(encoder.buffer)),
  decompress: async (buf: Buffer) => Buffer.from(lz4js.decompress(buf)),
});

interface Sample {
  baseOffset: number;
  baseTimestamp: number;
  partitionLeaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
  records: { key: Buffer | null; value: Buffer | null; headers: { key: string; value: Buffer }[]; timestampDelta: number }[];
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const sampleArb: fc.Arbitrary<Sample> = fc.record({
  baseOffset: fc.integer({ min: 0, max: 2 ** 45 }),
  baseTimestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  partitionLeaderEpoch: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  producerId: fc.integer({ min: -1, max: 2 ** 40 }),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  transactional: fc.boolean(),
  records: fc.array(
    fc.record({
      key: fc.option(bytes(40), { nil: null }),
      value: fc.option(bytes(300), { nil: null }),
      // Unique, non-numeric header keys: KafkaJS carries headers in an object.
      headers: fc.uniqueArray(fc.record({ key: fc.string({ minLength: 1, maxLength: 8 }).map((s) => `h-${s}`), value: bytes(20) }), {
        maxLength: 3,
        selector: (h) => h.key,
      }),
      timestampDelta: fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
    }),
    { minLength: 1, maxLength: 40 },
  ),
});

function ourInputs(s: Sample): RecordInput[] {
  return s.records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: s.baseTimestamp + r.timestampDelta }));
}

function ourOptions(s: Sample, compression: CompressionType) {
  const timestamps = s.records.map((r) => s.baseTimestamp + r.timestampDelta);
  return {
    baseOffset: s.baseOffset,
    baseTimestamp: s.baseTimestamp,
    maxTimestamp: Math.max(...timestamps),
    partitionLeaderEpoch: s.partitionLeaderEpoch,
    producerId: s.producerId,
    producerEpoch: s.producerEpoch,
    baseSequence: s.baseSequence,
    transactional: s.transactional,
    compression,
  };
}

async function kafkaJsEncode(s: Sample, compression: CompressionType): Promise<Buffer> {
  const timestamps = s.records.map((r) => s.baseTimestamp + r.timestampDelta);
  const encoder = await RecordBatch({
    compression,
    firstOffset: String(s.baseOffset),
    firstTimestamp: s.baseTimestamp,
    maxTimestamp: Math.max(...timestamps),
    partitionLeaderEpoch: s.partitionLeaderEpoch,
    lastOffsetDelta: s.records.length - 1,
    transactional: s.transactional,
    producerId: String(s.producerId),
    producerEpoch: s.producerEpoch,
    firstSequence: s.baseSequence,
    records: s.records.map((r, i) =>
      KafkaJsRecordEncoder({
        offsetDelta: i,
        timestampDelta: r.timestampDelta,
        key: r.key,
        value: r.value,
        headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value])),
      }),
    ),
  });
  return encoder.buffer;
}

function expectSameAsSample(buf: Buffer, s: Sample, compression: CompressionType): void {
  const header = validateBatch(buf);
  expect(header.crc).toBe(buf.readUInt32BE(17));
  const b = decodeRecordBatch(buf);
  expect(b.compression).toBe(compression);
  expect(b.baseOffset).toBe(s.baseOffset);
  expect(b.partitionLeaderEpoch).toBe(s.partitionLeaderEpoch);
  expect(b.producerId).toBe(s.producerId);
  expect(b.producerEpoch).toBe(s.producerEpoch);
  expect(b.baseSequence).toBe(s.baseSequence);
  expect(b.isTransactional).toBe(s.transactional);
  expect(b.recordCount).toBe(s.records.length);
  expect(b.records.map((r) => [r.offset, r.timestamp, r.key?.toString("hex") ?? null, r.value?.toString("hex") ?? null, r.headers.map((h) => [h.key, h.value?.toString("hex")])])).toEqual(
    s.records.map((r, i) => [
      s.baseOffset + i,
      s.baseTimestamp + r.timestampDelta,
      r.key?.toString("hex") ?? null,
      r.value?.toString("hex") ?? null,
      r.headers.map((h) => [h.key, h.value.toString("hex")]),
    ]),
  );
}

async function expectKafkaJsReads(buf: Buffer, s: Sample): Promise<void> {
  const b = await decodeKafkaJsBatch(new KafkaJsDecoder(buf));
  expect(b.firstOffset).toBe(String(s.baseOffset));
  expect(b.firstTimestamp).toBe(String(s.baseTimestamp));
  expect(b.partitionLeaderEpoch).toBe(s.partitionLeaderEpoch);
  expect(b.producerId).toBe(String(s.producerId));
  expect(b.producerEpoch).toBe(s.producerEpoch);
  expect(b.firstSequence).toBe(s.baseSequence);
  expect(b.inTransaction).toBe(s.transactional);
  expect(b.isControlBatch).toBe(false);
  expect(b.lastOffsetDelta).toBe(s.records.length - 1);
  expect(b.records.map((r) => [r.offset, r.timestamp, r.key?.toString("hex") ?? null, r.value?.toString("hex") ?? null, Object.entries(r.headers).map(([k, v]) => [k, (v as Buffer).toString("hex")])])).toEqual(
    s.records.map((r, i) => [
      String(s.baseOffset + i),
      String(s.baseTimestamp + r.timestampDelta),
      r.key?.toString("hex") ?? null,
      r.value?.toString("hex") ?? null,
      r.headers.map((h) => [h.key, h.value.toString("hex")]),
    ]),
  );
}

const RUNS = { numRuns: 60 };

describe("KafkaJS oracle", () => {
  for (const [name, compression] of [
    ["none", CompressionType.None],
    ["gzip", CompressionType.Gzip],
  ] as const) {
    it(`${name}: KafkaJS's bytes and ours are identical, and each side decodes the other`, async () => {
      await fc.assert(
        fc.asyncProperty(sampleArb, async (s) => {
          const theirs = await kafkaJsEncode(s, compression);
          const ours = encodeRecordBatch(ourInputs(s), ourOptions(s, compression));
          const oursAsync = await encodeRecordBatchAsync(ourInputs(s), ourOptions(s, compression));
          expect(ours.toString("hex")).toBe(theirs.toString("hex"));
          expect(oursAsync.equals(ours)).toBe(true);
          expectSameAsSample(theirs, s, compression);
          await expectKafkaJsReads(ours, s);
        }),
        RUNS,
      );
    });
  }

  for (const [name, compression] of [
    ["snappy (xerial framing)", CompressionType.Snappy],
    ["lz4 (frame)", CompressionType.Lz4],
  ] as const) {
    it(`${name}: we decode what KafkaJS + an independent codec encodes, and it decodes ours`, async () => {
      await fc.assert(
        fc.asyncProperty(sampleArb, async (s) => {
          expectSameAsSample(await kafkaJsEncode(s, compression), s, compression);
          await expectKafkaJsReads(encodeRecordBatch(ourInputs(s), ourOptions(s, compression)), s);
          await expectKafkaJsReads(await encodeRecordBatchAsync(ourInputs(s), ourOptions(s, compression)), s);
        }),
        RUNS,
      );
    });
  }

  it("zstd: we decode what KafkaJS + libzstd encodes, and KafkaJS + fzstd decodes ours", async () => {
    await fc.assert(
      fc.asyncProperty(sampleArb, async (s) => {
        expectSameAsSample(await kafkaJsEncode(s, CompressionType.Zstd), s, CompressionType.Zstd);
        const ours = await encodeRecordBatchAsync(ourInputs(s), ourOptions(s, CompressionType.Zstd));
        await expectKafkaJsReads(ours, s);
        expect((await decodeRecordBatchAsync(ours)).records).toHaveLength(s.records.length);
      }),
      RUNS,
    );
  });

  it("KafkaJS reads our control, transactional and LogAppendTime flags", async () => {
    const buf = encodeRecordBatch(
      [
        { key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 7]), timestamp: 1_000 },
        { key: Buffer.from([0, 0, 0, 0]), value: null, timestamp: 2_000 },
      ],
      { control: true, transactional: true, timestampType: TimestampType.LogAppendTime, maxTimestamp: 5_000, producerId: 77, producerEpoch: 2 },
    );
    const b = (await decodeKafkaJsBatch(new KafkaJsDecoder(buf))) as KafkaJsBatch & { timestampType: number };
    expect(b.isControlBatch).toBe(true);
    expect(b.inTransaction).toBe(true);
    expect(b.timestampType).toBe(1);
    expect(b.producerId).toBe("77");
    expect(b.records.map((r) => [r.offset, r.timestamp, r.key?.toString("hex"), r.value])).toEqual([
      ["0", "5000", "00000001", Buffer.from([0, 0, 0, 0, 0, 7])],
      ["1", "5000", "00000000", null],
    ]);
  });

  it("a fixed KafkaJS batch (with headers, null key) decodes to the expected values", async () => {
    const s: Sample = {
      baseOffset: 0,
      baseTimestamp: 1_509_928_155_660,
      partitionLeaderEpoch: 0,
      producerId: -1,
      producerEpoch: 0,
      baseSequence: 0,
      transactional: false,
      records: [
        { key: Buffer.from("key-0"), value: Buffer.from("some-value-0"), headers: [{ key: "header-key-0", value: Buffer.from("header-value-0") }], timestampDelta: 0 },
        { key: null, value: Buffer.from("some-value-1"), headers: [], timestampDelta: 5 },
      ],
    };
    const theirs = await kafkaJsEncode(s, CompressionType.None);
    const b = decodeRecordBatch(theirs);
    expect(b.records[0]!.key!.toString()).toBe("key-0");
    expect(b.records[0]!.headers).toEqual([{ key: "header-key-0", value: Buffer.from("header-value-0") }]);
    expect(b.records[1]!.key).toBeNull();
    expect(b.records[1]!.timestamp).toBe(1_509_928_155_665);
    expect(b.maxTimestamp).toBe(1_509_928_155_665);
  });
});
