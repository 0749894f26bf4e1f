// The consumer's bounded prefetch buffer, pure: fetched records wait here, per partition and
// tagged with the partition's generation (bumped by seek, revoke and reassign, so records
// fetched before such a change are dropped, never delivered). `full` tells the fetcher to
// stop fetching until the application caught up.
export interface Buffered<T> {
  readonly topic: string;
  readonly partition: number;
  readonly generation: number;
  /** The chunk's records (a cursor over their bytes in the consumer). */
  readonly records: T;
  /** How many records it holds, for the bound. */
  readonly count: number;
  /** Offset after the last record of this chunk (the next fetch position). */
  readonly nextOffset: number;
  readonly highWatermark: number;
}

export class FetchBuffer<T> {
  private readonly chunks: Buffered<T>[] = [];
  private count = 0;

  constructor(readonly maxRecords: number) {}

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.maxRecords;
  }

  push(chunk: Buffered<T>): void {
    if (chunk.count === 0) return;
    this.chunks.push(chunk);
    this.count += chunk.count;
  }

  /** Takes the oldest chunk whose generation is still current; stale chunks are dropped. */
  take(isCurrent: (topic: string, partition: number, generation: number) => boolean): Buffered<T> | undefined {
    for (;;) {
      const c = this.chunks.shift();
      if (c === undefined) return undefined;
      this.count -= c.count;
      if (isCurrent(c.topic, c.partition, c.generation)) return c;
    }
  }

  /** Drops everything buffered for one partition. */
  drop(topic: string, partition: number): void {
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const c = this.chunks[i]!;
      if (c.topic === topic && c.partition === partition) {
        this.count -= c.count;
        this.chunks.splice(i, 1);
      }
    }
  }
}
