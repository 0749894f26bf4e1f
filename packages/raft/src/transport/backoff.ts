// Reconnect delay: exponential with "equal jitter" (half fixed, half random), so peers that
// lost a node at the same moment do not redial in lockstep. Pure; randomness is injected.

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 1_000 };

/** Delay before attempt number `attempt` (0-based) given a uniform random value in [0, 1). */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
