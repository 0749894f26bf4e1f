// Majority arithmetic over the (static) voter set. Observers never count.
import type { NodeId } from "./types.js";

export const enum VoteResult {
  Pending = 0,
  Won = 1,
  Lost = 2,
}

/** The highest index acknowledged by a majority of voters. */
export function quorumIndex(voters: readonly NodeId[], matchOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const matches = voters.map(matchOf).sort((a, b) => b - a);
  return matches[Math.floor(voters.length / 2)]!;
}

export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const need = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  if (granted >= need) return VoteResult.Won;
  if (granted + missing >= need) return VoteResult.Pending;
  return VoteResult.Lost;
}

export function isQuorum(voters: readonly NodeId[], acked: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (acked(id)) n++;
  return n >= Math.floor(voters.length / 2) + 1;
}
