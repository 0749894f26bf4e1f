// Hands out producer ids from blocks the controller allocates (AllocateProducerIds), fetching
// the next block when one runs out. Concurrent callers share one in-flight block request.
import type { ProducerIdBlock } from "./controller_api.js";

export class ProducerIdAllocator {
  private next = 0;
  private end = 0;
  private inflight: Promise<void> | undefined;

  constructor(private readonly allocate: () => Promise<ProducerIdBlock>) {}

  async nextId(): Promise<number> {
    while (this.next >= this.end) {
      this.inflight ??= this.allocate()
        .then((b) => {
          this.next = b.firstProducerId;
          this.end = b.firstProducerId + b.size;
        })
        .finally(() => {
          this.inflight = undefined;
        });
      await this.inflight;
    }
    return this.next++;
  }
}
