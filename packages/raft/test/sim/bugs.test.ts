// The checker can fail: each test-only bug breaks one Raft rule, and the simulator must catch
// it within a bounded number of seeds (the bound is generous; the first hit is usually early).
// Each profile is a fault mix that makes that bug's bad schedule likely, as swarm testing would.
import { describe, expect, it } from "vitest";
import { runSeed } from "../../src/sim/cluster.js";
import type { SwarmOverrides } from "../../src/sim/swarm.js";
import type { TestingBugs } from "../../src/core/types.js";

interface Hunt {
  readonly bug: keyof TestingBugs;
  readonly voters: number;
  readonly profile: SwarmOverrides;
  readonly maxSeeds: number;
  readonly expect: RegExp;
}

// Leaders are cut off often while proposals pour in, so logs diverge across terms (Figure 8's
// setup), and a new leader re-replicates old-term entries one per message.
const LEADER_ISOLATION: SwarmOverrides = {
  crashRate: 0, crashMidReadyRate: 0, dropRate: 0.05, maxSizePerMsg: 1, maxInflightMsgs: 1, proposeRate: 0.5,
  partitionRate: 0.01, partitionKinds: ["isolateLeader"], snapshotEvery: 0, dupRate: 0, maxDelay: 8, garbageRate: 0, ioDelayMax: 0,
};

const ELECTIONS: SwarmOverrides = {
  crashRate: 0.01, crashLeaderBias: 0, downtimeMax: 150, crashMidReadyRate: 0.02, dropRate: 0.1, maxSizePerMsg: 1,
  maxInflightMsgs: 1, proposeRate: 0.3, partitionRate: 0.005, partitionKinds: ["isolate", "symmetric"], snapshotEvery: 0,
  garbageRate: 0, ioDelayMax: 0,
};

// Saves that take a while, so Readys pile up behind them and messages overtake them.
const SLOW_DISKS: SwarmOverrides = { ioDelayMax: 8, crashRate: 0.002, crashMidReadyRate: 0.01, proposeRate: 0.2 };

const HUNTS: Hunt[] = [
  // Forgetting the vote across a crash lets a node vote twice in one term: two leaders.
  { bug: "skipPersistVote", voters: 3, profile: ELECTIONS, maxSeeds: 300, expect: /two leaders in term|vote not durable/ },
  // Counting replicas of an old-term entry (Raft §5.4.2, Figure 8): a later leader overwrites it.
  { bug: "commitPreviousTermByCount", voters: 3, profile: LEADER_ISOLATION, maxSeeds: 400, expect: /leader \d+ of term \d+ (has term|ends at)|committed entry changed|state machine safety|acknowledged/ },
  // Voting without the up-to-date check: a leader missing committed entries.
  { bug: "voteWithoutLogCheck", voters: 5, profile: { ioDelayMax: 0 }, maxSeeds: 100, expect: /leader \d+ of term \d+ (has term|ends at)|committed entry changed|state machine safety/ },
  // Asynchronous storage writes (thesis §10.2.1): the leader's Apps leave before its own save,
  // so counting its own unsynced copy lets a commit rest on fewer durable copies than a quorum.
  { bug: "commitUnpersistedSelf", voters: 3, profile: SLOW_DISKS, maxSeeds: 50, expect: /learned commit \d+ \(term \d+\) but only \d+ of \d+ voters hold it durably/ },
  // A follower answering an App before its save: the ack promises what a crash can take back.
  { bug: "ackBeforePersist", voters: 5, profile: SLOW_DISKS, maxSeeds: 50, expect: /acked \d+ to leader \d+ \(term \d+\) but (only \d+ is durable|its durable entry)/ },
];

describe("the simulator catches injected bugs", () => {
  for (const h of HUNTS) {
    it(`${h.bug} is caught within ${h.maxSeeds} seeds (${h.voters} voters)`, () => {
      let caught: { seed: number; failure: string } | undefined;
      for (let seed = 1; seed <= h.maxSeeds && caught === undefined; seed++) {
        const r = runSeed(seed, h.voters, { ...h.profile, testingBugs: { [h.bug]: true } });
        if (!r.ok) caught = { seed, failure: r.failure! };
      }
      expect(caught, `no seed in 1..${h.maxSeeds} caught ${h.bug}`).toBeDefined();
      expect(caught!.failure).toMatch(h.expect);
      // The same seeds pass without the bug: the failure is the bug's, not the profile's.
      expect(runSeed(caught!.seed, h.voters, h.profile).ok).toBe(true);
    });
  }

  it("the hunting profiles pass cleanly without bugs", () => {
    const failures: string[] = [];
    for (const h of HUNTS) {
      for (let seed = 1; seed <= 100; seed++) {
        const r = runSeed(seed, h.voters, h.profile);
        if (!r.ok) failures.push(`${h.bug} profile seed ${seed}: ${r.failure}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
