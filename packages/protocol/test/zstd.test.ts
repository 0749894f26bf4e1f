// zstd frames built by hand (raw and RLE blocks, with and without a content size) check the
// output bound that guards both decompressors, and that both read frames without a content size
// (as streaming encoders such as the Java client's write them).
import { describe, expect, it } from "vitest";
import {
  compressionCodec,
  CompressionType,
  CorruptRecordError,
  crc32c,
  decodeRecordBatch,
  decodeRecordBatchAsync,
  encodeRecordBatchAsync,
  RecordTooLargeError,
} from "@brook/protocol";

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
// Frame header descriptor: no content size, not single segment, no checksum, no dictionary;
// window descriptor 0x50 = 2^(10+10) = 1 MiB.
const HEADER_NO_FCS = [...MAGIC, 0x00, 0x50];

function blockHeader(last: boolean, type: 0 | 1 | 2 | 3, size: number): number[] {
  const h = (last ? 1 : 0) | (type << 1) | (size << 3);
  return [h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff];
}

function frame(blocks: number[][]): Buffer {
  return Buffer.from([...HEADER_NO_FCS, ...blocks.flat()]);
}

const codec = compressionCodec(CompressionType.Zstd);

describe("zstd", () => {
  it("decompresses a frame without a content size, raw and RLE blocks, sync and async", async () => {
    const raw = Buffer.from("hello, brook");
    const f = frame([[...blockHeader(false, 0, raw.length), ...raw], [...blockHeader(true, 1, 1000), 0x41]]);
    const expected = Buffer.concat([raw, Buffer.alloc(1000, 0x41)]);
    expect(codec.decompressSync(f, 1 << 20).equals(expected)).toBe(true);
    expect((await codec.decompress(f, 1 << 20)).equals(expected)).toBe(true);
  });

  it("refuses an RLE bomb before decompressing it", async () => {
    // 2,000 RLE blocks of 128 KiB: 8 KB of input claiming 256 MiB of output.
    const blocks = Array.from({ length: 2000 }, (_, i) => [...blockHeader(i === 1999, 1, 128 * 1024), 0]);
    const bomb = frame(blocks);
    expect(() => codec.decompressSync(bomb, 1 << 20)).toThrow(RecordTooLargeError);
    await expect(codec.decompress(bomb, 1 << 20)).rejects.toThrow(RecordTooLargeError);
  });

  it("refuses malformed frames with CORRUPT_MESSAGE", async () => {
    const bad = [
      Buffer.from([1, 2, 3, 4, 5, 6]),
      Buffer.from([...MAGIC]),
      Buffer.from([...HEADER_NO_FCS, ...blockHeader(true, 3, 0)]),
      Buffer.from([...HEADER_NO_FCS, ...blockHeader(true, 0, 50), 1, 2]),
      Buffer.from([...MAGIC, 0x01, 0x50, 7]), // needs a dictionary
    ];
    for (const f of bad) {
      expect(() => codec.decompressSync(f, 1 << 20)).toThrow(CorruptRecordError);
      await expect(codec.decompress(f, 1 << 20)).rejects.toThrow(CorruptRecordError);
    }
  });

  it("a zstd batch whose records exceed the cap is refused with MESSAGE_TOO_LARGE", async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ key: null, value: Buffer.alloc(10_000, i), timestamp: 1 }));
    const buf = await encodeRecordBatchAsync(records, { compression: CompressionType.Zstd });
    expect(() => decodeRecordBatch(buf, 0, { maxUncompressedBytes: 100_000 })).toThrow(RecordTooLargeError);
    await expect(decodeRecordBatchAsync(buf, 0, { maxUncompressedBytes: 100_000 })).rejects.toThrow(RecordTooLargeError);
    expect(decodeRecordBatch(buf).records).toHaveLength(100);
    // Same batch with garbage in the compressed section (CRC fixed) is a typed error.
    const mangled = Buffer.from(buf);
    for (let i = 70; i < mangled.length; i += 7) mangled[i] ^= 0x5a;
    mangled.writeUInt32BE(crc32c(mangled.subarray(21)), 17);
    expect(() => decodeRecordBatch(mangled)).toThrow(CorruptRecordError);
    await expect(decodeRecordBatchAsync(mangled)).rejects.toThrow(CorruptRecordError);
  });
});
