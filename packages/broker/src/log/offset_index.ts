// Sparse offset index of one segment: (offset relative to the segment's base, byte position)
// pairs, one per `indexIntervalBytes` of log, strictly increasing in both. Pure in-memory
// structure; the segment persists it as Kafka's `.index` format (8 bytes per entry: u32
// relative offset, u32 position, big-endian) and rebuilds it from the log when the file is
// missing or fails the sanity check.

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  private rel = new Uint32Array(64);
  private pos = new Uint32Array(64);
  private n = 0;

  constructor(readonly baseOffset: number) {}

  get entries(): number {
    return this.n;
  }

  /** Adds an entry; ignored unless it is past the last one in both offset and position. */
  append(offset: number, position: number): void {
    const r = offset - this.baseOffset;
    if (this.n > 0 && (r <= this.rel[this.n - 1]! || position <= this.pos[this.n - 1]!)) return;
    if (this.n === this.rel.length) {
      const rel = new Uint32Array(this.n * 2);
      rel.set(this.rel);
      const pos = new Uint32Array(this.n * 2);
      pos.set(this.pos);
      this.rel = rel;
      this.pos = pos;
    }
    this.rel[this.n] = r;
    this.pos[this.n] = position;
    this.n++;
  }

  /** The last entry with offset <= `offset` (binary search), or the segment start. */
  lookup(offset: number): { offset: number; position: number } {
    const r = offset - this.baseOffset;
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.rel[mid]! <= r) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.baseOffset + this.rel[found]!, position: this.pos[found]! };
  }

  last(): { offset: number; position: number } | null {
    return this.n === 0 ? null : { offset: this.baseOffset + this.rel[this.n - 1]!, position: this.pos[this.n - 1]! };
  }

  /** Drops entries at or past `offset` (truncation). */
  truncateToOffset(offset: number): void {
    const r = offset - this.baseOffset;
    while (this.n > 0 && this.rel[this.n - 1]! >= r) this.n--;
  }

  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.n * OFFSET_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.n; i++) {
      out.writeUInt32BE(this.rel[i]!, i * 8);
      out.writeUInt32BE(this.pos[i]!, i * 8 + 4);
    }
    return out;
  }

  /**
   * Parses a persisted index; null when it cannot be trusted for a log of `logBytes` bytes
   * (torn length, entries out of order, positions past the end).
   */
  static decode(baseOffset: number, bytes: Buffer, logBytes: number): OffsetIndex | null {
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const idx = new OffsetIndex(baseOffset);
    for (let i = 0; i < bytes.length; i += OFFSET_INDEX_ENTRY_BYTES) {
      const r = bytes.readUInt32BE(i);
      const p = bytes.readUInt32BE(i + 4);
      if (p >= logBytes) return null;
      const before = idx.n;
      idx.append(baseOffset + r, p);
      if (idx.n === before) return null;
    }
    return idx;
  }
}
