import { describe, expect, it } from "vitest";
import { type TpKey } from "../../src/group/assignor.js";
import { GroupCode, GroupError } from "../../src/group/codes.js";
import { ConsumerGroup, type HeartbeatInput, type TopicsView } from "../../src/group/consumer_group.js";

const topics = (counts: Record<string, number>): TopicsView => ({
  topicNames: () => Object.keys(counts),
  topic: (name) => (name in counts ? { partitions: counts[name]! } : undefined),
});

/** A simulated client: remembers its id, epoch and owned partitions, revokes at once. */
class SimMember {
  memberId = "";
  epoch = 0;
  owned = new Set<TpKey>();
  /** Every partition this member stopped owning, in order (to observe pauses). */
  revokedLog: TpKey[] = [];
  constructor(
    readonly name: string,
    readonly instanceId = "",
    readonly subscription: string[] = ["t"],
    readonly sessionTimeoutMs = 10_000,
    readonly regex = "",
  ) {}
  input(overrides: Partial<HeartbeatInput> = {}): HeartbeatInput {
    return {
      memberId: this.memberId,
      memberEpoch: this.epoch,
      instanceId: this.instanceId,
      rackId: "",
      clientId: this.name,
      clientHost: "127.0.0.1",
      sessionTimeoutMs: this.sessionTimeoutMs,
      rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: this.subscription,
      subscribedTopicRegex: this.regex,
      serverAssignor: "",
      ownedPartitions: [...this.owned],
      ...overrides,
    };
  }
  heartbeat(g: ConsumerGroup, now: number, view: TopicsView): void {
    const r = g.heartbeat(this.input(), now, view, () => `${this.name}-id`);
    this.memberId = r.memberId;
    this.epoch = r.memberEpoch;
    if (r.assignment !== null) {
      const next = new Set(r.assignment);
      for (const tp of this.owned) if (!next.has(tp)) this.revokedLog.push(tp);
      this.owned = next;
    }
  }
}

function assertExclusive(members: SimMember[]): void {
  const seen = new Map<TpKey, string>();
  for (const m of members) {
    for (const tp of m.owned) {
      expect(seen.get(tp), `${tp} owned by ${seen.get(tp)} and ${m.name}`).toBeUndefined();
      seen.set(tp, m.name);
    }
  }
}

/** Heartbeats every member in rounds until the group is stable, checking exclusivity each step. */
function converge(g: ConsumerGroup, members: SimMember[], view: TopicsView, now: number): number {
  for (let round = 0; round < 20; round++) {
    for (const m of members) {
      m.heartbeat(g, now, view);
      assertExclusive(members);
    }
    if (g.state === "Stable") return round;
  }
  throw new Error(`group did not converge: ${g.state}`);
}

describe("ConsumerGroup", () => {
  const view = topics({ t: 12 });

  it("gives 3 members on 12 partitions 4 each", () => {
    const g = new ConsumerGroup("g");
    const ms = [new SimMember("a"), new SimMember("b"), new SimMember("c")];
    converge(g, ms, view, 0);
    expect(ms.map((m) => m.owned.size)).toEqual([4, 4, 4]);
    expect(new Set(ms.flatMap((m) => [...m.owned])).size).toBe(12);
    expect(new Set(ms.map((m) => m.epoch)).size).toBe(1);
  });

  it("on join, revokes only the moved partitions before the new member gets them", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a");
    const b = new SimMember("b");
    converge(g, [a, b], view, 0);
    const before = { a: new Set(a.owned), b: new Set(b.owned) };
    a.revokedLog = [];
    b.revokedLog = [];
    const c = new SimMember("c");
    // c joins first: everything it should get is still owned, so it gets nothing yet.
    c.heartbeat(g, 1, view);
    expect(c.owned.size).toBe(0);
    expect(g.state).toBe("Reconciling");
    converge(g, [a, b, c], view, 2);
    expect([a, b, c].map((m) => m.owned.size)).toEqual([4, 4, 4]);
    // a and b kept 4 of their 6 and gave up exactly 2 each; nothing else paused.
    expect(a.revokedLog.length).toBe(2);
    expect(b.revokedLog.length).toBe(2);
    for (const tp of a.owned) expect(before.a.has(tp)).toBe(true);
    for (const tp of b.owned) expect(before.b.has(tp)).toBe(true);
    expect(new Set(c.owned)).toEqual(new Set([...a.revokedLog, ...b.revokedLog]));
  });

  it("removes a member past its session timeout and gives its partitions to the others", () => {
    const g = new ConsumerGroup("g");
    const ms = [new SimMember("a", "", ["t"], 5_000), new SimMember("b", "", ["t"], 5_000), new SimMember("c", "", ["t"], 5_000)];
    converge(g, ms, view, 0);
    const [a, b, c] = ms as [SimMember, SimMember, SimMember];
    // a and b keep heartbeating; c goes silent.
    a.heartbeat(g, 3_000, view);
    b.heartbeat(g, 3_000, view);
    expect(g.expire(4_000)).toEqual([]);
    expect(g.expire(5_001)).toEqual(["c-id"]);
    expect(g.memberCount).toBe(2);
    converge(g, [a, b], view, 5_100);
    expect([a.owned.size, b.owned.size]).toEqual([6, 6]);
    // The removed member is fenced: its heartbeat and its commits are rejected.
    expect(() => c.heartbeat(g, 5_200, view)).toThrow(expect.objectContaining({ code: GroupCode.UNKNOWN_MEMBER_ID }));
    expect(() => g.validateOffsetCommit(c.memberId, c.epoch)).toThrow(GroupError);
  });

  it("fences commits with a wrong epoch and accepts the current one", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a");
    converge(g, [a], view, 0);
    expect(() => g.validateOffsetCommit(a.memberId, a.epoch)).not.toThrow();
    expect(() => g.validateOffsetCommit(a.memberId, a.epoch + 1)).toThrow(expect.objectContaining({ code: GroupCode.FENCED_MEMBER_EPOCH }));
    expect(() => g.validateOffsetCommit(a.memberId, a.epoch - 1)).toThrow(expect.objectContaining({ code: GroupCode.STALE_MEMBER_EPOCH }));
    expect(() => g.validateOffsetCommit("", -1)).toThrow(expect.objectContaining({ code: GroupCode.UNKNOWN_MEMBER_ID }));
    expect(() => new ConsumerGroup("empty").validateOffsetCommit("", -1)).not.toThrow();
  });

  it("rejects a heartbeat from a zombie with an old epoch", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a");
    converge(g, [a], view, 0);
    const b = new SimMember("b");
    converge(g, [a, b], view, 1);
    expect(a.epoch).toBeGreaterThan(1);
    expect(() => g.heartbeat(a.input({ memberEpoch: a.epoch + 5 }), 2, view, () => "x")).toThrow(
      expect.objectContaining({ code: GroupCode.FENCED_MEMBER_EPOCH }),
    );
  });

  it("lets a static member rejoin with its partitions and no rebalance", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a", "inst-a");
    const b = new SimMember("b", "inst-b");
    converge(g, [a, b], view, 0);
    const epochBefore = g.groupEpoch;
    const owned = new Set(a.owned);
    // a shuts down temporarily (epoch -2), then a new process with the same instance id joins.
    g.heartbeat(a.input({ memberEpoch: -2 }), 10, view, () => "unused");
    const a2 = new SimMember("a2", "inst-a");
    a2.heartbeat(g, 20, view);
    expect(a2.owned).toEqual(owned);
    expect(g.groupEpoch).toBe(epochBefore);
    expect(b.revokedLog).toEqual([]);
    expect(g.state).toBe("Stable");
    // The old incarnation is fenced.
    expect(() => a.heartbeat(g, 30, view)).toThrow(expect.objectContaining({ code: GroupCode.UNKNOWN_MEMBER_ID }));
  });

  it("a dynamic member leaving with epoch -1 frees its partitions at once", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a");
    const b = new SimMember("b");
    converge(g, [a, b], view, 0);
    g.heartbeat(b.input({ memberEpoch: -1 }), 1, view, () => "x");
    converge(g, [a], view, 2);
    expect(a.owned.size).toBe(12);
  });

  it("reassigns when a subscribed topic gains partitions, and resolves regex subscriptions", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a");
    const r = new SimMember("r", "", [], 10_000, "or.*");
    r.heartbeat(g, 0, topics({ t: 2, orders: 2, __consumer_offsets: 50 }));
    expect([...r.owned]).toEqual(["orders\u00000", "orders\u00001"]);
    converge(g, [a, r], topics({ t: 2, orders: 2 }), 0);
    expect(a.owned.size).toBe(2);
    converge(g, [a, r], topics({ t: 4, orders: 2 }), 1);
    expect(a.owned.size).toBe(4);
    expect(r.owned.size).toBe(2);
  });

  it("rejects bad input with typed codes", () => {
    const g = new ConsumerGroup("g");
    const a = new SimMember("a");
    const bad = (o: Partial<HeartbeatInput>, code: number): void =>
      expect(() => g.heartbeat(a.input(o), 0, view, () => "id")).toThrow(expect.objectContaining({ code }));
    bad({ serverAssignor: "magic" }, GroupCode.UNSUPPORTED_ASSIGNOR);
    bad({ sessionTimeoutMs: 10 }, GroupCode.INVALID_SESSION_TIMEOUT);
    bad({ subscribedTopicRegex: "(" }, GroupCode.INVALID_REQUEST);
    bad({ memberId: "nobody", memberEpoch: 3 }, GroupCode.UNKNOWN_MEMBER_ID);
    expect(g.memberCount).toBe(0);
  });
});
