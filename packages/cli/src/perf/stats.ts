// Figures of `brook perf produce|consume`, in the spirit of kafka-producer-perf-test:
// records/s, MB/s and latency percentiles, plus the one-line progress bar shown while it
// runs. Pure: times are passed in (milliseconds, from a monotonic clock).

export class PerfStats {
  #records = 0;
  #bytes = 0;
  #errors = 0;
  readonly #latenciesMs: number[] = [];

  constructor(readonly startedMs: number) {}

  record(bytes: number, latencyMs?: number): void {
    this.#records++;
    this.#bytes += bytes;
    if (latencyMs !== undefined) this.#latenciesMs.push(latencyMs);
  }

  error(): void {
    this.#errors++;
  }

  get records(): number {
    return this.#records;
  }

  summary(nowMs: number): PerfSummary {
    const elapsedS = Math.max((nowMs - this.startedMs) / 1000, 1e-9);
    const sorted = [...this.#latenciesMs].sort((a, b) => a - b);
    return {
      records: this.#records,
      errors: this.#errors,
      bytes: this.#bytes,
      elapsedS,
      recordsPerS: this.#records / elapsedS,
      mbPerS: this.#bytes / (1024 * 1024) / elapsedS,
      ...(sorted.length === 0 ? {} : { latencyMs: { avg: sorted.reduce((s, x) => s + x, 0) / sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999), max: sorted[sorted.length - 1]! } }),
    };
  }
}

export interface PerfSummary {
  readonly records: number;
  readonly errors: number;
  readonly bytes: number;
  readonly elapsedS: number;
  readonly recordsPerS: number;
  readonly mbPerS: number;
  readonly latencyMs?: { readonly avg: number; readonly p50: number; readonly p95: number; readonly p99: number; readonly p999: number; readonly max: number };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function renderProgress(done: number, total: number, summary: PerfSummary, width = 30): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total}  ${Math.round(summary.recordsPerS)} rec/s  ${summary.mbPerS.toFixed(2)} MB/s`;
}

export function summaryRows(s: PerfSummary): [string, string][] {
  const rows: [string, string][] = [
    ["records", String(s.records)],
    ["errors", String(s.errors)],
    ["elapsed", `${s.elapsedS.toFixed(2)} s`],
    ["records/s", s.recordsPerS.toFixed(1)],
    ["MB/s", s.mbPerS.toFixed(2)],
  ];
  if (s.latencyMs) {
    const l = s.latencyMs;
    rows.push(["latency avg", `${l.avg.toFixed(2)} ms`], ["latency p50", `${l.p50.toFixed(2)} ms`], ["latency p95", `${l.p95.toFixed(2)} ms`], ["latency p99", `${l.p99.toFixed(2)} ms`], ["latency p99.9", `${l.p999.toFixed(2)} ms`], ["latency max", `${l.max.toFixed(2)} ms`]);
  }
  return rows;
}
