// Progress: the leader's view of one follower (etcd's tracker.Progress). It decides whether
// the leader may send that follower more entries now (flow control) and where from.
//
//   Probe:     we do not know where the follower's log matches; at most one App in flight,
//              and backtracking on each reject.
//   Replicate: the follower is known to match up to `match`; Apps are pipelined optimistically,
//              up to maxInflight unacknowledged messages.
//   Snapshot:  the follower needs compacted entries; a snapshot is on its way, nothing else is
//              sent until it is acknowledged or reported failed.

export const enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

/** The last index of each App in flight, oldest first, bounded by `capacity`. */
export class Inflights {
  #items: number[] = [];
  constructor(readonly capacity: number) {}

  add(lastIndex: number): void {
    this.#items.push(lastIndex);
  }

  /** Frees every message whose last index is <= `to` (acknowledged). */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.#items.length && this.#items[n]! <= to) n++;
    if (n > 0) this.#items.splice(0, n);
  }

  freeFirstOne(): void {
    this.#items.shift();
  }

  full(): boolean {
    return this.#items.length >= this.capacity;
  }

  count(): number {
    return this.#items.length;
  }

  reset(): void {
    this.#items = [];
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Probe state: an App is in flight, wait for its answer (or a heartbeat answer). */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, readonly isObserver: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  #reset(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.#reset(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.#reset(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.#reset(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.#reset(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** An ack up to n arrived. Returns whether match moved. */
  maybeUpdate(n: number): boolean {
    const updated = this.match < n;
    if (updated) this.match = n;
    this.probeSent = false;
    if (this.next < n + 1) this.next = n + 1;
    return updated;
  }

  /** An App with `count` entries ending at `lastIndex` was sent. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === ProgressState.Replicate) {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected an App at index `rejected`, hinting it may match at `matchHint`.
   * Returns false when the rejection is stale (a duplicate or reordered answer).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
