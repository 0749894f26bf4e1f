import { describe, expect, it } from "vitest";
import { truncationOffset } from "../../src/replica/truncation.js";

// Epoch caches as [epoch, startOffset] pairs; end of an epoch = start of the next (or LEO).
function endFor(cache: [number, number][], leo: number) {
  return (epoch: number): number => {
    let end = -1;
    for (let i = 0; i < cache.length; i++) {
      const [e] = cache[i]!;
      if (e <= epoch) end = i + 1 < cache.length ? cache[i + 1]![1] : leo;
    }
    return end;
  };
}

describe("truncationOffset (KIP-101 / KIP-279)", () => {
  it("KIP-101 scenario 1: follower ahead of the leader in the same epoch keeps only the leader's prefix", () => {
    // Leader and follower both in epoch 0; follower has 2 records the new leader never got.
    const own = endFor([[0, 0]], 2);
    expect(truncationOffset({ epoch: 0, endOffset: 1 }, own, 2, 1)).toBe(1);
  });

  it("KIP-101 scenario 2: divergent logs after two fast leader changes truncate to the leader's epoch end", () => {
    // Follower wrote offset 1 in epoch 0 that the leader replaced by its own in epoch 1.
    const own = endFor([[0, 0]], 2);
    expect(truncationOffset({ epoch: 0, endOffset: 1 }, own, 2, 0)).toBe(1);
  });

  it("KIP-279: leader's largest epoch below ours ends before our own end of that epoch", () => {
    // Follower: epoch 1 at 0, epoch 2 at 5, LEO 8. Leader never saw epoch 2; its epoch 1 ends at 6.
    const own = endFor([[1, 0], [2, 5]], 8);
    expect(truncationOffset({ epoch: 1, endOffset: 6 }, own, 8, 3)).toBe(5);
  });

  it("KIP-279: when the leader's epoch 1 ends earlier than ours, its end wins", () => {
    const own = endFor([[1, 0], [2, 5]], 8);
    expect(truncationOffset({ epoch: 1, endOffset: 4 }, own, 8, 3)).toBe(4);
  });

  it("no truncation when the follower is a prefix of the leader", () => {
    const own = endFor([[3, 0]], 10);
    expect(truncationOffset({ epoch: 3, endOffset: 50 }, own, 10, 10)).toBe(10);
  });

  it("falls back to the high watermark when the leader knows no epoch", () => {
    const own = endFor([[0, 0]], 9);
    expect(truncationOffset({ epoch: -1, endOffset: -1 }, own, 9, 4)).toBe(4);
  });
});
