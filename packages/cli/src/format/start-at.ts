// Where `brook consume` and `groups reset-offsets` start: earliest, latest, an offset, or
// a time (ISO-8601, epoch milliseconds, or a duration back from now such as -15m). Pure:
// the current time is a parameter.

import type { StartAt } from "../cluster/cluster-client.js";

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseStartAt(options: { fromBeginning?: boolean; offset?: string; fromTime?: string }, nowMs: number): StartAt | { error: string } {
  const chosen = [options.fromBeginning ? "--from-beginning" : undefined, options.offset !== undefined ? "--offset" : undefined, options.fromTime !== undefined ? "--from-time" : undefined].filter((x) => x !== undefined);
  if (chosen.length > 1) return { error: `choose one of ${chosen.join(", ")}` };
  if (options.fromBeginning) return { kind: "earliest" };
  if (options.offset !== undefined) {
    const o = options.offset.trim().toLowerCase();
    if (o === "earliest" || o === "beginning") return { kind: "earliest" };
    if (o === "latest" || o === "end") return { kind: "latest" };
    if (!/^\d+$/.test(o)) return { error: `--offset ${JSON.stringify(options.offset)}: expected a non-negative integer, earliest or latest` };
    return { kind: "offset", offset: Number(o) };
  }
  if (options.fromTime !== undefined) {
    const t = options.fromTime.trim();
    const relative = /^-(\d+)([smhd])$/.exec(t);
    if (relative) return { kind: "timestamp", timestampMs: nowMs - Number(relative[1]) * UNIT_MS[relative[2]!]! };
    if (/^\d+$/.test(t)) return { kind: "timestamp", timestampMs: Number(t) };
    const parsed = Date.parse(t);
    if (Number.isNaN(parsed)) return { error: `--from-time ${JSON.stringify(t)}: expected ISO-8601 (2026-01-31T12:00:00Z), epoch milliseconds, or -<n>s|m|h|d` };
    return { kind: "timestamp", timestampMs: parsed };
  }
  return { kind: "latest" };
}
