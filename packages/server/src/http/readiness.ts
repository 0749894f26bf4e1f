// Readiness as /readyz reports it: every role contributes named checks; the node is ready
// when every check of every role passes. Pure.

export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  /** Short reason shown when not ok, e.g. "waiting for a metadata leader". */
  readonly detail?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheck[];
}

export function combineReadiness(checks: readonly ReadinessCheck[]): ReadinessReport {
  return { ready: checks.length > 0 && checks.every((c) => c.ok), checks };
}
