// The newest bytes of one segment, as the buffers that were appended: followers and tailing
// consumers read what was just written, and serving that from memory saves two file reads
// (a header scan and the read) per fetch, each a thread-pool round trip. Contract: holds an
// exact copy of the file's bytes [firstPosition, endPosition) as whole batches, pinning at
// most about `maxBytes` of memory (always the newest append); the owner clears it whenever the file changes
// other than by an append (truncation, reset). Callers must not modify what it returns.
import { lastOffsetOf, type BatchHeader } from "./batch.js";

interface Chunk {
  readonly position: number;
  readonly buf: Buffer;
  readonly headers: readonly BatchHeader[];
  /** What keeping `buf` costs: its length, or the whole buffer it is a slice of. */
  readonly cost: number;
}

export class TailCache {
  /** Live chunks are chunks[head..]: evicting by advancing `head` keeps eviction O(1). */
  private chunks: Chunk[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Records an append of `buf` (whole batches described by `headers`) at `position`. */
  add(position: number, buf: Buffer, headers: readonly BatchHeader[]): void {
    if (headers.length === 0) {
      // Nothing to index: bytes without headers would make the cache lie, so forget it all.
      if (buf.length > 0) this.clear();
      return;
    }
    const last = this.chunks.length > this.head ? this.chunks[this.chunks.length - 1] : undefined;
    // Only contiguous appends: a gap would make the cache lie about what it covers.
    if (last !== undefined && last.position + last.buf.length !== position) this.clear();
    // `buf` is usually a slice of the request or replica response that carried it, next to
    // other partitions' batches. Keeping the slice (not a copy) pins that whole message, so
    // the cache is charged for all of it: a copy of every appended byte cost more broker
    // CPU (fresh pages, GC of external memory) than the memory it saved.
    const cost = Math.max(buf.length, buf.buffer.byteLength);
    this.chunks.push({ position, buf, headers, cost });
    this.bytes += cost;
    while (this.bytes > this.maxBytes && this.chunks.length - this.head > 1) this.bytes -= this.chunks[this.head++]!.cost;
    // Drop evicted slots now and then, in one splice for many evictions.
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** Position and header of the first cached batch whose last offset is >= `offset`, or null when the cache cannot tell. */
  findBatch(offset: number): { position: number; header: BatchHeader } | null {
    const first = this.chunks[this.head];
    if (first === undefined || offset < first.headers[0]!.baseOffset) return null;
    // Binary search for the first chunk that reaches `offset`: with small batches the cache
    // holds thousands of chunks and followers ask for the newest, so a walk from the oldest
    // cost more broker CPU than the rest of a replica fetch.
    let lo = this.head;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid]!;
      if (lastOffsetOf(c.headers[c.headers.length - 1]!) >= offset) hi = mid;
      else lo = mid + 1;
    }
    const c = this.chunks[lo];
    if (c === undefined) return null;
    let pos = c.position;
    for (const h of c.headers) {
      if (lastOffsetOf(h) >= offset) return { position: pos, header: h };
      pos += h.sizeBytes;
    }
    return null;
  }

  /** Bytes [position, position + length) when the cache holds all of them, else null. */
  read(position: number, length: number): Buffer | null {
    const first = this.chunks[this.head];
    if (first === undefined || position < first.position || length <= 0) return null;
    const last = this.chunks[this.chunks.length - 1]!;
    const end = Math.min(position + length, last.position + last.buf.length);
    if (end <= position) return null;
    // First chunk that ends after `position` (chunks are contiguous and in order).
    let lo = this.head;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid]!;
      if (c.position + c.buf.length > position) hi = mid;
      else lo = mid + 1;
    }
    const parts: Buffer[] = [];
    for (let i = lo; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      if (c.position >= end) break;
      parts.push(c.buf.subarray(Math.max(0, position - c.position), Math.min(c.buf.length, end - c.position)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, end - position);
  }
}
