// Splits one leader's ready batches into Produce requests of at most max.request.size bytes,
// in order. A batch alone larger than the limit still goes, by itself (batch.size may be set
// above max.request.size; refusing it would strand its records). Pure.

/** Bytes a batch adds to a Produce request beyond its records: batch header and protobuf framing. */
export const BATCH_REQUEST_OVERHEAD = 61 + 32;

export function splitBySize<B>(batches: readonly B[], maxBytes: number, sizeOf: (b: B) => number): B[][] {
  const out: B[][] = [];
  let current: B[] = [];
  let bytes = 0;
  for (const b of batches) {
    const size = sizeOf(b);
    if (current.length > 0 && bytes + size > maxBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(b);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
