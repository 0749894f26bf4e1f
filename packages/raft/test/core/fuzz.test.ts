// Bad input never throws out of step() and never breaks the log's own invariants: arbitrary
// (often malformed) messages are fed to a leader and a follower of a live cluster.
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { EntryType, MessageType, type Message } from "../../src/core/types.js";
import { Harness, data } from "./harness.js";

const num = fc.oneof(fc.nat(20), fc.integer({ min: -5, max: 5 }), fc.constantFrom(Number.NaN, 0.5, 1e16, Number.POSITIVE_INFINITY));
const entry = fc.record({
  index: num,
  term: num,
  type: fc.constantFrom(EntryType.Normal, EntryType.Empty, 7 as EntryType),
  data: fc.uint8Array({ maxLength: 8 }),
});
const message = fc.record(
  {
    type: fc.integer({ min: 0, max: 20 }) as fc.Arbitrary<MessageType>,
    from: fc.integer({ min: 0, max: 5 }),
    to: fc.integer({ min: 0, max: 4 }),
    term: num,
    index: num,
    logTerm: num,
    commit: num,
    entries: fc.array(entry, { maxLength: 3 }),
    reject: fc.boolean(),
    rejectHint: num,
    context: fc.option(fc.uint8Array({ maxLength: 4 }), { nil: undefined }),
  },
  { requiredKeys: ["type", "from", "to", "term", "index", "logTerm", "commit", "entries", "reject", "rejectHint"] },
) as fc.Arbitrary<Message>;

describe("fuzzed input", () => {
  test.prop([fc.array(message, { minLength: 1, maxLength: 30 })], { numRuns: 300 })("step() never throws and the log stays sane", (msgs) => {
    const h = new Harness([1, 2, 3], [4]);
    h.elect(1);
    h.get(1).node.propose(data("before"));
    h.stabilize();
    for (const m of msgs) {
      const target = h.get(m.to >= 1 && m.to <= 4 ? m.to : 2);
      expect(() => target.node.step(m)).not.toThrow();
      h.processReady();
      h.queue = [];
      for (const n of h.nodes.values()) {
        const st = n.node.status();
        expect(st.commit).toBeLessThanOrEqual(st.lastIndex);
        expect(st.applied).toBeLessThanOrEqual(st.commit);
      }
    }
  });
});
