// Reusable memory for the producer's large buffers (encoded batches, serialized requests).
// A fresh megabyte Buffer is memory outside V8's heap, and V8 answers every 64 MiB of it with
// a full garbage collection ("external memory pressure"): at 100k records/s of 1 KiB, the
// batch and its request were two such megabytes per thousand records, and those collections
// were a third of the producer's CPU. Slabs handed back here are lent again instead.
// A buffer may be handed back only once nothing can read it any more (for a request: its
// answer came back, so grpc-js has copied it into its frame); when in doubt, callers simply
// do not hand it back and the garbage collector takes it as before.

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  /** Slabs lent and not yet back: a second release of the same slab must not lend it twice. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    /** Bytes per slab: requests larger than this get a buffer of their own. */
    readonly slabSize: number,
    /** Slabs kept when idle; more released ones are left to the garbage collector. */
    private readonly maxFree: number,
  ) {}

  /** `size` bytes (contents undefined): a pooled slab when it fits and would be at least half used. */
  take(size: number): Buffer {
    // A small buffer in a slab would hold the whole slab for as long as it lives: at least
    // half used, a lent slab holds at most twice the bytes a buffer of its own would.
    if (size > this.slabSize || size * 2 < this.slabSize) return Buffer.allocUnsafe(size);
    const slab = this.free.pop() ?? new ArrayBuffer(this.slabSize);
    this.lent.add(slab);
    return Buffer.from(slab, 0, size);
  }

  /** Hands `buf`'s slab back for reuse; ignores buffers that did not come from take() or came back already. */
  release(buf: Buffer): void {
    const slab = buf.buffer;
    if (!(slab instanceof ArrayBuffer) || !this.lent.delete(slab)) return;
    if (this.free.length < this.maxFree) this.free.push(slab);
  }

  /** Slabs waiting to be lent again. */
  get idle(): number {
    return this.free.length;
  }
}
