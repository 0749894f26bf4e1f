// Exponential backoff with full jitter, pure: the random source is injected. Delay for
// attempt n (0-based) is uniform in [base/2, min(max, base * 2^n)], so retrying clients
// spread out instead of hammering a recovering broker together.
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 1_000 };

export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  const floor = Math.min(ceiling, policy.initialMs / 2);
  return floor + random() * (ceiling - floor);
}
