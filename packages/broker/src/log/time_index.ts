// Sparse time index of one segment: (T, O) entries with T strictly increasing, where O is the
// base offset of the first batch whose maxTimestamp reached T; every batch before O has a
// smaller maxTimestamp. A lookup for ts therefore starts scanning at the last entry with
// T < ts. Persisted as Kafka's `.timeindex` format: 12 bytes per
// entry (i64 timestamp, u32 relative offset, big-endian). Pure in-memory structure.

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  private ts: number[] = [];
  private rel: number[] = [];

  constructor(readonly baseOffset: number) {}

  get entries(): number {
    return this.ts.length;
  }

  /** The largest timestamp recorded, or -1. */
  get lastTimestamp(): number {
    return this.ts.length === 0 ? -1 : this.ts[this.ts.length - 1]!;
  }

  /** Adds an entry when `timestamp` is larger than the last one. */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    const r = offset - this.baseOffset;
    if (this.rel.length > 0 && r < this.rel[this.rel.length - 1]!) return;
    this.ts.push(timestamp);
    this.rel.push(r);
  }

  /**
   * Offset to start scanning from for the first batch with maxTimestamp >= `timestamp`:
   * the offset of the last entry whose timestamp is < `timestamp` (batches before it all
   * have smaller timestamps), else the segment base.
   */
  lookup(timestamp: number): number {
    let lo = 0;
    let hi = this.ts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid]! < timestamp) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.baseOffset : this.baseOffset + this.rel[found]!;
  }

  last(): { timestamp: number; offset: number } | null {
    const n = this.ts.length;
    return n === 0 ? null : { timestamp: this.ts[n - 1]!, offset: this.baseOffset + this.rel[n - 1]! };
  }

  truncateToOffset(offset: number): void {
    const r = offset - this.baseOffset;
    while (this.rel.length > 0 && this.rel[this.rel.length - 1]! >= r) {
      this.rel.pop();
      this.ts.pop();
    }
  }

  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.ts.length * TIME_INDEX_ENTRY_BYTES);
    for (let i = 0; i < this.ts.length; i++) {
      out.writeBigInt64BE(BigInt(this.ts[i]!), i * 12);
      out.writeUInt32BE(this.rel[i]!, i * 12 + 8);
    }
    return out;
  }

  /** Parses a persisted index; null when torn or out of order. */
  static decode(baseOffset: number, bytes: Buffer): TimeIndex | null {
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const idx = new TimeIndex(baseOffset);
    for (let i = 0; i < bytes.length; i += TIME_INDEX_ENTRY_BYTES) {
      const before = idx.entries;
      idx.maybeAppend(Number(bytes.readBigInt64BE(i)), baseOffset + bytes.readUInt32BE(i + 8));
      if (idx.entries === before) return null;
    }
    return idx;
  }
}
