// Leader-epoch cache semantics and the KIP-101 / KIP-279 divergence scenarios, by name.
// Notation in comments: a log is a list of batches "offset:epoch".
import { describe, expect, it } from "vitest";
import { LeaderEpochCache, divergenceOffset } from "../../src/log/epoch_cache.js";

const cache = (...entries: Array<[number, number]>): LeaderEpochCache =>
  new LeaderEpochCache(entries.map(([epoch, startOffset]) => ({ epoch, startOffset })));

describe("LeaderEpochCache", () => {
  it("answers OffsetsForLeaderEpoch like Kafka's LeaderEpochFileCache", () => {
    const c = cache([1, 0], [3, 10], [4, 25]);
    expect(c.endOffsetFor(4, 40)).toEqual({ epoch: 4, endOffset: 40 }); // latest: log end
    expect(c.endOffsetFor(3, 40)).toEqual({ epoch: 3, endOffset: 25 });
    expect(c.endOffsetFor(2, 40)).toEqual({ epoch: 1, endOffset: 10 }); // largest epoch <= 2
    expect(c.endOffsetFor(0, 40)).toEqual({ epoch: 0, endOffset: 0 }); // older than all
    expect(c.endOffsetFor(5, 40)).toEqual({ epoch: -1, endOffset: -1 }); // newer than all: unknown
    expect(new LeaderEpochCache().endOffsetFor(1, 0)).toEqual({ epoch: -1, endOffset: -1 });
  });

  it("assigns only newer epochs and drops entries at or past the new start", () => {
    const c = cache([1, 0], [2, 10]);
    expect(c.assign(2, 15)).toBe(false);
    expect(c.assign(1, 20)).toBe(false);
    expect(c.assign(5, 8)).toBe(true);
    expect(c.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 5, startOffset: 8 },
    ]);
  });

  it("truncates from the end and from the start", () => {
    const c = cache([1, 0], [2, 10], [3, 20]);
    c.truncateFromEnd(20);
    expect(c.latestEpoch).toBe(2);
    c.truncateFromStart(12);
    expect(c.entries).toEqual([{ epoch: 2, startOffset: 12 }]);
  });
});

describe("divergence after a leader change (KIP-101 / KIP-279)", () => {
  it("KIP-101 scenario 1: a follower's unreplicated tail is cut at the leader's epoch end, not at its high watermark", () => {
    // Leader A wrote 0:1 1:1; follower B has 0:1 1:1 but its HW is 1 when it restarts. Pre-KIP-101
    // B truncated to HW=1 and could lose offset 1 if A then died. With epochs, B keeps both.
    const offset = divergenceOffset({
      leader: cache([1, 0]),
      leaderLogEndOffset: 2,
      follower: cache([1, 0]),
      followerLogEndOffset: 2,
      followerHighWatermark: 1,
    });
    expect(offset).toBe(2);
  });

  it("KIP-101 scenario 2: replicas diverge after both crash; the follower drops its own epoch-1 message at offset 1", () => {
    // A: 0:1 1:1(lost) -> after restart A has 0:1 only; B became leader in epoch 2 and wrote 1:2.
    // A as follower asks for epoch 1: leader B answers epoch 1 ends at 1, so A truncates to 1.
    const offset = divergenceOffset({
      leader: cache([1, 0], [2, 1]),
      leaderLogEndOffset: 2,
      follower: cache([1, 0]),
      followerLogEndOffset: 2,
      followerHighWatermark: 1,
    });
    expect(offset).toBe(1);
  });

  it("KIP-279: follower lacks the leader's epoch and needs a second round", () => {
    // Leader: 0..4 epoch 1, 5..9 epoch 2, then epoch 4 from 10. Follower: 0..4 epoch 1, then it led
    // epoch 3 alone writing 5..11. Leader answers for epoch 3 with (2, 10); the follower has no
    // epoch 2, so it cuts to its end of epoch 1 (5), then asks about epoch 1: (1, 5) -> 5.
    const offset = divergenceOffset({
      leader: cache([1, 0], [2, 5], [4, 10]),
      leaderLogEndOffset: 15,
      follower: cache([1, 0], [3, 5]),
      followerLogEndOffset: 12,
      followerHighWatermark: 5,
    });
    expect(offset).toBe(5);
  });

  it("KIP-279: the leader's epoch ended earlier than the follower's copy of it", () => {
    // Both have epoch 2 starting at 5; the follower wrote 5..12 in epoch 2 while the leader has
    // 5..9 of epoch 2 then epoch 3 from 10. Truncate to 10.
    const offset = divergenceOffset({
      leader: cache([1, 0], [2, 5], [3, 10]),
      leaderLogEndOffset: 20,
      follower: cache([1, 0], [2, 5]),
      followerLogEndOffset: 13,
      followerHighWatermark: 8,
    });
    expect(offset).toBe(10);
  });

  it("a follower that is simply behind keeps its whole log", () => {
    const offset = divergenceOffset({
      leader: cache([1, 0], [2, 5]),
      leaderLogEndOffset: 30,
      follower: cache([1, 0], [2, 5]),
      followerLogEndOffset: 12,
      followerHighWatermark: 12,
    });
    expect(offset).toBe(12);
  });

  it("without epochs on either side the high watermark is the bound (pre-KIP-101 behaviour)", () => {
    expect(
      divergenceOffset({
        leader: cache(),
        leaderLogEndOffset: 10,
        follower: cache(),
        followerLogEndOffset: 8,
        followerHighWatermark: 6,
      }),
    ).toBe(6);
  });
});
