import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative } from "@brook/protocol";

const kafkaJsCrc32C = createRequire(import.meta.url)("kafkajs/src/protocol/recordBatch/crc32C") as (b: Buffer) => number;

// The standard check value and the iSCSI vectors of RFC 3720, appendix B.4.
const ascending = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const VECTORS: [string, Buffer, number][] = [
  ["empty", Buffer.alloc(0), 0],
  ['"123456789"', Buffer.from("123456789"), 0xe3069283],
  ["32 zero bytes", Buffer.alloc(32, 0), 0x8a9136aa],
  ["32 0xFF bytes", Buffer.alloc(32, 0xff), 0x62a8ab43],
  ["32 ascending bytes", ascending, 0x46dd794e],
  ["32 descending bytes", Buffer.from(ascending).reverse(), 0x113fdb5c],
];

const implementations: [string, (d: Uint8Array, c?: number) => number][] = [["js", crc32cJs]];
if (crc32cNative) implementations.push(["native", crc32cNative]);

describe("CRC-32C", () => {
  it("uses the native binding on this machine (it is installed as a dependency)", () => {
    expect(crc32cNative).toBeTypeOf("function");
    expect(crc32cImplementation).toBe("native");
    expect(crc32c).toBe(crc32cNative);
  });

  for (const [impl, fn] of implementations) {
    for (const [name, data, expected] of VECTORS) {
      it(`${impl}: ${name} -> 0x${expected.toString(16)}`, () => {
        expect(fn(data)).toBe(expected);
        expect(fn(new Uint8Array(data))).toBe(expected);
      });
    }

    it(`${impl}: agrees with KafkaJS's CRC-32C and continues a running checksum`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat({ max: 2000 }), (arr, cut) => {
          const data = Buffer.from(arr);
          const whole = fn(data);
          expect(whole).toBe(kafkaJsCrc32C(data));
          const at = Math.min(cut, data.length);
          expect(fn(data.subarray(at), fn(data.subarray(0, at)))).toBe(whole);
          // Unaligned views must work too (subarray of a larger buffer).
          expect(fn(Buffer.concat([Buffer.from([7]), data]).subarray(1))).toBe(whole);
        }),
        { numRuns: 300 },
      );
    });
  }
});
