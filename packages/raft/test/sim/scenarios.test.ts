// Named scenarios on the same simulator as the swarm: scripted faults on a quiet network, with
// the SafetyChecker watching every step and a final heal-and-liveness settle().
import { describe, expect, it } from "vitest";
import { SimCluster } from "../../src/sim/cluster.js";
import { QUIET } from "../../src/sim/swarm.js";
import { StateRole, type NodeId } from "../../src/core/types.js";

const BOUND = 5000; // units (~500 ticks): generous liveness bound for each step of a scenario

function electLeader(c: SimCluster, not: readonly NodeId[] = []): NodeId {
  c.runUntil(() => {
    const l = c.leader();
    return l !== undefined && !not.includes(l.id);
  }, BOUND, "a leader election");
  return c.leader()!.id;
}

function commit(c: SimCluster, value: string): { index: number; term: number } {
  let pos: { index: number; term: number } | undefined;
  c.runUntil(() => {
    const l = c.leader();
    if (pos === undefined && l !== undefined) pos = c.proposeOn(l.id, value);
    return pos !== undefined && c.checker.isAcked(pos.index);
  }, BOUND, `commit of ${value}`);
  return pos!;
}

describe("scenarios", () => {
  it("leader crash with an unsynced tail: the tail is lost, never acknowledged, and the cluster moves on", () => {
    const c = new SimCluster(11, 3, QUIET);
    const l1 = electLeader(c);
    const before = commit(c, "before");
    c.crashBeforeSync.add(l1);
    // Cut the leader off first: its App for the tail would otherwise leave before its own save.
    c.isolate(l1);
    const tail = c.proposeOn(l1, "tail")!;
    expect(tail).toBeDefined();
    c.runUnits(1); // the leader writes the tail, then loses power before fsync
    expect(c.node(l1).raw).toBeUndefined();
    expect(c.node(l1).disk.synced.lastIndex()).toBe(tail.index - 1);
    c.reconnect();
    const l2 = electLeader(c, [l1]);
    expect(l2).not.toBe(l1);
    const after = commit(c, "after");
    c.restartNode(l1);
    c.runUntil(() => c.allApplied(after.index), BOUND, "the old leader catching up");
    expect(c.checker.ackedKeyAt(tail.index) ?? "").not.toMatch(/tail$/);
    expect(c.checker.appliedKeyAt(tail.index)).not.toMatch(/tail$/);
    expect(c.checker.appliedKeyAt(before.index)).toMatch(/before$/);
    c.settle();
  });

  it("a leader's App leaves before its own save: the tail survives the leader's crash on the followers, unacknowledged", () => {
    const c = new SimCluster(15, 3, { ...QUIET, ioDelayMax: 0 });
    const l1 = electLeader(c);
    commit(c, "before");
    c.crashBeforeSync.add(l1);
    const tail = c.proposeOn(l1, "tail")!;
    c.runUnits(1); // the App goes out, then the leader loses power before its fsync
    expect(c.node(l1).raw).toBeUndefined();
    expect(c.node(l1).disk.synced.lastIndex()).toBe(tail.index - 1);
    electLeader(c, [l1]);
    // The followers hold the tail durably, so the next leader commits it with its own first entry.
    c.runUntil(() => c.checker.appliedKeyAt(tail.index) !== undefined, BOUND, "the tail being applied");
    expect(c.checker.appliedKeyAt(tail.index)).toMatch(/tail$/);
    expect(c.checker.isAcked(tail.index)).toBe(false); // its proposer died with the old leader
    c.restartNode(l1);
    c.settle();
  });

  it("a partitioned old leader keeps accepting proposals, steps down, and none of them survive", () => {
    const c = new SimCluster(12, 5, QUIET);
    const old = electLeader(c);
    const kept = commit(c, "kept");
    c.isolate(old);
    const stale: { index: number; term: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const p = c.proposeOn(old, `stale-${i}`);
      if (p !== undefined) stale.push(p);
      c.runUnits(3);
    }
    expect(stale.length).toBeGreaterThan(0); // it still believed it was leader
    const fresh = electLeader(c, [old]);
    expect(c.node(fresh).raw!.status().term).toBeGreaterThan(stale[0]!.term);
    // Check-quorum: without a majority the old leader steps down on its own (Raft thesis §6.2).
    c.runUntil(() => c.node(old).raw!.status().role !== StateRole.Leader, BOUND, "the old leader stepping down");
    let newer: { index: number; term: number } | undefined;
    c.runUntil(() => {
      newer ??= c.proposeOn(fresh, "newer");
      return newer !== undefined && c.checker.isAcked(newer.index);
    }, BOUND, "a commit by the new leader");
    c.reconnect();
    c.runUntil(() => c.allApplied(newer!.index), BOUND, "the old leader catching up");
    for (const p of stale) {
      expect(c.checker.ackedKeyAt(p.index) ?? "").not.toMatch(/stale/);
      expect(c.checker.appliedKeyAt(p.index) ?? "").not.toMatch(/stale/);
    }
    expect(c.checker.appliedKeyAt(kept.index)).toMatch(/kept$/);
    c.settle();
  });

  it("a node that fell behind a compacted log is restored from a snapshot", () => {
    const c = new SimCluster(13, 3, { ...QUIET, snapshotEvery: 5, snapshotRetain: 0 });
    const leader = electLeader(c);
    const follower = leader === 1 ? 2 : 1;
    c.crashNode(follower);
    let last = commit(c, "w0");
    for (let i = 1; i < 30; i++) last = commit(c, `w${i}`);
    const leaderStore = c.node(leader).disk.current;
    expect(leaderStore.firstIndex()).toBeGreaterThan(c.node(follower).disk.current.lastIndex() + 1);
    const sent = c.stats.snapshotsSent;
    c.restartNode(follower);
    c.runUntil(() => c.appliedOn(follower) >= last.index, BOUND, "the follower catching up");
    expect(c.stats.snapshotsSent).toBeGreaterThan(sent);
    expect(c.node(follower).disk.current.snapshot().meta.index).toBeGreaterThan(0);
    c.settle();
  });

  it("back-to-back leader failures lose nothing acknowledged", () => {
    const c = new SimCluster(14, 5, QUIET);
    const l1 = electLeader(c);
    const a = commit(c, "a");
    c.crashNode(l1);
    const l2 = electLeader(c, [l1]);
    c.crashNode(l2); // the second leader dies right after winning, before committing anything
    const l3 = electLeader(c, [l1, l2]);
    expect(new Set([l1, l2, l3]).size).toBe(3);
    const b = commit(c, "b");
    expect(c.checker.appliedKeyAt(a.index)).toMatch(/a$/);
    c.restartNode(l1);
    c.restartNode(l2);
    c.runUntil(() => c.allApplied(b.index), BOUND, "the crashed leaders catching up");
    c.settle();
  });
});
