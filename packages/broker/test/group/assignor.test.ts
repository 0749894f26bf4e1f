import { describe, expect, it } from "vitest";
import { type AssignorMember, rangeAssignor, tpKey, uniformAssignor } from "../../src/group/assignor.js";

const member = (memberId: string, topics: string[], rackId = ""): AssignorMember => ({ memberId, rackId, topics: new Set(topics) });
const sizes = (a: Map<string, Set<string>>): number[] => [...a.values()].map((s) => s.size);

describe("uniform assignor", () => {
  it("spreads 12 partitions over 3 members as 4 each, every partition once", () => {
    const out = uniformAssignor.assign({
      members: [member("a", ["t"]), member("b", ["t"]), member("c", ["t"])],
      topics: new Map([["t", { partitions: 12 }]]),
      current: new Map(),
    });
    expect(sizes(out)).toEqual([4, 4, 4]);
    const all = [...out.values()].flatMap((s) => [...s]);
    expect(new Set(all).size).toBe(12);
  });

  it("moves only the partitions a joining member needs (sticky)", () => {
    const topics = new Map([["t", { partitions: 12 }]]);
    const before = uniformAssignor.assign({ members: [member("a", ["t"]), member("b", ["t"])], topics, current: new Map() });
    const after = uniformAssignor.assign({ members: [member("a", ["t"]), member("b", ["t"]), member("c", ["t"])], topics, current: before });
    expect(sizes(after)).toEqual([4, 4, 4]);
    for (const m of ["a", "b"]) for (const tp of after.get(m)!) expect(before.get(m)!.has(tp)).toBe(true);
  });

  it("gives a departed member's partitions to the survivors and keeps theirs", () => {
    const topics = new Map([["t", { partitions: 12 }]]);
    const before = uniformAssignor.assign({ members: [member("a", ["t"]), member("b", ["t"]), member("c", ["t"])], topics, current: new Map() });
    const after = uniformAssignor.assign({ members: [member("a", ["t"]), member("b", ["t"])], topics, current: before });
    expect(sizes(after)).toEqual([6, 6]);
    for (const m of ["a", "b"]) for (const tp of before.get(m)!) expect(after.get(m)!.has(tp)).toBe(true);
  });

  it("only assigns topics a member subscribes to, and balances unequal subscriptions", () => {
    const out = uniformAssignor.assign({
      members: [member("a", ["x", "y"]), member("b", ["y"])],
      topics: new Map([
        ["x", { partitions: 4 }],
        ["y", { partitions: 4 }],
      ]),
      current: new Map(),
    });
    for (const tp of out.get("b")!) expect(tp.startsWith("y")).toBe(true);
    expect(out.get("a")!.size).toBe(4);
    expect(out.get("b")!.size).toBe(4);
  });

  it("prefers a member in the partition's rack when loads tie", () => {
    const out = uniformAssignor.assign({
      members: [member("a", ["t"], "r1"), member("b", ["t"], "r2")],
      topics: new Map([["t", { partitions: 2, partitionRacks: [["r2"], ["r1"]] }]]),
      current: new Map(),
    });
    expect([...out.get("a")!]).toEqual([tpKey("t", 1)]);
    expect([...out.get("b")!]).toEqual([tpKey("t", 0)]);
  });
});

describe("range assignor", () => {
  it("gives contiguous ranges per topic, the first members one extra", () => {
    const out = rangeAssignor.assign({
      members: [member("b", ["t"]), member("a", ["t"])],
      topics: new Map([["t", { partitions: 5 }]]),
      current: new Map(),
    });
    expect([...out.get("a")!]).toEqual([0, 1, 2].map((p) => tpKey("t", p)));
    expect([...out.get("b")!]).toEqual([3, 4].map((p) => tpKey("t", p)));
  });
});
