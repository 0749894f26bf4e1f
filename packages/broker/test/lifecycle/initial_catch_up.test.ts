// A restarting broker acts on no replayed metadata view until it has caught up once.
import { describe, expect, it } from "vitest";
import { InitialCatchUp } from "../../src/lifecycle/initial_catch_up.js";

describe("InitialCatchUp", () => {
  it("holds views back until one reaches the high watermark, then delivers every view", () => {
    const c = new InitialCatchUp();
    expect(c.deliver(10, 40)).toBe(false); // replaying history: leaderships long gone
    expect(c.deliver(25, 41)).toBe(false);
    expect(c.deliver(40, 41)).toBe(true); // reached the first high watermark heard
    expect(c.deliver(41, 41)).toBe(true);
    expect(c.deliver(42, 50)).toBe(true); // from then on, live
  });

  it("settles for a lagging voter's lower high watermark after a reconnect", () => {
    const c = new InitialCatchUp();
    expect(c.deliver(5, 40)).toBe(false);
    expect(c.deliver(30, 30)).toBe(true);
  });

  it("delivers at once a view already at the high watermark (an idle or new cluster)", () => {
    expect(new InitialCatchUp().deliver(7, 7)).toBe(true);
    expect(new InitialCatchUp().deliver(0, 0)).toBe(true);
  });
});
