// Leader election and ISR changes as PartitionChangeRecords: what happens to partitions when
// a broker is fenced or shuts down (leaders move to another live ISR member, the leader epoch
// is bumped on replay), when a broker comes back (leaderless partitions get a leader), and
// preferred-leader rebalancing. Never elects outside the ISR unless unclean election is
// enabled for the topic. Pure: reads an image, returns records.
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { idBytes, LEADER_NONE, LEADER_UNCHANGED } from "../image/delta.js";
import { topicConfigs, type MetadataImage, type PartitionState, type TopicImage } from "../image/image.js";
import { partitionChange } from "../image/records.js";
import { isUncleanAllowed } from "./topic_configs.js";

export type IsActive = (brokerId: number) => boolean;

export interface Election {
  readonly leader: number;
  readonly isr: readonly number[];
  readonly unclean: boolean;
}

/**
 * A leader for `p` among active brokers: the first ISR member in replica order (so the
 * preferred replica wins when it can), else, if `unclean`, the first active replica (its ISR
 * becomes just itself). undefined when no one can lead.
 */
export function electLeader(p: PartitionState, active: IsActive, unclean: boolean): Election | undefined {
  const isr = p.isr.filter(active);
  for (const r of p.replicas) if (isr.includes(r)) return { leader: r, isr, unclean: false };
  if (unclean) for (const r of p.replicas) if (active(r)) return { leader: r, isr: [r], unclean: true };
  return undefined;
}

/**
 * Records that take `brokerId` out of every ISR and leadership (it is being fenced or shut
 * down). KIP-841: an ISR never becomes empty, so when the broker is the last ISR member it
 * stays there and the partition goes leaderless (offline) until it, or (unclean) another
 * replica, comes back.
 */
export function removeBrokerRecords(image: MetadataImage, brokerId: number, active: IsActive): MetadataRecord[] {
  const isActive: IsActive = (id) => id !== brokerId && active(id);
  const out: MetadataRecord[] = [];
  forEachPartition(image, (t, i, p) => {
    if (!p.isr.includes(brokerId) && p.leader !== brokerId) return;
    const shrunk = p.isr.filter((r) => r !== brokerId);
    const isr = shrunk.length === 0 ? p.isr : shrunk;
    let leader = p.leader;
    if (p.leader === brokerId || p.leader === LEADER_NONE) {
      const e = electLeader({ ...p, isr }, isActive, isUncleanAllowed(topicConfigs(image, t.name)));
      leader = e === undefined ? LEADER_NONE : e.leader;
      if (e !== undefined && e.unclean) {
        out.push(change(t, i, leader, e.isr, p));
        return;
      }
    }
    out.push(change(t, i, leader, isr, p));
  });
  return out;
}

/** Records that give a leader to leaderless partitions now that `active` holds (after an unfence). */
export function electLeaderlessRecords(image: MetadataImage, active: IsActive, onlyWithBroker?: number): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  forEachPartition(image, (t, i, p) => {
    if (p.leader !== LEADER_NONE) return;
    if (onlyWithBroker !== undefined && !p.replicas.includes(onlyWithBroker)) return;
    const e = electLeader(p, active, isUncleanAllowed(topicConfigs(image, t.name)));
    if (e !== undefined) out.push(change(t, i, e.leader, e.isr, p));
  });
  return out;
}

/** Moves leadership back to the preferred (first) replica where it is active and in the ISR. */
export function preferredLeaderRecords(image: MetadataImage, active: IsActive): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  forEachPartition(image, (t, i, p) => {
    const preferred = p.replicas[0];
    if (preferred === undefined || p.leader === preferred) return;
    if (p.isr.includes(preferred) && active(preferred)) out.push(change(t, i, preferred, p.isr, p));
  });
  return out;
}

export function change(t: TopicImage, partition: number, leader: number, isr: readonly number[], p: PartitionState): MetadataRecord {
  const isrChanged = isr.length !== p.isr.length || isr.some((r, k) => r !== p.isr[k]);
  return partitionChange({
    topicId: idBytes(t.id),
    partition,
    leader: leader === p.leader ? LEADER_UNCHANGED : leader,
    hasIsr: isrChanged,
    isr: isrChanged ? [...isr] : [],
  });
}

export function forEachPartition(image: MetadataImage, f: (t: TopicImage, partition: number, p: PartitionState) => void): void {
  for (const t of image.topics.byId.values()) for (const [i, p] of t.partitions) f(t, i, p);
}
