// The newest bytes of one segment, as the buffers that were appended: followers and tailing
// consumers read what was just written, and serving that from memory saves two file reads
// (a header scan and the read) per fetch, each a thread-pool round trip. Contract: holds an
// exact copy of the file's bytes [firstPosition, endPosition) as whole batches, at most
// about `maxBytes` (always the newest append) and never pinning a larger buffer than twice
// what it holds; the owner clears it whenever the file changes
// other than by an append (truncation, reset). Callers must not modify what it returns.
import { lastOffsetOf, type BatchHeader } from "./batch.js";

interface Chunk {
  readonly position: number;
  readonly buf: Buffer;
  readonly headers: readonly BatchHeader[];
}

export class TailCache {
  private chunks: Chunk[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Records an append of `buf` (whole batches described by `headers`) at `position`. */
  add(position: number, buf: Buffer, headers: readonly BatchHeader[]): void {
    const last = this.chunks[this.chunks.length - 1];
    // Only contiguous appends: a gap would make the cache lie about what it covers.
    if (last !== undefined && last.position + last.buf.length !== position) this.clear();
    // A slice of a much larger message (one partition of a multi-partition response) would
    // keep that whole message alive while cached: keep a copy of just our bytes instead.
    const own = buf.buffer.byteLength > 2 * buf.length ? Buffer.from(buf) : buf;
    this.chunks.push({ position, buf: own, headers });
    this.bytes += buf.length;
    while (this.bytes > this.maxBytes && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.buf.length;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
  }

  /** Position and header of the first cached batch whose last offset is >= `offset`, or null when the cache cannot tell. */
  findBatch(offset: number): { position: number; header: BatchHeader } | null {
    const first = this.chunks[0];
    if (first === undefined || offset < first.headers[0]!.baseOffset) return null;
    for (const c of this.chunks) {
      let pos = c.position;
      for (const h of c.headers) {
        if (lastOffsetOf(h) >= offset) return { position: pos, header: h };
        pos += h.sizeBytes;
      }
    }
    return null;
  }

  /** Bytes [position, position + length) when the cache holds all of them, else null. */
  read(position: number, length: number): Buffer | null {
    const first = this.chunks[0];
    if (first === undefined || position < first.position || length <= 0) return null;
    const last = this.chunks[this.chunks.length - 1]!;
    const end = Math.min(position + length, last.position + last.buf.length);
    if (end <= position) return null;
    const parts: Buffer[] = [];
    for (const c of this.chunks) {
      const cEnd = c.position + c.buf.length;
      if (cEnd <= position || c.position >= end) continue;
      parts.push(c.buf.subarray(Math.max(0, position - c.position), Math.min(c.buf.length, end - c.position)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, end - position);
  }
}
