// Watches whether a majority of controller.quorum.voters can be reached over TCP while the
// node starts, and says so in the log: what it waits for, which voters are unreachable and
// why. It only observes; the Raft and broker roles do their own retrying.

import { connect } from "node:net";
import type { Voter } from "../config/resolve.js";

export interface VoterProbe {
  readonly voter: Voter;
  readonly reachable: boolean;
  readonly error?: string;
}

export interface QuorumStatus {
  readonly reachable: number;
  readonly needed: number;
  readonly ok: boolean;
  readonly message: string;
}

/** Pure: the status line for one round of probes (this node counts as reachable). */
export function quorumStatus(selfId: number, probes: readonly VoterProbe[]): QuorumStatus {
  const total = probes.length;
  const needed = Math.floor(total / 2) + 1;
  const reachable = probes.filter((p) => p.reachable || p.voter.id === selfId).length;
  const down = probes.filter((p) => !p.reachable && p.voter.id !== selfId);
  const ok = reachable >= needed;
  const list = down.map((p) => `${p.voter.id}@${p.voter.host}:${p.voter.port} (${p.error ?? "unreachable"})`).join(", ");
  const message = ok
    ? `controller quorum reachable: ${reachable}/${total} voters`
    : `waiting for the controller quorum: ${reachable}/${total} voters reachable, ${needed} needed; unreachable: ${list}. Start the other nodes, or check controller.quorum.voters and the network between nodes`;
  return { reachable, needed, ok, message };
}

export function probeVoter(voter: Voter, timeoutMs: number): Promise<VoterProbe> {
  return new Promise((resolve) => {
    const socket = connect({ host: voter.host, port: voter.port });
    const finish = (reachable: boolean, error?: string): void => {
      socket.destroy();
      resolve(error === undefined ? { voter, reachable } : { voter, reachable, error });
    };
    socket.setTimeout(timeoutMs, () => finish(false, "timeout"));
    socket.once("connect", () => finish(true));
    socket.once("error", (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message));
  });
}

/** Probes until a majority answers (or the signal aborts), logging at most every repeatMs. */
export async function waitForQuorum(options: {
  selfId: number;
  voters: readonly Voter[];
  signal: AbortSignal;
  log: (status: QuorumStatus) => void;
  intervalMs?: number;
  repeatMs?: number;
}): Promise<boolean> {
  const intervalMs = options.intervalMs ?? 1000;
  const repeatMs = options.repeatMs ?? 15_000;
  let lastLoggedAt = -Infinity;
  while (!options.signal.aborted) {
    const probes = await Promise.all(options.voters.map((v) => (v.id === options.selfId ? { voter: v, reachable: true } : probeVoter(v, Math.min(intervalMs * 2, 3000)))));
    const status = quorumStatus(options.selfId, probes);
    const now = performance.now();
    if (status.ok || now - lastLoggedAt >= repeatMs) {
      lastLoggedAt = now;
      options.log(status);
    }
    if (status.ok) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}
