// The decoder on hostile bytes: random buffers, and valid batches with mutations whose CRC is
// then recomputed so the mutation reaches the record parser and the decompressors. Every outcome
// must be a decoded batch or a BrookProtocolError; never another exception, a hang, or an
// allocation the input does not justify.
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BrookProtocolError,
  CompressionType,
  CorruptRecordError,
  crc32c,
  decodeRecordBatch,
  decodeRecordBatchAsync,
  decodeRecordBatches,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  iterateBatches,
  RecordTooLargeError,
  validateBatch,
  type RecordInput,
} from "@brook/protocol";

// zstd batches are encoded asynchronously (see the zstd property below); the rest synchronously.
const COMPRESSIONS = [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4];

function fixCrc(buf: Buffer): Buffer {
  if (buf.length >= 21) buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}

/** Runs fn; passes if it returns or throws a BrookProtocolError; rethrows anything else. */
function expectTypedOutcome(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BrookProtocolError)) throw e;
    expect(e.code).toBeTypeOf("number");
    expect(e.message.length).toBeGreaterThan(10);
  }
}

const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(fc.uint8Array({ maxLength: 30 }), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 120 }), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 6 }), value: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: null }) }), { maxLength: 2 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 41 }),
});

const batchArb = fc
  .tuple(fc.array(recordArb, { minLength: 1, maxLength: 25 }), fc.constantFrom(...COMPRESSIONS), fc.integer({ min: 0, max: 2 ** 40 }))
  .map(([records, compression, baseOffset]) => encodeRecordBatch(records, { compression, baseOffset }));

type Mutation =
  | { kind: "set"; at: number; byte: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; count: number }
  | { kind: "int32"; at: number; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  // Big and boundary values written over a header field or a record varint region.
  fc.record({ kind: fc.constant("int32" as const), at: fc.nat(), value: fc.constantFrom(-1, 0, 1, 0x7fffffff, -0x80000000, 1_000_000, 49, 61) }),
);

function mutate(buf: Buffer, m: Mutation): Buffer {
  const at = buf.length === 0 ? 0 : m.at % buf.length;
  switch (m.kind) {
    case "set": {
      const out = Buffer.from(buf);
      out[at] = m.byte;
      return out;
    }
    case "truncate":
      return Buffer.from(buf.subarray(0, at));
    case "insert":
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    case "delete":
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)]);
    case "int32": {
      const out = Buffer.from(buf);
      if (at + 4 <= out.length) out.writeInt32BE(m.value, at);
      return out;
    }
  }
}

/** Keeps the length field consistent with the bytes, so mutations get past the size check too. */
function fixLength(buf: Buffer): Buffer {
  if (buf.length >= 12) buf.writeInt32BE(buf.length - 12, 8);
  return buf;
}

describe("decoder fuzzing", () => {
  it("random bytes give a typed error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (arr) => {
        const buf = Buffer.from(arr);
        expectTypedOutcome(() => decodeRecordBatch(buf));
        expectTypedOutcome(() => [...iterateBatches(buf)]);
        // Random bytes behind a plausible header prefix reach the CRC check and beyond.
        const framed = Buffer.concat([Buffer.alloc(8), Buffer.alloc(4), Buffer.from([0, 0, 0, 0, 2]), buf]);
        fixCrc(fixLength(framed));
        expectTypedOutcome(() => decodeRecordBatch(framed));
      }),
      { numRuns: 3000 },
    );
  });

  it("mutated valid batches (with the CRC recomputed) give a batch or a typed error", () => {
    fc.assert(
      fc.property(batchArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), (good, mutations, keepLength, keepCrc) => {
        let buf = good;
        for (const m of mutations) buf = mutate(buf, m);
        if (keepLength) buf = fixLength(buf);
        if (keepCrc) buf = fixCrc(buf);
        expectTypedOutcome(() => decodeRecordBatch(buf, 0, { maxUncompressedBytes: 1 << 20 }));
        expectTypedOutcome(() => validateBatch(buf));
        expectTypedOutcome(() => decodeRecordBatches(Buffer.concat([good, buf])));
      }),
      { numRuns: 3000 },
    );
  });

  it("async decoding of mutated compressed batches gives a batch or a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (good, mutations) => {
        let buf = good;
        for (const m of mutations) buf = mutate(buf, m);
        buf = fixCrc(fixLength(buf));
        try {
          await decodeRecordBatchAsync(buf, 0, { maxUncompressedBytes: 1 << 20 });
        } catch (e) {
          if (!(e instanceof BrookProtocolError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it("mutated zstd batches give a batch or a typed error, sync and async", async () => {
    const samples = await fc.sample(fc.array(recordArb, { minLength: 1, maxLength: 25 }), { numRuns: 20, seed: 7 });
    const batches = await Promise.all(samples.map((records) => encodeRecordBatchAsync(records, { compression: CompressionType.Zstd })));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...batches), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), async (good, mutations) => {
        let buf = good;
        for (const m of mutations) buf = mutate(buf, m);
        buf = fixCrc(fixLength(buf));
        expectTypedOutcome(() => decodeRecordBatch(buf, 0, { maxUncompressedBytes: 1 << 20 }));
        try {
          await decodeRecordBatchAsync(buf, 0, { maxUncompressedBytes: 1 << 20 });
        } catch (e) {
          if (!(e instanceof BrookProtocolError)) throw e;
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("a record count that lies is caught before anything is allocated for it", () => {
    const good = encodeRecordBatch([{ key: null, value: Buffer.from("v"), timestamp: 1 }]);
    for (const count of [2, 0x7fffffff]) {
      const lying = Buffer.from(good);
      lying.writeInt32BE(count, 57);
      lying.writeInt32BE(count - 1, 23); // keep lastOffsetDelta plausible so the count is what fails
      fixCrc(lying);
      expect(() => decodeRecordBatch(lying)).toThrow(CorruptRecordError);
      expect(() => validateBatch(lying)).toThrow(/BAD_RECORD_COUNT/);
    }
    // A compressed batch can only be checked after decompression; the count must still match.
    const gz = encodeRecordBatch([{ key: null, value: Buffer.from("v"), timestamp: 1 }], { compression: CompressionType.Gzip });
    const lyingGz = Buffer.from(gz);
    lyingGz.writeInt32BE(0x7fffffff, 57);
    lyingGz.writeInt32BE(0x7ffffffe, 23);
    fixCrc(lyingGz);
    expect(() => decodeRecordBatch(lyingGz)).toThrow(/BAD_RECORD_COUNT/);
  });

  it("a decompression bomb stops at the cap with MESSAGE_TOO_LARGE", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const header = encodeRecordBatch([{ key: null, value: null, timestamp: 1 }], { compression: CompressionType.Gzip }).subarray(0, 61);
    const buf = Buffer.concat([header, bomb]);
    fixCrc(fixLength(buf));
    expect(() => decodeRecordBatch(buf, 0, { maxUncompressedBytes: 1 << 20 })).toThrow(RecordTooLargeError);
    await expect(decodeRecordBatchAsync(buf, 0, { maxUncompressedBytes: 1 << 20 })).rejects.toThrow(RecordTooLargeError);
  });

  it("a batch larger than the caller allows is refused from its length field alone", () => {
    const buf = encodeRecordBatch([{ key: null, value: Buffer.alloc(2000), timestamp: 1 }]);
    expect(() => validateBatch(buf.subarray(0, 20), 0, 1000)).toThrow(RecordTooLargeError);
  });
});
