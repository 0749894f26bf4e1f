// The safety checker of the failover suite: given what producers were told (acknowledged
// records with their partition and offset) and what a consumer read back from the start of
// every partition, it reports every acknowledged record lost, every record read twice, and
// every reordering. Pure; the failover suite (test-e2e) and the loopback soak (src/soak/cli.ts)
// record the history, this judges it.
//
// Rules (DESIGN.md "nothing acknowledged is ever lost"):
//  - lost:       an acknowledged (partition, offset) is missing, or holds another value;
//  - duplicated: one value appears at more than one offset (idempotent producers must not
//                write a retried batch twice);
//  - reordered:  within a partition, offsets read are not strictly increasing, or two
//                records acknowledged in order from one producer are read in the other order.
// Unacknowledged records may or may not appear (a timed-out produce may have landed).
// An acknowledgement may carry offset -1: the SDK completes a record that way when it knows
// the batch was written but not where (its answer was lost, and a later batch of the same
// producer was acknowledged). Such a record must be read back in its partition; its offset is
// then taken from where it was read, for the ordering rule too.

export interface AckedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
  /** Producer-local sequence: acks of one producer to one partition must read back in this order. */
  readonly producer: string;
  readonly seq: number;
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface Violation {
  readonly kind: "lost" | "duplicated" | "reordered";
  readonly detail: string;
}

export function checkHistory(acked: readonly AckedRecord[], read: readonly ReadRecord[]): Violation[] {
  const violations: Violation[] = [];
  const byPosition = new Map<string, ReadRecord>();
  const positionsOfValue = new Map<string, ReadRecord[]>();
  const lastOffset = new Map<number, number>();
  for (const r of read) {
    const prev = lastOffset.get(r.partition);
    if (prev !== undefined && r.offset <= prev) {
      violations.push({ kind: "reordered", detail: `partition ${r.partition}: offset ${r.offset} read after ${prev}` });
    }
    lastOffset.set(r.partition, r.offset);
    byPosition.set(`${r.partition}/${r.offset}`, r);
    const list = positionsOfValue.get(r.value) ?? [];
    list.push(r);
    positionsOfValue.set(r.value, list);
  }
  for (const [value, list] of positionsOfValue) {
    if (list.length > 1) {
      violations.push({ kind: "duplicated", detail: `value ${JSON.stringify(value)} at ${list.map((r) => `${r.partition}/${r.offset}`).join(", ")}` });
    }
  }
  const placed: AckedRecord[] = [];
  for (const a of acked) {
    if (a.offset < 0) {
      const at = (positionsOfValue.get(a.value) ?? []).find((r) => r.partition === a.partition);
      if (at === undefined) violations.push({ kind: "lost", detail: `acknowledged ${JSON.stringify(a.value)} in partition ${a.partition} (offset not reported) was not read back` });
      else placed.push({ ...a, offset: at.offset });
      continue;
    }
    placed.push(a);
    const got = byPosition.get(`${a.partition}/${a.offset}`);
    if (got === undefined) violations.push({ kind: "lost", detail: `acknowledged ${JSON.stringify(a.value)} at ${a.partition}/${a.offset} was not read back` });
    else if (got.value !== a.value) violations.push({ kind: "lost", detail: `${a.partition}/${a.offset} was acknowledged as ${JSON.stringify(a.value)} but holds ${JSON.stringify(got.value)}` });
  }
  const streams = new Map<string, AckedRecord[]>();
  for (const a of placed) {
    const key = `${a.producer}/${a.partition}`;
    const list = streams.get(key) ?? [];
    list.push(a);
    streams.set(key, list);
  }
  for (const [key, list] of streams) {
    const sorted = [...list].sort((x, y) => x.seq - y.seq);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.offset <= sorted[i - 1]!.offset) {
        violations.push({ kind: "reordered", detail: `${key}: seq ${sorted[i]!.seq} acknowledged at offset ${sorted[i]!.offset}, not after seq ${sorted[i - 1]!.seq} at ${sorted[i - 1]!.offset}` });
      }
    }
  }
  return violations;
}

/** True once, in every partition with acknowledged records, the last acknowledged offset was read. */
export function readPastAcked(acked: readonly AckedRecord[], read: readonly ReadRecord[]): boolean {
  const need = new Map<number, number>();
  for (const a of acked) need.set(a.partition, Math.max(need.get(a.partition) ?? -1, a.offset));
  const have = new Map<number, number>();
  for (const r of read) have.set(r.partition, Math.max(have.get(r.partition) ?? -1, r.offset));
  return [...need].every(([partition, offset]) => (have.get(partition) ?? -1) >= offset);
}
