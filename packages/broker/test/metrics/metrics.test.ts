// The broker metrics hook's pure helpers: records counted from batch headers (a trailing
// partial batch is not counted) and ISR changes classified as shrink or expand.
import { describe, expect, it } from "vitest";
import { encodeBatch } from "../../src/harness/batches.js";
import { batchRecordCount, isrChangeReporter, type BrokerMetricsSink } from "../../src/metrics.js";

const values = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`v${i}`));

describe("batchRecordCount", () => {
  it("sums the record counts of consecutive batches", () => {
    expect(batchRecordCount(Buffer.concat([encodeBatch(values(3)), encodeBatch(values(5))]))).toBe(8);
  });

  it("ignores a truncated trailing batch and empty input", () => {
    const two = encodeBatch(values(2));
    expect(batchRecordCount(Buffer.concat([two, encodeBatch(values(4)).subarray(0, 70)]))).toBe(2);
    expect(batchRecordCount(Buffer.alloc(0))).toBe(0);
  });
});

describe("isrChangeReporter", () => {
  const recorded: string[] = [];
  const sink: BrokerMetricsSink = {
    onProduce: () => {},
    onFetch: () => {},
    onIsrShrink: (t, p) => recorded.push(`shrink ${t}-${p}`),
    onIsrExpand: (t, p) => recorded.push(`expand ${t}-${p}`),
  };

  it("reports shrinks and expands by membership, nothing for an unchanged ISR", () => {
    const report = isrChangeReporter(sink, "orders", 2)!;
    report([1, 2, 3], [1, 3]);
    report([1, 3], [1, 2, 3]);
    report([1, 2], [2, 1]);
    expect(recorded).toEqual(["shrink orders-2", "expand orders-2"]);
  });

  it("is null without a sink (the broker then does no work)", () => {
    expect(isrChangeReporter(undefined, "orders", 0)).toBeNull();
  });
});
