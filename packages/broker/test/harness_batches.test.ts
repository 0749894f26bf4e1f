import { describe, expect, it } from "vitest";
import { validateBatch } from "../src/log/batch.js";
import { decodeRecords, encodeBatch } from "../src/harness/batches.js";

describe("test batch codec", () => {
  it("produces batches the log's validator accepts and decodes them back", () => {
    const b = encodeBatch([Buffer.from("a"), Buffer.alloc(300, 7), Buffer.from("zz")], { producerId: 5, producerEpoch: 0, baseSequence: 0 });
    const h = validateBatch(b, 0);
    expect(h.recordsCount).toBe(3);
    b.writeBigInt64BE(40n, 0);
    expect(decodeRecords(b).map((r) => [r.offset, r.value.length])).toEqual([[40, 1], [41, 300], [42, 2]]);
  });
});
