import { describe, expect, it } from "vitest";
import type { MetadataView } from "../../src/metadata/view.js";
import { GroupCode } from "../../src/group/codes.js";
import { GroupCoordinator, OFFSETS_TOPIC, type OffsetsLog } from "../../src/group/group_coordinator.js";
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from "../../src/group/consumer_group.js";
import { murmur2 } from "@brook/protocol";
import { offsetsPartitionFor } from "../../src/group/offsets_partition.js";
import { decodeOffsetsRecord, encodeOffsetsRecord } from "../../src/group/offsets_records.js";
import { groupMetadata, join, lead, MemoryOffsetsLog, OFFSETS_PARTITIONS } from "./support.js";

const N = OFFSETS_PARTITIONS;
const metadata = (): MetadataView => groupMetadata();

/** Member ids m1, m2, ... in join order; `config` overrides the defaults it names. */
function coordinator(log: OffsetsLog, now: { t: number }, config?: Partial<GroupConfig>): GroupCoordinator {
  let ids = 0;
  return new GroupCoordinator({
    nodeId: 1,
    log,
    metadata,
    clock: () => now.t,
    newMemberId: () => `m${++ids}`,
    ...(config !== undefined ? { config: { ...DEFAULT_GROUP_CONFIG, ...config } } : {}),
  });
}


describe("murmur2", () => {
  it("matches Kafka's test vectors", () => {
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [s, h] of cases) expect(murmur2(Buffer.from(s))).toBe(h);
  });
});

describe("offsets records", () => {
  it("round-trip and reject truncated bytes", () => {
    const rec = { kind: "offset" as const, group: "g", topic: "t", partition: 3, value: { offset: 42, leaderEpoch: 2, metadata: "m", commitTimestampMs: 9 } };
    expect(decodeOffsetsRecord(encodeOffsetsRecord(rec))).toEqual(rec);
    const tomb = { kind: "group" as const, group: "g", value: null };
    expect(decodeOffsetsRecord(encodeOffsetsRecord(tomb))).toEqual(tomb);
    const raw = encodeOffsetsRecord(rec);
    expect(() => decodeOffsetsRecord({ key: raw.key.subarray(0, 4), value: raw.value })).toThrow(RangeError);
    expect(decodeOffsetsRecord({ key: Buffer.from([0, 9]), value: null })).toBeNull();
    const member = {
      kind: "member" as const,
      group: "g",
      memberId: "m-1",
      value: {
        instanceId: "i",
        rackId: "r",
        clientId: "c",
        clientHost: "h",
        memberEpoch: 7,
        previousMemberEpoch: 5,
        rebalanceTimeoutMs: 60_000,
        sessionTimeoutMs: 45_000,
        departed: false,
        regex: "",
        topicNames: ["a", "b"],
        assigned: ["a\u00000", "b\u00003"],
        pendingRevocation: ["a\u00001"],
        target: ["a\u00000", "b\u00003", "b\u00004"],
      },
    };
    expect(decodeOffsetsRecord(encodeOffsetsRecord(member))).toEqual(member);
    expect(decodeOffsetsRecord(encodeOffsetsRecord({ ...member, value: null }))).toEqual({ ...member, value: null });
    const group = { kind: "group" as const, group: "g", value: { groupEpoch: 9, assignor: "range", assignmentEpoch: 8 } };
    expect(decodeOffsetsRecord(encodeOffsetsRecord(group))).toEqual(group);
    const rawMember = encodeOffsetsRecord(member);
    expect(() => decodeOffsetsRecord({ key: rawMember.key, value: rawMember.value!.subarray(0, rawMember.value!.length - 3) })).toThrow(RangeError);
  });
});

describe("GroupCoordinator", () => {
  it("finds the coordinator as the leader of murmur2(groupId) % N", async () => {
    const c = coordinator(new MemoryOffsetsLog(), { t: 0 });
    expect(offsetsPartitionFor("g", N)).toBeGreaterThanOrEqual(0);
    expect(await c.findCoordinator({ groupId: "g" })).toEqual({ error: { code: 0, message: "" }, nodeId: 1, host: "127.0.0.1", port: 4600 });
    expect((await c.findCoordinator({ groupId: "" })).error?.code).toBe(GroupCode.INVALID_GROUP_ID);
  });

  it("answers NOT_COORDINATOR for partitions it does not lead", async () => {
    const c = coordinator(new MemoryOffsetsLog(), { t: 0 });
    expect((await c.consumerGroupHeartbeat(join("g"))).error?.code).toBe(GroupCode.NOT_COORDINATOR);
  });

  it("keeps committed offsets across a failover by replaying the log", async () => {
    const log = new MemoryOffsetsLog();
    const now = { t: 0 };
    const c1 = coordinator(log, now);
    await lead(c1);
    const hb = await c1.consumerGroupHeartbeat(join("g"));
    expect(hb.error?.code).toBe(0);
    expect(hb.assignment?.partitions[0]?.partitions.length).toBe(12);
    for (let i = 0; i < 5; i++) {
      const res = await c1.offsetCommit({
        groupId: "g",
        memberId: hb.memberId,
        memberEpoch: hb.memberEpoch,
        topics: [{ topic: "t", partitions: [{ partition: i, offset: 100 + i, leaderEpoch: 0, metadata: "" }] }],
      });
      expect(res.topics[0]?.partitions[0]?.errorCode).toBe(0);
    }
    // Leadership moves: a fresh coordinator over the same replicated log.
    c1.onLeadershipChange(OFFSETS_TOPIC, offsetsPartitionFor("g", N), false, 2);
    const c2 = coordinator(log, now);
    await lead(c2);
    const fetched = await c2.offsetFetch({ groupId: "g", topics: [{ topic: "t", partitions: [0, 4, 7] }] });
    expect(fetched.topics[0]?.partitions.map((p) => p.offset)).toEqual([100, 104, -1]);
    // The member was rebuilt from its records: its commit is accepted, one with a stale epoch is not.
    const kept = await c2.offsetCommit({
      groupId: "g",
      memberId: hb.memberId,
      memberEpoch: hb.memberEpoch,
      topics: [{ topic: "t", partitions: [{ partition: 0, offset: 101, leaderEpoch: 0, metadata: "" }] }],
    });
    expect(kept.error?.code).toBe(0);
    const zombie = await c2.offsetCommit({
      groupId: "g",
      memberId: hb.memberId,
      memberEpoch: hb.memberEpoch - 1,
      topics: [{ topic: "t", partitions: [{ partition: 0, offset: 1, leaderEpoch: 0, metadata: "" }] }],
    });
    expect(zombie.error?.code).toBe(GroupCode.STALE_MEMBER_EPOCH);
    // The group epoch does not go backwards.
    const rejoin = await c2.consumerGroupHeartbeat(join("g"));
    expect(rejoin.memberEpoch).toBeGreaterThan(hb.memberEpoch);
  });

  it("rejects commits of a member removed by session timeout", async () => {
    const now = { t: 0 };
    const c = coordinator(new MemoryOffsetsLog(), now);
    await lead(c);
    const a = await c.consumerGroupHeartbeat(join("g", 2_000));
    const b = await c.consumerGroupHeartbeat(join("g", 10_000));
    now.t = 3_000;
    await c.consumerGroupHeartbeat({ ...join("g", 10_000), memberId: b.memberId, memberEpoch: b.memberEpoch });
    c.expireMembers();
    const res = await c.offsetCommit({
      groupId: "g",
      memberId: a.memberId,
      memberEpoch: a.memberEpoch,
      topics: [{ topic: "t", partitions: [{ partition: 0, offset: 1, leaderEpoch: 0, metadata: "" }] }],
    });
    expect(res.error?.code).toBe(GroupCode.UNKNOWN_MEMBER_ID);
    const described = await c.describeGroups({ groupIds: ["g"] });
    expect(described.groups[0]?.members.map((m) => m.memberId)).toEqual([b.memberId]);
  });

  it("answers commits per partition: unknown partitions and a failed write", async () => {
    const log = new MemoryOffsetsLog();
    const c = coordinator(log, { t: 0 });
    await lead(c);
    const res = await c.offsetCommit({
      groupId: "solo",
      memberId: "",
      memberEpoch: -1,
      topics: [{ topic: "t", partitions: [{ partition: 0, offset: 5, leaderEpoch: 0, metadata: "" }, { partition: 99, offset: 5, leaderEpoch: 0, metadata: "" }] }],
    });
    expect(res.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([0, GroupCode.UNKNOWN_TOPIC_OR_PARTITION]);
    log.failAppends = true;
    const failed = await c.offsetCommit({
      groupId: "solo",
      memberId: "",
      memberEpoch: -1,
      topics: [{ topic: "t", partitions: [{ partition: 0, offset: 6, leaderEpoch: 0, metadata: "" }] }],
    });
    expect(failed.error?.code).toBe(GroupCode.NOT_COORDINATOR);
    const fetched = await c.offsetFetch({ groupId: "solo", topics: [] });
    expect(fetched.topics[0]?.partitions[0]?.offset).toBe(5); // unacknowledged write not applied
  });

  it("deletes only empty groups, and the deletion survives replay", async () => {
    const log = new MemoryOffsetsLog();
    const c = coordinator(log, { t: 0 });
    await lead(c);
    await c.offsetCommit({ groupId: "old", memberId: "", memberEpoch: -1, topics: [{ topic: "t", partitions: [{ partition: 1, offset: 3, leaderEpoch: 0, metadata: "" }] }] });
    const m = await c.consumerGroupHeartbeat(join("busy"));
    expect(m.error?.code).toBe(0);
    const res = await c.deleteGroups({ groupIds: ["old", "busy", "nope"] });
    expect(res.groups.map((g) => g.error?.code)).toEqual([0, GroupCode.NON_EMPTY_GROUP, GroupCode.GROUP_ID_NOT_FOUND]);
    const c2 = coordinator(log, { t: 0 });
    await lead(c2);
    const listed = await c2.listGroups({});
    expect(listed.groups.map((g) => g.groupId)).toEqual(["busy"]);
  });

  it("holds a heartbeat with nothing new and answers it as soon as the group changes for its member", async () => {
    const now = { t: 0 };
    // A hold far longer than the test's timeout: only a wake-up can answer in time.
    const c = coordinator(new MemoryOffsetsLog(), now, { heartbeatHoldMs: 600_000 });
    await lead(c);
    const a = await c.consumerGroupHeartbeat(join("g"));
    expect(a.assignment?.partitions[0]?.partitions.length).toBe(12);
    expect(a.heartbeatIntervalMs).toBe(0);
    const owned = [{ topic: "t", partitions: a.assignment!.partitions[0]!.partitions }];
    // Nothing new for a: held.
    let answered = false;
    const held = c.consumerGroupHeartbeat({ ...join("g"), memberId: a.memberId, memberEpoch: a.memberEpoch, ownedPartitions: owned }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    // b joins: a's held heartbeat is answered at once with the partitions a keeps (6 revoked).
    const b = await c.consumerGroupHeartbeat(join("g"));
    expect(b.assignment?.partitions ?? []).toEqual([]); // all 12 still owned by a
    const revoke = await held;
    expect(revoke.error?.code).toBe(0);
    const kept = revoke.assignment!.partitions[0]!.partitions;
    expect(kept.length).toBe(6);
    // b waits, held; a reports the revocation done; b's heartbeat is answered with the 6.
    const bHeld = c.consumerGroupHeartbeat({ ...join("g"), memberId: b.memberId, memberEpoch: b.memberEpoch });
    await new Promise((r) => setTimeout(r, 20));
    const aDone = c.consumerGroupHeartbeat({ ...join("g"), memberId: a.memberId, memberEpoch: revoke.memberEpoch, ownedPartitions: [{ topic: "t", partitions: kept }] });
    const granted = await bHeld;
    expect(granted.assignment?.partitions[0]?.partitions.length).toBe(6);
    expect(granted.assignment!.partitions[0]!.partitions.some((p) => kept.includes(p))).toBe(false);
    const aNow = await aDone;
    expect(aNow.error?.code).toBe(0);
    // Losing leadership answers held heartbeats with NOT_COORDINATOR.
    const aHeld = c.consumerGroupHeartbeat({ ...join("g"), memberId: a.memberId, memberEpoch: aNow.memberEpoch, ownedPartitions: [{ topic: "t", partitions: kept }] });
    await new Promise((r) => setTimeout(r, 20));
    c.onLeadershipChange(OFFSETS_TOPIC, offsetsPartitionFor("g", N), false, 2);
    expect((await aHeld).error?.code).toBe(GroupCode.NOT_COORDINATOR);
  });

  it("rebuilds members, epochs and assignments after a failover: members keep their partitions without a rebalance", async () => {
    const log = new MemoryOffsetsLog();
    const now = { t: 0 };
    let ids = 0;
    const make = () =>
      new GroupCoordinator({ nodeId: 1, log, metadata, clock: () => now.t, newMemberId: () => `m${++ids}`, config: { ...DEFAULT_GROUP_CONFIG, heartbeatHoldMs: 0 } });
    const c1 = make();
    await lead(c1);
    // Three members converge on 4 partitions each (revocations reported as they come).
    const members = new Map<string, { epoch: number; owned: number[] }>();
    for (let i = 0; i < 3; i++) {
      const r = await c1.consumerGroupHeartbeat(join("g", 10_000));
      members.set(r.memberId, { epoch: r.memberEpoch, owned: r.assignment?.partitions[0]?.partitions ?? [] });
    }
    for (let round = 0; round < 6; round++) {
      for (const [memberId, m] of members) {
        const r = await c1.consumerGroupHeartbeat({ ...join("g", 10_000), memberId, memberEpoch: m.epoch, ownedPartitions: [{ topic: "t", partitions: m.owned }] });
        expect(r.error?.code).toBe(0);
        m.epoch = r.memberEpoch;
        if (r.assignment !== undefined) m.owned = r.assignment.partitions[0]?.partitions ?? [];
      }
    }
    expect([...members.values()].map((m) => m.owned.length)).toEqual([4, 4, 4]);
    // A fourth member joined and left again: it must not come back.
    const gone = await c1.consumerGroupHeartbeat(join("g", 10_000));
    await c1.consumerGroupHeartbeat({ ...join("g", 10_000), memberId: gone.memberId, memberEpoch: -1 });
    for (let round = 0; round < 6; round++) {
      for (const [memberId, m] of members) {
        const r = await c1.consumerGroupHeartbeat({ ...join("g", 10_000), memberId, memberEpoch: m.epoch, ownedPartitions: [{ topic: "t", partitions: m.owned }] });
        m.epoch = r.memberEpoch;
        if (r.assignment !== undefined) m.owned = r.assignment.partitions[0]?.partitions ?? [];
      }
    }
    expect((await c1.describeGroups({ groupIds: ["g"] })).groups[0]!.state).toBe("Stable");
    const before = (await c1.describeGroups({ groupIds: ["g"] })).groups[0]!;
    await new Promise((r) => setImmediate(r)); // the membership writes are behind the answers
    // Failover: a fresh coordinator over the same replicated log, 5 s later.
    c1.onLeadershipChange(OFFSETS_TOPIC, offsetsPartitionFor("g", N), false, 2);
    now.t += 5_000;
    const c2 = make();
    await lead(c2);
    const rebuilt = (await c2.describeGroups({ groupIds: ["g"] })).groups[0]!;
    expect(rebuilt.members.map((m) => [m.memberId, m.memberEpoch, m.assignment]).sort()).toEqual(before.members.map((m) => [m.memberId, m.memberEpoch, m.assignment]).sort());
    expect(rebuilt.members.map((m) => m.memberId)).not.toContain(gone.memberId);
    expect(rebuilt.groupEpoch).toBe(before.groupEpoch);
    // Each member heartbeats with what it had: accepted, same epoch, same partitions, nothing to revoke.
    for (const [memberId, m] of members) {
      const r = await c2.consumerGroupHeartbeat({ ...join("g", 10_000), memberId, memberEpoch: m.epoch, ownedPartitions: [{ topic: "t", partitions: m.owned }] });
      expect(r.error?.code).toBe(0);
      expect(r.memberEpoch).toBe(m.epoch);
      if (r.assignment !== undefined) expect(r.assignment.partitions[0]?.partitions).toEqual(m.owned);
    }
    expect((await c2.describeGroups({ groupIds: ["g"] })).groups[0]!.groupEpoch).toBe(before.groupEpoch);
    // Members that never come back are removed a session timeout after the load.
    now.t += 10_001;
    c2.expireMembers();
    expect((await c2.describeGroups({ groupIds: ["g"] })).groups[0]!.members).toEqual([]);
  });

  it("does not extend the session of a member whose heartbeat is held (it may have died meanwhile)", async () => {
    const now = { t: 0 };
    const c = coordinator(new MemoryOffsetsLog(), now, { heartbeatHoldMs: 600_000 });
    await lead(c);
    const a = await c.consumerGroupHeartbeat(join("g", 2_000));
    const owned = [{ topic: "t", partitions: a.assignment!.partitions[0]!.partitions }];
    const held = c.consumerGroupHeartbeat({ ...join("g", 2_000), memberId: a.memberId, memberEpoch: a.memberEpoch, ownedPartitions: owned });
    now.t = 3_000; // past a's session, counted from its held heartbeat's arrival
    const b = await c.consumerGroupHeartbeat(join("g", 10_000)); // wakes and re-evaluates a's heartbeat
    await held;
    c.expireMembers();
    const members = (await c.describeGroups({ groupIds: ["g"] })).groups[0]!.members.map((m) => m.memberId);
    expect(members).toEqual([b.memberId]);
  });

  it("loads a partition that holds a record no coordinator wrote, skipping it", async () => {
    const log = new MemoryOffsetsLog();
    const now = { t: 0 };
    const c1 = coordinator(log, now);
    await lead(c1);
    await c1.offsetCommit({ groupId: "g", memberId: "", memberEpoch: -1, topics: [{ topic: "t", partitions: [{ partition: 2, offset: 9, leaderEpoch: 0, metadata: "" }] }] });
    const p = offsetsPartitionFor("g", N);
    log.partitions.get(p)!.unshift({ key: Buffer.from([0, 1, 0]), value: Buffer.from("garbage") }); // truncated key v1
    const errors: string[] = [];
    let ids = 0;
    const c2 = new GroupCoordinator({ nodeId: 1, log, metadata, clock: () => now.t, newMemberId: () => `m${++ids}`, onError: (_e, what) => errors.push(what) });
    await lead(c2);
    await new Promise((r) => setTimeout(r, 10));
    const fetched = await c2.offsetFetch({ groupId: "g", topics: [{ topic: "t", partitions: [2] }] });
    expect(fetched.error?.code).toBe(0);
    expect(fetched.topics[0]?.partitions[0]?.offset).toBe(9);
    expect(errors.some((w) => /undecodable/.test(w))).toBe(true);
  });
});
