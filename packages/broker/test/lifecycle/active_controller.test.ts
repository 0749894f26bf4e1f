import { describe, expect, it } from "vitest";
import { ActiveController, NotControllerError } from "../../src/lifecycle/active_controller.js";

function harness(behaviour: (id: number) => "ok" | "down" | number | null) {
  let t = 0;
  const calls: number[] = [];
  const ac = new ActiveController<number>({
    voters: new Map([
      [1, "a:1"],
      [2, "b:1"],
      [3, "c:1"],
    ]),
    client: (id) => id,
    sleep: async (ms) => {
      t += ms;
    },
    now: () => t,
  });
  const run = (timeoutMs = 10_000) =>
    ac.call(async (id) => {
      calls.push(id);
      const b = behaviour(id);
      if (b === "ok") return id;
      if (b === "down") throw new Error(`voter ${id} unreachable`);
      throw new NotControllerError(b);
    }, timeoutMs);
  return { ac, run, calls, elapsed: () => t };
}

describe("ActiveController", () => {
  it("follows a NOT_CONTROLLER hint at once", async () => {
    const h = harness((id) => (id === 3 ? "ok" : 3));
    expect(await h.run()).toBe(3);
    expect(h.calls).toEqual([1, 3]);
    expect(h.elapsed()).toBe(0);
    expect(h.ac.current()).toBe(3);
  });

  it("moves to the next voter with backoff when one is down or knows no leader", async () => {
    const h = harness((id) => (id === 1 ? "down" : id === 2 ? null : "ok"));
    expect(await h.run()).toBe(3);
    expect(h.calls).toEqual([1, 2, 3]);
    expect(h.elapsed()).toBeGreaterThan(0);
  });

  it("gives up with the last error at the deadline", async () => {
    const h = harness(() => "down");
    await expect(h.run(500)).rejects.toThrow(/unreachable/);
    expect(h.elapsed()).toBeLessThanOrEqual(500);
    expect(h.calls.length).toBeGreaterThan(3);
  });
});
