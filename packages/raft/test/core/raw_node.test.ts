import { describe, expect, it } from "vitest";
import { EntryType, StateRole } from "../../src/core/types.js";
import { NotLeaderError } from "../../src/core/errors.js";
import { Harness, data, text } from "./harness.js";

describe("RawNode basics", () => {
  it("elects a leader and replicates a proposal to every voter (Raft §5.2, §5.3)", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    expect(h.get(1).node.status().role).toBe(StateRole.Leader);
    expect(h.get(2).node.status().lead).toBe(1);
    const pos = h.get(1).node.propose(data("hello"));
    h.stabilize();
    for (const id of [1, 2, 3]) {
      const normal = h.get(id).applied.filter((e) => e.type === EntryType.Normal);
      expect(normal.map(text)).toEqual(["hello"]);
      expect(normal[0]!.index).toBe(pos.index);
      expect(normal[0]!.term).toBe(pos.term);
    }
  });

  it("refuses proposals on a follower, naming the leader", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    expect(() => h.get(2).node.propose(data("x"))).toThrow(NotLeaderError);
    try {
      h.get(2).node.propose(data("x"));
    } catch (e) {
      expect((e as NotLeaderError).leader).toBe(1);
    }
  });
});
