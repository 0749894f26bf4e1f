// The soak's fault schedule: a pure function of the seed. It says which fault comes next,
// on which node, for how long, and how long the cluster runs undisturbed before it; it knows
// nothing of processes or clocks (cluster.ts applies a fault, cli.ts paces them). The same
// seed gives the same sequence of faults, so a failing run is replayed with `--seed S`
// (timing still differs: the soak waits for real readiness between faults).
//
// Contract: at most one node is faulted at a time (the guarantee under test is "any single
// failure"); the caller applies a fault, waits until the node is ready again, and only then
// asks for the next one.

export type FaultKind = "kill" | "pause" | "terminate";

export const FAULT_KINDS: readonly FaultKind[] = ["kill", "pause", "terminate"];

export interface Fault {
  readonly kind: FaultKind;
  /** Node id, 1-based. */
  readonly node: number;
  /** Quiet time before the fault, during which every node is up. */
  readonly gapMs: number;
  /** kill/terminate: how long the node stays down before it restarts; pause: SIGSTOP to SIGCONT (3-8 s). */
  readonly downMs: number;
}

/** A 32-bit seeded PRNG (mulberry32): small, fast, and plenty for a fault schedule. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
}

/** The endless fault sequence of `seed` over nodes 1..nodeCount. */
export function* faultSchedule(seed: number, nodeCount: number): Generator<Fault, never, void> {
  const rng = new Rng(seed);
  for (;;) {
    const kind = rng.pick(FAULT_KINDS);
    const node = rng.int(1, nodeCount);
    const gapMs = rng.int(2_000, 10_000);
    const downMs = kind === "pause" ? rng.int(3_000, 8_000) : rng.int(500, 5_000);
    yield { kind, node, gapMs, downMs };
  }
}
