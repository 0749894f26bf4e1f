// Property tests for the pure majority arithmetic and flow control (Raft §5.3: commit needs a
// majority; §5.2: an election needs a majority of votes).
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { Inflights } from "../../src/core/progress.js";
import { isQuorum, quorumIndex, VoteResult, voteResult } from "../../src/core/quorum.js";

const matches = fc.array(fc.nat(1000), { minLength: 1, maxLength: 9 });

describe("quorum", () => {
  test.prop([matches])("quorumIndex is the largest index a majority has reached", (ms) => {
    const voters = ms.map((_, i) => i + 1);
    const q = quorumIndex(voters, (id) => ms[id - 1]!);
    const majority = Math.floor(ms.length / 2) + 1;
    expect(ms.filter((m) => m >= q).length).toBeGreaterThanOrEqual(majority);
    expect(ms.filter((m) => m >= q + 1).length).toBeLessThan(majority);
  });

  test.prop([fc.array(fc.constantFrom(true, false, undefined), { minLength: 1, maxLength: 9 })])(
    "voteResult: won iff a majority granted, lost iff a majority can no longer grant",
    (vs) => {
      const voters = vs.map((_, i) => i + 1);
      const votes = new Map<number, boolean>();
      vs.forEach((v, i) => v !== undefined && votes.set(i + 1, v));
      const majority = Math.floor(vs.length / 2) + 1;
      const granted = vs.filter((v) => v === true).length;
      const open = vs.filter((v) => v === undefined).length;
      const r = voteResult(voters, votes);
      expect(r === VoteResult.Won).toBe(granted >= majority);
      expect(r === VoteResult.Lost).toBe(granted + open < majority);
      expect(isQuorum(voters, (id) => votes.get(id) === true)).toBe(granted >= majority);
    },
  );

  test.prop([fc.integer({ min: 1, max: 8 }), fc.array(fc.oneof(fc.constant(-1), fc.nat(50)), { maxLength: 60 })])(
    "Inflights never exceeds its capacity when the sender respects full(), and frees in order",
    (cap, ops) => {
      const inf = new Inflights(cap);
      let last = 0;
      const model: number[] = [];
      for (const op of ops) {
        if (op === -1 || inf.full()) {
          const to = model.length > 0 ? model[Math.floor(model.length / 2)]! : 0;
          inf.freeLE(to);
          while (model.length > 0 && model[0]! <= to) model.shift();
        } else {
          last += 1 + (op % 3);
          inf.add(last);
          model.push(last);
        }
        expect(inf.count()).toBe(model.length);
        expect(inf.count()).toBeLessThanOrEqual(cap);
      }
    },
  );
});
