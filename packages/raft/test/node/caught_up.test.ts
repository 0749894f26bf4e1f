// CaughtUpTracker: a member is caught up as of the newest leader sample its log reached, so a
// follower trailing by in-flight entries under load still reads as recently caught up, and a
// stopped one's time since catching up grows.
import { describe, expect, it } from "vitest";
import type { NodeId, PeerProgress } from "../../src/core/types.js";
import { CaughtUpTracker } from "../../src/node/caught_up.js";

const progress = (matches: Record<number, number>): ReadonlyMap<NodeId, PeerProgress> =>
  new Map(Object.entries(matches).map(([id, match]) => [Number(id), { match, observer: false, recentActive: true }]));

describe("CaughtUpTracker", () => {
  it("dates a catch-up at the newest sample the member's log reached", () => {
    const t = new CaughtUpTracker();
    t.sample(0, 10, progress({ 1: 10, 2: 10 }));
    t.sample(100, 20, progress({ 1: 20, 2: 15 })); // 2 trails the entries in flight
    t.sample(200, 30, progress({ 1: 30, 2: 25 })); // 2 has reached the index of t=100
    expect(t.msAgo(1, 200)).toBe(0);
    expect(t.msAgo(2, 200)).toBe(100);
    t.sample(300, 40, progress({ 1: 40, 2: 25 })); // 2 stopped
    t.sample(400, 50, progress({ 1: 50, 2: 25 }));
    expect(t.msAgo(2, 450)).toBe(350);
    expect(t.msAgo(3, 450)).toBe(-1); // never seen
  });

  it("keeps a catch-up time older than its samples, and forgets everything on reset", () => {
    const t = new CaughtUpTracker();
    t.sample(0, 5, progress({ 2: 5 }));
    for (let i = 1; i <= 100; i++) t.sample(i * 100, 5 + i, progress({ 2: 5 }));
    expect(t.msAgo(2, 10_000)).toBe(10_000);
    t.reset();
    expect(t.msAgo(2, 10_000)).toBe(-1);
  });
});
