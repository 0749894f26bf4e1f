import { describe, expect, it } from "vitest";
import { LeaderState } from "../../src/replica/leader_state.js";

const base = (over: Partial<ConstructorParameters<typeof LeaderState>[0]> = {}) =>
  new LeaderState({
    localId: 1,
    leaderEpoch: 3,
    partitionEpoch: 7,
    isr: [1, 2, 3],
    replicas: [1, 2, 3],
    epochStartOffset: 10,
    highWatermark: 10,
    nowMs: 1_000,
    ...over,
  });

describe("LeaderState high watermark", () => {
  it("is the minimum end offset over the ISR, counting the leader's durable end", () => {
    const s = base();
    s.updateFollower(2, 15, 20, 1_100);
    expect(s.maybeAdvanceHighWatermark(20)).toBe(false); // replica 3 has not fetched: HW held
    s.updateFollower(3, 18, 20, 1_100);
    expect(s.maybeAdvanceHighWatermark(20)).toBe(true);
    expect(s.highWatermark).toBe(15);
    s.updateFollower(2, 20, 20, 1_200);
    s.maybeAdvanceHighWatermark(17); // leader has only fsynced up to 17
    expect(s.highWatermark).toBe(17);
  });

  it("never moves backwards when a follower reports a smaller offset", () => {
    const s = base();
    s.updateFollower(2, 20, 20, 1_100);
    s.updateFollower(3, 20, 20, 1_100);
    s.maybeAdvanceHighWatermark(20);
    s.updateFollower(3, 12, 20, 1_200);
    expect(s.maybeAdvanceHighWatermark(20)).toBe(false);
    expect(s.highWatermark).toBe(20);
  });

  it("ignores replicas outside the ISR", () => {
    const s = base({ isr: [1, 2] });
    s.updateFollower(2, 20, 20, 1_100);
    s.maybeAdvanceHighWatermark(20);
    expect(s.highWatermark).toBe(20);
  });

  it("rejects fetches from a replica that is not assigned", () => {
    expect(base().updateFollower(9, 20, 20, 1_100)).toBe(false);
  });
});

describe("LeaderState ISR changes", () => {
  it("proposes to drop a follower that has not caught up within the lag limit", () => {
    const s = base();
    s.updateFollower(2, 20, 20, 1_500); // caught up
    s.updateFollower(3, 12, 20, 1_500); // behind
    expect(s.nextIsrProposal(1_900, 1_000)).toBeNull(); // 3 still within its grace from election
    expect(s.nextIsrProposal(2_100, 1_000)).toEqual([1, 2]);
  });

  it("counts a follower as caught up when it reached the leader end seen at its previous fetch", () => {
    const s = base();
    s.updateFollower(3, 12, 20, 1_500);
    s.updateFollower(3, 20, 25, 2_400); // reached 20 = leader end at the fetch of 1_500
    expect(s.follower(3)?.lastCaughtUpTimeMs).toBe(1_500);
    s.updateFollower(2, 25, 25, 2_400);
    expect(s.laggingIsrMembers(2_400, 1_000)).toEqual([]);
    expect(s.laggingIsrMembers(2_600, 1_000)).toEqual([3]);
  });

  it("keeps counting a member whose removal is in flight (maximal ISR)", () => {
    const s = base();
    s.updateFollower(2, 20, 20, 1_100);
    s.updateFollower(3, 12, 20, 1_100);
    s.pendingIsr = { isr: [1, 2] };
    s.maybeAdvanceHighWatermark(20);
    expect(s.highWatermark).toBe(12);
    expect(s.nextIsrProposal(99_000, 1_000)).toBeNull(); // one change at a time
    s.applyCommittedIsr([1, 2], 8, [1, 2, 3], 2_000);
    s.maybeAdvanceHighWatermark(20);
    expect(s.highWatermark).toBe(20);
  });

  it("lets a follower rejoin once it reaches both the HW and the epoch start offset", () => {
    const s = base({ isr: [1, 2], highWatermark: 30 });
    s.updateFollower(3, 29, 40, 1_100);
    expect(s.nextIsrProposal(1_100, 1_000)).toBeNull();
    s.updateFollower(2, 40, 40, 1_100);
    s.maybeAdvanceHighWatermark(40);
    s.updateFollower(3, 40, 40, 1_200);
    expect(s.nextIsrProposal(1_200, 1_000)).toEqual([1, 2, 3]);
  });

  it("ignores a stale committed ISR", () => {
    const s = base();
    s.applyCommittedIsr([1], 5, [], 1_000);
    expect(s.isr).toEqual([1, 2, 3]);
    expect(s.partitionEpoch).toBe(7);
  });
});

describe("LeaderState ISR eligibility", () => {
  it("does not propose a caught-up replica the metadata shows fenced (KIP-841)", () => {
    const s = base({ isr: [1, 2], highWatermark: 30 });
    s.updateFollower(2, 40, 40, 1_100);
    s.updateFollower(3, 40, 40, 1_100);
    s.maybeAdvanceHighWatermark(40);
    expect(s.nextIsrProposal(1_100, 1_000, (id) => id !== 3)).toBeNull();
    expect(s.nextIsrProposal(1_100, 1_000, () => true)).toEqual([1, 2, 3]);
  });
});
