// Replica placement for new partitions: spreads replicas and leaders evenly over the given
// brokers, counting what they already hold, and alternates racks when brokers have them.
// Pure and deterministic: the same brokers and load always give the same assignment.

export interface PlacementBroker {
  readonly id: number;
  readonly rack: string;
}

/** Replicas and leaders each broker already holds (mutated as partitions are placed). */
export interface PlacementLoad {
  readonly replicas: Map<number, number>;
  readonly leaders: Map<number, number>;
}

export function emptyLoad(): PlacementLoad {
  return { replicas: new Map(), leaders: new Map() };
}

/**
 * Places `count` partitions of `replicationFactor` replicas each. The first replica of each
 * list is the preferred leader. Throws RangeError when there are too few brokers (callers
 * validate first and answer INVALID_REPLICATION_FACTOR).
 */
export function placePartitions(brokers: readonly PlacementBroker[], count: number, replicationFactor: number, load: PlacementLoad): number[][] {
  if (replicationFactor > brokers.length) throw new RangeError(`replication factor ${replicationFactor} exceeds ${brokers.length} brokers`);
  const sorted = [...brokers].sort((a, b) => a.id - b.id);
  const get = (m: Map<number, number>, id: number) => m.get(id) ?? 0;
  const out: number[][] = [];
  for (let p = 0; p < count; p++) {
    // Leader: fewest leaders, then fewest replicas, then lowest id.
    const leader = minBy(sorted, (b) => [get(load.leaders, b.id), get(load.replicas, b.id), b.id]);
    const chosen = [leader];
    while (chosen.length < replicationFactor) {
      const usedRacks = new Set(chosen.map((b) => b.rack));
      const used = new Set(chosen.map((b) => b.id));
      const next = minBy(
        sorted.filter((b) => !used.has(b.id)),
        // A rack not used yet first, then fewest replicas, then the broker after the leader in id order (rotation).
        (b) => [usedRacks.has(b.rack) && b.rack !== "" ? 1 : 0, get(load.replicas, b.id), (b.id - leader.id + 1e9) % 1e9],
      );
      chosen.push(next);
    }
    load.leaders.set(leader.id, get(load.leaders, leader.id) + 1);
    for (const b of chosen) load.replicas.set(b.id, get(load.replicas, b.id) + 1);
    out.push(chosen.map((b) => b.id));
  }
  return out;
}

function minBy<T>(items: readonly T[], key: (t: T) => number[]): T {
  let best = items[0] as T;
  let bestKey = key(best);
  for (let i = 1; i < items.length; i++) {
    const item = items[i] as T;
    const k = key(item);
    if (lexLess(k, bestKey)) {
      best = item;
      bestKey = k;
    }
  }
  return best;
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y;
  }
  return false;
}
