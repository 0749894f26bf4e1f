import { describe, expect, it } from "vitest";
import { splitBySize } from "../src/producer/request_split.js";

describe("splitBySize (max.request.size per Produce request)", () => {
  const id = (n: number) => n;

  it("keeps order and packs batches until the next would pass the limit", () => {
    expect(splitBySize([400, 300, 300, 500, 100], 1000, id)).toEqual([[400, 300, 300], [500, 100]]);
  });

  it("sends a batch larger than the limit alone rather than never", () => {
    expect(splitBySize([100, 5000, 100], 1000, id)).toEqual([[100], [5000], [100]]);
  });

  it("puts everything in one request when it fits, and nothing for no batches", () => {
    expect(splitBySize([1, 2, 3], 1000, id)).toEqual([[1, 2, 3]]);
    expect(splitBySize([], 1000, id)).toEqual([]);
  });
});
