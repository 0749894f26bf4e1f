// The checker of the leader-kill tests: whatever the cluster went through, every record a
// producer saw acknowledged is in the partition exactly once, in the order of the acks.
import { expect } from "vitest";
import { Code } from "../../src/errors.js";
import { decodeRecords } from "../../src/harness/batches.js";
import type { TestClient } from "../../src/harness/client.js";

/** The values of partition 0 of `topic`, read from `client` (its leader) up to the HW. */
export async function readAllValues(client: TestClient, topic: string): Promise<string[]> {
  const got: string[] = [];
  let offset = 0;
  for (;;) {
    const r = (await client.fetch(topic, 0, offset)).topics[0]!.partitions[0]!;
    expect(r.errorCode).toBe(Code.NONE);
    const recs = decodeRecords(r.records).filter((x) => x.offset >= offset);
    if (recs.length === 0) break;
    got.push(...recs.map((x) => x.value.toString()));
    offset = recs[recs.length - 1]!.offset + 1;
  }
  return got;
}

/** No value of `got` twice, and every value of `acked` in `got`, in the same order. */
export function expectAckedOnceInOrder(acked: readonly string[], got: readonly string[]): void {
  const position = new Map<string, number>();
  got.forEach((v, i) => {
    expect(position.has(v), `record ${v} read twice`).toBe(false);
    position.set(v, i);
  });
  let last = -1;
  for (const v of acked) {
    const at = position.get(v);
    expect(at, `acknowledged record ${v} lost`).toBeDefined();
    expect(at!, `acknowledged record ${v} out of order`).toBeGreaterThan(last);
    last = at!;
  }
}
