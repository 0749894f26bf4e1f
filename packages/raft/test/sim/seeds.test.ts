// The swarm: thousands of seeds per topology, each with its own fault mix, safety checked at
// every step and liveness after healing. A failure names its seed and the command replaying it.
import { describe, expect, it } from "vitest";
import { replayCommand, runSeed } from "../../src/sim/cluster.js";

const SEEDS_PER_TOPOLOGY = 2000;
const CHUNK = 500;

function failuresIn(start: number, count: number, voters: number): string[] {
  const out: string[] = [];
  for (let seed = start; seed < start + count; seed++) {
    const r = runSeed(seed, voters);
    if (!r.ok) out.push(`seed ${seed}: ${r.failure}\n  replay: ${replayCommand(seed, voters)}`);
  }
  return out;
}

for (const voters of [3, 5]) {
  describe(`simulation, ${voters} voters`, () => {
    for (let start = 1; start <= SEEDS_PER_TOPOLOGY; start += CHUNK) {
      it(`seeds ${start}..${start + CHUNK - 1} keep every safety property and recover`, () => {
        expect(failuresIn(start, CHUNK, voters)).toEqual([]);
      });
    }
  });
}

// Seeds that once failed, kept so the fix stays fixed: [seed, voters, what it found].
const REGRESSIONS: [number, number, string][] = [
  [44502, 3, "liveness false alarm: client load outran one-entry messages on a reordering network"],
];

describe("simulation regressions", () => {
  for (const [seed, voters, what] of REGRESSIONS) {
    it(`seed ${seed} (${voters} voters): ${what}`, () => {
      const r = runSeed(seed, voters);
      expect(r.failure).toBeUndefined();
      expect(r.ok).toBe(true);
    });
  }
});
