// The outer layout that LZ4 frames (LZ4 Frame Format 1.6.x) and zstd frames (RFC 8878, 3.1)
// share: frames back to back, each opening with a 4-byte little-endian magic, among them
// skippable frames (magic 0x184D2A50..0x184D2A5F, a 4-byte little-endian size, that many bytes
// of user data) that regenerate nothing. Each codec's output bound walks that layout here and
// reads only its own frames, so the bounds checks of the walk exist once.
import type { CorruptRecordError } from "./errors/errors.js";

const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export interface FrameFormat {
  readonly magic: number;
  /** Names the format in the error, e.g. "lz4: truncated skippable frame". */
  readonly corrupt: (detail: string) => CorruptRecordError;
  /**
   * Reads the frame whose magic ends at `pos`; returns where the frame ends and the most
   * bytes it can regenerate, or throws `corrupt(...)` on a malformed frame.
   */
  readonly readFrame: (data: Uint8Array, view: DataView, pos: number) => { readonly end: number; readonly bound: number };
}

/** Upper bound of the bytes the frames in `data` decompress to. */
export function framesOutputBound(data: Uint8Array, format: FrameFormat): number {
  const { corrupt } = format;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let bound = 0;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt(`truncated frame magic at ${pos}`);
    const magic = view.getUint32(pos, true);
    pos += 4;
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - pos < 4) throw corrupt("truncated skippable frame");
      const size = view.getUint32(pos, true);
      pos += 4;
      if (size > data.length - pos) throw corrupt("skippable frame runs past the end");
      pos += size;
      continue;
    }
    if (magic !== format.magic) throw corrupt(`bad frame magic 0x${magic.toString(16)} at ${pos - 4}`);
    const frame = format.readFrame(data, view, pos);
    pos = frame.end;
    bound += frame.bound;
  }
  return bound;
}
