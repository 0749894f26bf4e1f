import { describe, expect, it } from "vitest";
import { checkHistory, readPastAcked, type AckedRecord } from "../src/history.js";

const ack = (partition: number, offset: number, value: string, seq: number, producer = "p1"): AckedRecord => ({ partition, offset, value, producer, seq });

describe("checkHistory", () => {
  it("accepts a clean history, with unacknowledged extras allowed", () => {
    const acked = [ack(0, 0, "a", 0), ack(0, 1, "b", 1), ack(1, 0, "c", 2)];
    const read = [
      { partition: 0, offset: 0, value: "a" },
      { partition: 0, offset: 1, value: "b" },
      { partition: 0, offset: 2, value: "timed-out-but-landed" },
      { partition: 1, offset: 0, value: "c" },
    ];
    expect(checkHistory(acked, read)).toEqual([]);
  });

  it("reports a lost and an overwritten acknowledged record", () => {
    const v = checkHistory([ack(0, 0, "a", 0), ack(0, 1, "b", 1)], [{ partition: 0, offset: 1, value: "x" }]);
    expect(v).toEqual([
      { kind: "lost", detail: 'acknowledged "a" at 0/0 was not read back' },
      { kind: "lost", detail: '0/1 was acknowledged as "b" but holds "x"' },
    ]);
  });

  it("reports a duplicate write of one value", () => {
    const read = [
      { partition: 0, offset: 0, value: "a" },
      { partition: 0, offset: 1, value: "a" },
    ];
    expect(checkHistory([ack(0, 0, "a", 0)], read)).toEqual([{ kind: "duplicated", detail: 'value "a" at 0/0, 0/1' }]);
  });

  it("reports offsets read out of order and acks out of producer order", () => {
    const read = [
      { partition: 0, offset: 1, value: "b" },
      { partition: 0, offset: 0, value: "a" },
    ];
    const v = checkHistory([ack(0, 1, "a", 0), ack(0, 0, "b", 1)], read);
    expect(v.map((x) => x.kind)).toEqual(["reordered", "lost", "lost", "reordered"]);
  });
});

describe("readPastAcked", () => {
  it("waits for the last acknowledged offset of every partition", () => {
    const acked = [ack(0, 3, "a", 0), ack(1, 0, "b", 1)];
    expect(readPastAcked(acked, [{ partition: 0, offset: 3, value: "a" }])).toBe(false);
    expect(readPastAcked(acked, [{ partition: 0, offset: 4, value: "x" }, { partition: 1, offset: 0, value: "b" }])).toBe(true);
  });
});
