// Server-side partition assignors for consumer groups (KIP-848). Pure: given the members'
// subscriptions, the subscribed topics' partitions and the current target assignment, they
// return the next target assignment. Both are sticky: a partition stays with its current
// owner whenever balance allows, so a membership change moves as few partitions as possible
// (only moved partitions pause). Rack-aware: when both the member and the partition's
// replicas declare racks, a same-rack member is preferred among equally loaded candidates.

/** "topic\u0000partition": compact, unambiguous key for a topic-partition. */
export type TpKey = string;
export const tpKey = (topic: string, partition: number): TpKey => `${topic}\u0000${partition}`;
export function parseTpKey(key: TpKey): { topic: string; partition: number } {
  const i = key.lastIndexOf("\u0000");
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

export interface AssignorMember {
  readonly memberId: string;
  readonly rackId: string; // "" = no rack
  /** Topic names the member is subscribed to, already resolved from names or regex. */
  readonly topics: ReadonlySet<string>;
}

export interface AssignorTopic {
  readonly partitions: number;
  /** Racks of each partition's replicas (index = partition); empty when unknown. */
  readonly partitionRacks?: readonly (readonly string[])[];
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[];
  readonly topics: ReadonlyMap<string, AssignorTopic>;
  /** The previous target assignment, memberId -> partitions; used for stickiness. */
  readonly current: ReadonlyMap<string, ReadonlySet<TpKey>>;
}

export type TargetAssignment = Map<string, Set<TpKey>>;

export interface Assignor {
  readonly name: string;
  assign(input: AssignorInput): TargetAssignment;
}

function rackMatches(member: AssignorMember, topic: AssignorTopic | undefined, partition: number): boolean {
  if (member.rackId === "" || topic?.partitionRacks === undefined) return false;
  return topic.partitionRacks[partition]?.includes(member.rackId) ?? false;
}

const byId = (a: AssignorMember, b: AssignorMember): number => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0);

/**
 * Uniform: every subscribed partition goes to one of its subscribers, and no partition can
 * move to an eligible member holding two or more fewer partitions than its owner (so members
 * with identical subscriptions differ by at most one). Sticky: members keep what they had,
 * unowned partitions go to the least loaded eligible member, then partitions move one at a
 * time from the most to the least loaded member only while that improves balance.
 * Deterministic: ties break by rack match, then member id.
 */
export const uniformAssignor: Assignor = {
  name: "uniform",
  assign(input) {
    const members = [...input.members].sort(byId);
    const byMember = new Map(members.map((m) => [m.memberId, m]));
    const result: TargetAssignment = new Map(members.map((m) => [m.memberId, new Set<TpKey>()]));
    const eligibleOf = new Map<TpKey, AssignorMember[]>();
    const topicNames = [...input.topics.keys()].sort();
    for (const topic of topicNames) {
      const eligible = members.filter((m) => m.topics.has(topic));
      if (eligible.length === 0) continue;
      const n = input.topics.get(topic)!.partitions;
      for (let p = 0; p < n; p++) eligibleOf.set(tpKey(topic, p), eligible);
    }
    // 1. Stickiness: keep what a member still may own.
    for (const [memberId, tps] of input.current) {
      const member = byMember.get(memberId);
      if (member === undefined) continue;
      for (const tp of tps) if (eligibleOf.get(tp)?.includes(member)) result.get(memberId)!.add(tp);
    }
    const owner = new Map<TpKey, string>();
    for (const [memberId, tps] of result) for (const tp of tps) owner.set(tp, memberId);
    const load = (m: AssignorMember): number => result.get(m.memberId)!.size;
    const preferred = (tp: TpKey, candidates: readonly AssignorMember[]): AssignorMember => {
      const { topic, partition } = parseTpKey(tp);
      const meta = input.topics.get(topic);
      let best = candidates[0]!;
      for (const m of candidates.slice(1)) {
        const d = load(m) - load(best);
        if (d < 0 || (d === 0 && rackMatches(m, meta, partition) && !rackMatches(best, meta, partition))) best = m;
      }
      return best;
    };
    // 2. Unowned partitions to the least loaded eligible member.
    for (const [tp, eligible] of eligibleOf) {
      if (owner.has(tp)) continue;
      const m = preferred(tp, eligible);
      result.get(m.memberId)!.add(tp);
      owner.set(tp, m.memberId);
    }
    // 3. Balance: move a partition from an owner to an eligible member with >= 2 fewer.
    // Each move lowers the sum of squared loads, so the loop terminates.
    for (let moved = true; moved; ) {
      moved = false;
      const heaviestFirst = [...members].sort((a, b) => load(b) - load(a) || byId(a, b));
      for (const heavy of heaviestFirst) {
        for (const tp of [...result.get(heavy.memberId)!].sort()) {
          const lighter = eligibleOf.get(tp)!.filter((m) => load(m) <= load(heavy) - 2);
          if (lighter.length === 0) continue;
          const to = preferred(tp, lighter);
          result.get(heavy.memberId)!.delete(tp);
          result.get(to.memberId)!.add(tp);
          owner.set(tp, to.memberId);
          moved = true;
          break;
        }
        if (moved) break;
      }
    }
    return result;
  },
};

/**
 * Range: per topic, the members subscribed to it (sorted by id) get contiguous ranges of
 * partitions, the first `partitions % members` one extra. Co-partitioned topics therefore
 * land together. Sticky only insofar as ranges are deterministic.
 */
export const rangeAssignor: Assignor = {
  name: "range",
  assign(input) {
    const members = [...input.members].sort(byId);
    const result: TargetAssignment = new Map(members.map((m) => [m.memberId, new Set<TpKey>()]));
    for (const [topic, meta] of input.topics) {
      const subs = members.filter((m) => m.topics.has(topic));
      if (subs.length === 0) continue;
      const per = Math.floor(meta.partitions / subs.length);
      const extra = meta.partitions % subs.length;
      let p = 0;
      subs.forEach((m, i) => {
        const n = per + (i < extra ? 1 : 0);
        for (let k = 0; k < n; k++, p++) result.get(m.memberId)!.add(tpKey(topic, p));
      });
    }
    return result;
  },
};

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
]);
