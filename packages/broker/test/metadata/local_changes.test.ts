import { describe, expect, it } from "vitest";
import { localChanges } from "../../src/metadata/local_changes.js";
import type { MetadataView, PartitionView, TopicView } from "../../src/metadata/view.js";

function view(topics: { name: string; id: string; parts: Omit<PartitionView, "topic" | "topicId">[] }[]): MetadataView {
  const map = new Map<string, TopicView>();
  for (const t of topics) {
    const partitions = new Map(t.parts.map((p) => [p.partition, { ...p, topic: t.name, topicId: t.id }]));
    map.set(t.name, { name: t.name, topicId: t.id, partitions, configs: new Map() });
  }
  return { offset: 1, clusterId: "c", brokers: new Map(), topics: map };
}
const p = (partition: number, leader: number, leaderEpoch: number, partitionEpoch = leaderEpoch, replicas = [1, 2, 3]) => ({
  partition,
  leader,
  leaderEpoch,
  partitionEpoch,
  replicas,
  isr: replicas,
});

describe("localChanges", () => {
  it("a new topic makes this broker leader of some partitions and follower of others", () => {
    const next = view([{ name: "t", id: "a", parts: [p(0, 1, 0), p(1, 2, 0), p(2, 3, 0, 0, [2, 3])] }]);
    const c = localChanges(view([]), next, 1);
    expect(c.leaders.map((x) => x.partition)).toEqual([0]);
    expect(c.followers.map((x) => x.partition)).toEqual([1]);
    expect(c.deletes).toEqual([]);
  });

  it("a leader change with a new epoch turns the old leader into a follower and the new one into leader", () => {
    const prev = view([{ name: "t", id: "a", parts: [p(0, 1, 4)] }]);
    const next = view([{ name: "t", id: "a", parts: [p(0, 2, 5)] }]);
    expect(localChanges(prev, next, 1).followers.map((x) => x.leader)).toEqual([2]);
    expect(localChanges(prev, next, 2).leaders.map((x) => x.leaderEpoch)).toEqual([5]);
    // A follower that keeps following still restarts under the new epoch (truncation check).
    expect(localChanges(prev, next, 3).followers.map((x) => x.leaderEpoch)).toEqual([5]);
  });

  it("an ISR change under the same leader epoch is a leader update, and nothing for followers", () => {
    const prev = view([{ name: "t", id: "a", parts: [p(0, 1, 4, 4)] }]);
    const next = view([{ name: "t", id: "a", parts: [p(0, 1, 4, 5)] }]);
    expect(localChanges(prev, next, 1).leaderUpdates).toHaveLength(1);
    expect(localChanges(prev, next, 1).leaders).toHaveLength(0);
    const f = localChanges(prev, next, 2);
    expect(f.followers.length + f.leaders.length + f.deletes.length).toBe(0);
  });

  it("a deleted topic, a reassigned-away replica and a re-created topic are deletes", () => {
    const prev = view([
      { name: "gone", id: "a", parts: [p(0, 1, 0)] },
      { name: "moved", id: "b", parts: [p(0, 2, 0)] },
      { name: "again", id: "c", parts: [p(0, 1, 3)] },
    ]);
    const next = view([
      { name: "moved", id: "b", parts: [p(0, 2, 1, 1, [2, 3])] },
      { name: "again", id: "d", parts: [p(0, 1, 0)] },
    ]);
    const c = localChanges(prev, next, 1);
    expect(c.deletes.map((d) => `${d.topic}/${d.topicId}`).sort()).toEqual(["again/c", "gone/a", "moved/b"]);
    expect(c.leaders.map((x) => `${x.topic}/${x.topicId}`)).toEqual(["again/d"]);
  });
});
