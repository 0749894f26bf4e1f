// What this broker must do when the metadata view moves from `prev` to `next` (Kafka's
// TopicDelta.localChanges): partitions it now leads, follows, whose ISR changed while it
// leads, and replicas to stop and delete. Pure; the replica manager acts on the result.
import type { MetadataView, PartitionView } from "./view.js";

export interface LocalChanges {
  /** Newly led, or led under a new leader epoch. */
  readonly leaders: PartitionView[];
  /** Newly followed, or followed under a new leader epoch (leader changed or re-elected). */
  readonly followers: PartitionView[];
  /** Still led under the same epoch, but ISR/replicas/partition epoch changed. */
  readonly leaderUpdates: PartitionView[];
  /** Replicas this broker no longer holds: stop serving and delete the log. */
  readonly deletes: { topic: string; topicId: string; partition: number }[];
}

export function localChanges(prev: MetadataView, next: MetadataView, localId: number): LocalChanges {
  const out: LocalChanges = { leaders: [], followers: [], leaderUpdates: [], deletes: [] };
  for (const [name, topic] of prev.topics) {
    const after = next.topics.get(name);
    for (const p of topic.partitions.values()) {
      if (!p.replicas.includes(localId)) continue;
      const still = after?.topicId === topic.topicId ? after.partitions.get(p.partition) : undefined;
      if (still === undefined || !still.replicas.includes(localId))
        out.deletes.push({ topic: name, topicId: topic.topicId, partition: p.partition });
    }
  }
  for (const [name, topic] of next.topics) {
    const before = prev.topics.get(name);
    const sameTopic = before?.topicId === topic.topicId;
    for (const p of topic.partitions.values()) {
      if (!p.replicas.includes(localId)) continue;
      const old = sameTopic ? before?.partitions.get(p.partition) : undefined;
      const isNewEpoch = old === undefined || old.leaderEpoch !== p.leaderEpoch || !old.replicas.includes(localId);
      if (p.leader === localId) {
        if (isNewEpoch || old.leader !== localId) out.leaders.push(p);
        else if (old.partitionEpoch !== p.partitionEpoch) out.leaderUpdates.push(p);
      } else if (isNewEpoch || old.leader !== p.leader) {
        out.followers.push(p);
      }
    }
  }
  return out;
}
