import { describe, expect, it } from "vitest";
import { ERROR_NONE } from "@brook/protocol";

describe("errors", () => {
  it("has code 0 for no error", () => {
    expect(ERROR_NONE).toBe(0);
  });
});
