// Partitions added to a subscribed topic while the group's coordinator fails over: the new
// coordinator compares the topics with the digest the group was last assigned against (in
// its group-metadata record) and reassigns at the first heartbeat, instead of leaving the new
// partitions unconsumed until the group's next membership change. Pure logic over an
// in-memory stand-in for the __consumer_offsets partitions.
import { describe, expect, it } from "vitest";
import type { MetadataView } from "../../src/metadata/view.js";
import { GroupCoordinator, OFFSETS_TOPIC } from "../../src/group/group_coordinator.js";
import { DEFAULT_GROUP_CONFIG } from "../../src/group/consumer_group.js";
import { offsetsPartitionFor } from "../../src/group/offsets_partition.js";
import { decodeOffsetsRecord, encodeOffsetsRecord } from "../../src/group/offsets_records.js";
import { groupMetadata, join, lead, MemoryOffsetsLog, OFFSETS_PARTITIONS } from "./support.js";

const heartbeat = (memberId: string, memberEpoch: number, owned: number[]) => ({
  ...join("g", 10_000),
  memberId,
  memberEpoch,
  ownedPartitions: owned.length > 0 ? [{ topic: "t", partitions: owned }] : [],
});

/** Heartbeats every member `rounds` times, reporting what it owns; returns the owned sets. */
async function converge(c: GroupCoordinator, members: Map<string, { epoch: number; owned: number[] }>, rounds = 6): Promise<number[][]> {
  for (let round = 0; round < rounds; round++) {
    for (const [memberId, m] of members) {
      const r = await c.consumerGroupHeartbeat(heartbeat(memberId, m.epoch, m.owned));
      expect(r.error?.code).toBe(0);
      m.epoch = r.memberEpoch;
      if (r.assignment !== undefined) m.owned = [...(r.assignment.partitions[0]?.partitions ?? [])].sort((a, b) => a - b);
    }
  }
  return [...members.values()].map((m) => m.owned);
}

describe("coordinator failover while partitions are added", () => {
  async function groupOnSix(log: MemoryOffsetsLog, metadata: () => MetadataView) {
    let ids = 0;
    const now = { t: 0 };
    const make = () => new GroupCoordinator({ nodeId: 1, log, metadata, clock: () => now.t, newMemberId: () => `m${++ids}`, config: { ...DEFAULT_GROUP_CONFIG, heartbeatHoldMs: 0 } });
    const c1 = make();
    await lead(c1);
    const members = new Map<string, { epoch: number; owned: number[] }>();
    for (let i = 0; i < 2; i++) {
      const r = await c1.consumerGroupHeartbeat(heartbeat("", 0, []));
      members.set(r.memberId, { epoch: r.memberEpoch, owned: [] });
    }
    expect((await converge(c1, members)).flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    await new Promise((r) => setImmediate(r)); // membership writes trail the answers
    const epochBefore = (await c1.describeGroups({ groupIds: ["g"] })).groups[0]!.groupEpoch;
    expect(epochBefore).toBeGreaterThan(0);
    c1.onLeadershipChange(OFFSETS_TOPIC, offsetsPartitionFor("g", OFFSETS_PARTITIONS), false, 2);
    return { make, members, epochBefore };
  }

  it("assigns the new partitions at the new coordinator's first heartbeats", async () => {
    const log = new MemoryOffsetsLog();
    let partitions = 6;
    const { make, members, epochBefore } = await groupOnSix(log, () => groupMetadata(partitions));
    partitions = 8; // added while no coordinator was leading the group's partition
    const c2 = make();
    await lead(c2);
    const owned = await converge(c2, members);
    expect(owned.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(owned.map((o) => o.length)).toEqual([4, 4]);
    expect((await c2.describeGroups({ groupIds: ["g"] })).groups[0]!.groupEpoch).toBeGreaterThan(epochBefore);
  });

  it("keeps the epoch (no rebalance) when the topics did not change", async () => {
    const log = new MemoryOffsetsLog();
    const { make, members, epochBefore } = await groupOnSix(log, () => groupMetadata(6));
    const c2 = make();
    await lead(c2);
    const before = [...members.values()].map((m) => [...m.owned]);
    expect(await converge(c2, members)).toEqual(before);
    expect((await c2.describeGroups({ groupIds: ["g"] })).groups[0]!.groupEpoch).toBe(epochBefore);
  });

  it("reads group-metadata records of every value version", () => {
    const v2 = { kind: "group" as const, group: "g", value: { groupEpoch: 7, assignor: "uniform", assignmentEpoch: 7, subscriptionDigest: "abc-123" } };
    expect(decodeOffsetsRecord(encodeOffsetsRecord(v2))).toEqual(v2);
    const v1 = { kind: "group" as const, group: "g", value: { groupEpoch: 7, assignor: "range", assignmentEpoch: 6 } };
    expect(decodeOffsetsRecord(encodeOffsetsRecord(v1))).toEqual(v1);
    const raw = encodeOffsetsRecord(v2);
    raw.value!.writeInt16BE(3, 0);
    expect(() => decodeOffsetsRecord(raw)).toThrow(/unknown group-metadata value version/);
  });
});
