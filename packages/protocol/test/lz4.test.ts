// The LZ4 frame walk that bounds output before lz4-napi (which has no output cap) runs.
import { describe, expect, it } from "vitest";
import { compressionCodec, CompressionType, CorruptRecordError, RecordTooLargeError } from "@brook/protocol";

const codec = compressionCodec(CompressionType.Lz4);
// Magic, FLG (version 01, independent blocks), BD (64 KiB blocks), header checksum byte.
const HEADER = [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];

function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

describe("lz4 frames", () => {
  it("decompresses a real frame within the cap, sync and async", async () => {
    const data = Buffer.alloc(1 << 20, 7);
    const frame = codec.compressSync(data);
    expect(frame.length).toBeLessThan(20_000);
    expect(codec.decompressSync(frame, 2 << 20).equals(data)).toBe(true);
    expect((await codec.decompress(frame, 2 << 20)).equals(data)).toBe(true);
  });

  it("refuses a frame whose blocks could expand past the cap, before expanding it", async () => {
    const blocks = Array.from({ length: 2000 }, () => [...u32le(4), 0, 0, 0, 0]);
    const bomb = Buffer.from([...HEADER, ...blocks.flat(), ...u32le(0)]);
    expect(() => codec.decompressSync(bomb, 1 << 20)).toThrow(RecordTooLargeError);
    await expect(codec.decompress(bomb, 1 << 20)).rejects.toThrow(RecordTooLargeError);
    // The real frame above is refused too when the cap is below its size.
    const frame = codec.compressSync(Buffer.alloc(1 << 20, 7));
    expect(() => codec.decompressSync(frame, 1000)).toThrow(RecordTooLargeError);
  });

  it("refuses malformed frames with CORRUPT_MESSAGE", async () => {
    const bad = [
      Buffer.from([1, 2, 3, 4, 5]),
      Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x20, 0x40, 0x00, ...u32le(0)]), // version 00
      Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x10, 0x00, ...u32le(0)]), // block size code 1
      Buffer.from([...HEADER, ...u32le(100), 1, 2, 3]), // block runs past the end
      Buffer.from([...HEADER, ...u32le(70_000)]), // block larger than 64 KiB
      Buffer.from([...HEADER, ...u32le(3), 1, 2, 3]), // no end mark
    ];
    for (const f of bad) {
      expect(() => codec.decompressSync(f, 1 << 20)).toThrow(CorruptRecordError);
      await expect(codec.decompress(f, 1 << 20)).rejects.toThrow(CorruptRecordError);
    }
  });
});
