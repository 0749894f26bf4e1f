// Swarm testing: the seed picks not only the schedule but the fault mix (which faults are on
// and how hard), so thousands of seeds cover many different worlds rather than one average.
// Time is in simulator units; a node ticks roughly every TICK_UNITS units.
import type { TestingBugs } from "../core/types.js";
import type { Prng } from "./prng.js";

export const TICK_UNITS = 10;

export interface SwarmOptions {
  readonly voters: number;
  readonly observers: number;
  /** Per-message probabilities. */
  readonly dropRate: number;
  readonly dupRate: number;
  /** One-way delay is uniform in [1, maxDelay] units; random delay also reorders. */
  readonly maxDelay: number;
  /** Per-unit probability of a partition change; 0 = no partitions. */
  readonly partitionRate: number;
  readonly partitionKinds: readonly PartitionKind[];
  /** Per-unit probability that some node crashes; 0 = no crashes. */
  readonly crashRate: number;
  /** Probability that a crash targets the current leader rather than a random node. */
  readonly crashLeaderBias: number;
  /** Probability that a crash happens in the middle of handling a Ready, before its sync. */
  readonly crashMidReadyRate: number;
  readonly downtimeMax: number;
  /** Per-node tick intervals (clock skew between nodes). */
  readonly tickUnits: readonly number[];
  /** Per delivered message: also deliver a detectably malformed variant (bad input must be dropped). */
  readonly garbageRate: number;
  /**
   * The shell persists a Ready asynchronously, taking up to this many units, while the core
   * keeps receiving messages and ticks (like an fsync in flight). 0 = synchronous shell.
   */
  readonly ioDelayMax: number;
  readonly proposeRate: number;
  readonly readRate: number;
  readonly transferRate: number;
  /** Applied entries between snapshots; 0 = never. */
  readonly snapshotEvery: number;
  readonly snapshotRetain: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Units of faulty running before the heal-and-check-liveness phase. */
  readonly faultUnits: number;
  /** Units within which, once healed, a new proposal must be applied by every node. */
  readonly livenessUnits: number;
  readonly testingBugs: TestingBugs;
}

export type PartitionKind = "symmetric" | "asymmetric" | "isolate" | "isolateLeader" | "flapping";

export interface SwarmOverrides extends Partial<Omit<SwarmOptions, "voters">> {}

export function swarmOptions(rng: Prng, voters: number, overrides: SwarmOverrides = {}): SwarmOptions {
  const kinds: PartitionKind[] = (["symmetric", "asymmetric", "isolate", "isolateLeader", "flapping"] as const).filter(() => rng.chance(0.5));
  const observers = rng.chance(0.3) ? 1 : 0;
  const skew = rng.chance(0.5);
  const tickUnits = Array.from({ length: voters + observers }, () => (skew ? rng.range(6, 16) : TICK_UNITS));
  const base: SwarmOptions = {
    voters,
    observers,
    dropRate: rng.chance(0.6) ? rng.float() * 0.2 : 0,
    dupRate: rng.chance(0.4) ? rng.float() * 0.1 : 0,
    maxDelay: rng.pick([1, 3, 8, 15, 30]),
    partitionRate: kinds.length > 0 && rng.chance(0.6) ? 0.002 + rng.float() * 0.01 : 0,
    partitionKinds: kinds.length > 0 ? kinds : ["symmetric"],
    crashRate: rng.chance(0.6) ? 0.0005 + rng.float() * 0.004 : 0,
    crashLeaderBias: rng.chance(0.5) ? rng.float() : 0,
    crashMidReadyRate: rng.chance(0.5) ? rng.float() * 0.02 : 0,
    downtimeMax: rng.pick([50, 300, 1500]),
    tickUnits,
    garbageRate: rng.chance(0.3) ? rng.float() * 0.05 : 0,
    ioDelayMax: rng.chance(0.5) ? rng.range(1, 10) : 0,
    proposeRate: 0.02 + rng.float() * 0.2,
    readRate: rng.chance(0.5) ? rng.float() * 0.02 : 0,
    transferRate: rng.chance(0.3) ? rng.float() * 0.002 : 0,
    snapshotEvery: rng.chance(0.5) ? rng.range(3, 30) : 0,
    snapshotRetain: rng.range(0, 5),
    maxSizePerMsg: rng.pick([1, 100, 400, 1 << 20]),
    maxInflightMsgs: rng.pick([1, 2, 4, 64]),
    electionTicks: 10,
    heartbeatTicks: rng.pick([1, 2, 3]),
    faultUnits: 3000,
    livenessUnits: 6000,
    testingBugs: {},
  };
  return { ...base, ...overrides };
}

/** No random faults and no random client traffic: for scripted scenarios that drive the cluster. */
export const QUIET: SwarmOverrides = {
  dropRate: 0,
  dupRate: 0,
  partitionRate: 0,
  crashRate: 0,
  crashMidReadyRate: 0,
  proposeRate: 0,
  readRate: 0,
  transferRate: 0,
  garbageRate: 0,
  ioDelayMax: 0,
  observers: 0,
};
