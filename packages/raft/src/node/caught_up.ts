// When each member was last caught up with the leader, for DescribeQuorum (Kafka's
// lastCaughtUpTimestamp). Under steady load a follower is never level with the leader's last
// index at the instant of asking (entries are always in flight), so "caught up at T" means:
// its log reached the leader's last index as it was at T. The leader samples its last index
// once per tick; a member whose match passes a sample's index was caught up at that sample's
// time. Pure: time comes in as numbers.
import type { NodeId, PeerProgress } from "../core/types.js";

/** Samples kept: at one per heartbeat tick, a few seconds; older catch-ups keep their time. */
const SAMPLES = 64;

export class CaughtUpTracker {
  /** (time, leader's last index) per tick, oldest first. */
  readonly #samples: { readonly at: number; readonly lastIndex: number }[] = [];
  readonly #caughtUpAt = new Map<NodeId, number>();

  /** Called once per tick while leading, with the leader's last index and progress. */
  sample(now: number, lastIndex: number, progress: ReadonlyMap<NodeId, PeerProgress>): void {
    this.#samples.push({ at: now, lastIndex });
    if (this.#samples.length > SAMPLES) this.#samples.shift();
    for (const [id, p] of progress) {
      // The newest sample this member's log has reached.
      for (let i = this.#samples.length - 1; i >= 0; i--) {
        const s = this.#samples[i]!;
        if (p.match >= s.lastIndex) {
          if (s.at > (this.#caughtUpAt.get(id) ?? -Infinity)) this.#caughtUpAt.set(id, s.at);
          break;
        }
      }
    }
  }

  /** Milliseconds since `id` was last caught up; -1 if not since this node began leading. */
  msAgo(id: NodeId, now: number): number {
    const at = this.#caughtUpAt.get(id);
    return at === undefined ? -1 : Math.max(0, Math.round(now - at));
  }

  /** Leadership lost or gained: what an earlier term saw says nothing now. */
  reset(): void {
    this.#samples.length = 0;
    this.#caughtUpAt.clear();
  }
}
