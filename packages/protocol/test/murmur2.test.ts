import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BrookProtocolError, ErrorCode, murmur2, partitionForKey, toPositive } from "@brook/protocol";

const require = createRequire(import.meta.url);
const kafkaJsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2") as (key: Buffer | string) => number;
const createKafkaJsPartitioner = require("kafkajs/src/producer/partitioners/default") as () => (args: {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key: Buffer };
}) => number;

describe("murmur2", () => {
  // Apache Kafka's UtilsTest.testMurmur2 vectors (clients/src/test/java/org/apache/kafka/common/utils).
  const JAVA_VECTORS: [string | number[], number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    [[0x61, 0x62, 0x63], 479470107],
  ];
  for (const [input, expected] of JAVA_VECTORS) {
    it(`matches the Java client for ${JSON.stringify(input)}`, () => {
      expect(murmur2(typeof input === "string" ? Buffer.from(input) : Uint8Array.from(input))).toBe(expected);
    });
  }

  it("matches KafkaJS's murmur2 and default partitioner on random keys", () => {
    const partitioner = createKafkaJsPartitioner();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 1000 }), (arr, n) => {
        const key = Buffer.from(arr);
        expect(murmur2(key)).toBe(kafkaJsMurmur2(key));
        const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0 }));
        expect(partitionForKey(key, n)).toBe(partitioner({ topic: "t", partitionMetadata, message: { key } }));
      }),
      { numRuns: 1000 },
    );
  });

  it("toPositive clears the sign bit like Java's Utils.toPositive", () => {
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1)).toBe(2147483647);
    expect(toPositive(5)).toBe(5);
  });

  it("rejects a partition count that is not a positive integer", () => {
    for (const n of [0, -1, 1.5, Number.NaN]) {
      const err = (() => {
        try {
          partitionForKey(Buffer.from("k"), n);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(BrookProtocolError);
      expect((err as BrookProtocolError).code).toBe(ErrorCode.INVALID_PARTITIONS);
    }
  });
});
