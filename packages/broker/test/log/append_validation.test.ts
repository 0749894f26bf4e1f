// Pure checks on incoming bytes and on a loaded checkpoint's shape.
import { describe, expect, it } from "vitest";
import { validateFollowerInput, validateProduceInput } from "../../src/log/append_validation.js";
import { parsePartitionCheckpoint } from "../../src/log/partition_checkpoint.js";
import { LogCode } from "../../src/log/errors.js";
import { batchOf, testConfig } from "./helpers.js";

describe("validateProduceInput", () => {
  const config = testConfig({ maxMessageBytes: 500, messageTimestampDifferenceMaxMs: 1_000 });

  it("accepts good batches back to back and reports their headers", () => {
    const hs = validateProduceInput(Buffer.concat([batchOf(2, { baseTimestamp: 5_000 }), batchOf(3, { baseTimestamp: 5_000 })]), config, 5_500);
    expect(hs.map((h) => h.recordsCount)).toEqual([2, 3]);
  });

  it("names what is wrong with a Kafka code", () => {
    const at = (b: Buffer): unknown => {
      try {
        validateProduceInput(b, config, 5_000);
        return null;
      } catch (err) {
        return (err as { code: number }).code;
      }
    };
    expect(at(Buffer.alloc(0))).toBe(LogCode.CORRUPT_MESSAGE);
    expect(at(batchOf(2, { size: 400, baseTimestamp: 5_000 }))).toBe(LogCode.MESSAGE_TOO_LARGE);
    expect(at(batchOf(1, { baseTimestamp: 1_000 }))).toBe(LogCode.INVALID_TIMESTAMP);
    expect(at(batchOf(1, { baseTimestamp: 5_000, producerId: 3, producerEpoch: 0, baseSequence: -1 }))).toBe(LogCode.INVALID_RECORD);
  });

  it("LogAppendTime topics do not check producer timestamps; followers get only structural checks", () => {
    const lat = testConfig({ messageTimestampType: "LogAppendTime", messageTimestampDifferenceMaxMs: 1 });
    expect(validateProduceInput(batchOf(1, { baseTimestamp: 1 }), lat, 9_999_999)).toHaveLength(1);
    expect(validateFollowerInput(Buffer.alloc(0))).toEqual([]);
  });
});

describe("parsePartitionCheckpoint", () => {
  const good = { version: 1, recoveryPoint: 5, highWatermark: 4, logStartOffset: 0, epochs: [{ epoch: 1, startOffset: 0 }], producers: [] };
  it("accepts a well-formed body and refuses damaged ones", () => {
    expect(parsePartitionCheckpoint(good)).toEqual(good);
    expect(parsePartitionCheckpoint(null)).toBeNull();
    expect(() => parsePartitionCheckpoint({ ...good, version: 2 })).toThrow();
    expect(() => parsePartitionCheckpoint({ ...good, recoveryPoint: -1 })).toThrow();
    expect(() => parsePartitionCheckpoint({ ...good, epochs: [{ epoch: "x" }] })).toThrow();
    expect(() => parsePartitionCheckpoint({ ...good, producers: [{ producerId: 1 }] })).toThrow();
  });
});
