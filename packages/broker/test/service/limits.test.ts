import { describe, expect, it } from "vitest";
import { Code } from "../../src/errors.js";
import { acksError, clampFetch, clampPartitionMaxBytes, FETCH_MAX_BYTES_CAP, produceTimeoutMs, topicNameError } from "../../src/service/limits.js";

describe("edge validation", () => {
  it("accepts Kafka-legal topic names and rejects the rest with a reason", () => {
    expect(topicNameError("orders.v1_2-x")).toBeNull();
    expect(topicNameError("")).toMatch(/empty/);
    expect(topicNameError("..")).toMatch(/reserved/);
    expect(topicNameError("a/b")).toMatch(/characters/);
    expect(topicNameError("x".repeat(250))).toMatch(/249/);
  });

  it("allows only acks 0, 1 and -1", () => {
    expect(acksError(-1)).toBe(Code.NONE);
    expect(acksError(0)).toBe(Code.NONE);
    expect(acksError(1)).toBe(Code.NONE);
    expect(acksError(2)).toBe(Code.INVALID_REQUIRED_ACKS);
    expect(acksError(-2)).toBe(Code.INVALID_REQUIRED_ACKS);
  });

  it("clamps absurd fetch sizes and waits instead of failing", () => {
    expect(clampFetch({ maxWaitMs: -5, minBytes: -1, maxBytes: -1 })).toEqual({ maxWaitMs: 0, minBytes: 0, maxBytes: FETCH_MAX_BYTES_CAP });
    expect(clampFetch({ maxWaitMs: 1e9, minBytes: 2 ** 31 - 1, maxBytes: 2 ** 31 - 1 })).toEqual({
      maxWaitMs: 30_000,
      minBytes: FETCH_MAX_BYTES_CAP,
      maxBytes: FETCH_MAX_BYTES_CAP,
    });
    expect(clampPartitionMaxBytes(0)).toBe(1024 * 1024);
    expect(clampPartitionMaxBytes(2 ** 31 - 1)).toBe(FETCH_MAX_BYTES_CAP);
  });

  it("bounds the produce timeout", () => {
    expect(produceTimeoutMs(0)).toBe(30_000);
    expect(produceTimeoutMs(1e12)).toBe(300_000);
    expect(produceTimeoutMs(1500)).toBe(1500);
  });
});
