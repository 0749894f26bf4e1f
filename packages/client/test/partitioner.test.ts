import { describe, expect, it } from "vitest";
import { murmur2, toPositive } from "@brook/protocol";
import { keyPartition, roundRobinPartitioner, stickyPartitioner } from "../src/producer/partitioner.js";

describe("murmur2", () => {
  it("matches Kafka's Utils.murmur2 test vectors", () => {
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [s, h] of cases) expect(murmur2(Buffer.from(s))).toBe(h);
  });

  it("places keys like Kafka's default partitioner (toPositive(murmur2) % n)", () => {
    expect(keyPartition(Buffer.from("foobar"), 12)).toBe(toPositive(-790332482) % 12);
    expect(toPositive(-1)).toBe(0x7fffffff);
  });
});

describe("partitioners", () => {
  const ctx = (key: Buffer | null) => ({ topic: "t", key, partitionCount: 6, availablePartitions: [0, 1, 2, 3, 4, 5] });

  it("sticky: keyless records stay on one partition until its batch closes", () => {
    let r = 0.5;
    const p = stickyPartitioner(() => r);
    const first = p.partition(ctx(null));
    expect(p.partition(ctx(null))).toBe(first);
    r = 0.9;
    p.onNewBatch?.("t", first);
    expect(p.partition(ctx(null))).not.toBe(first);
    expect(p.partition(ctx(Buffer.from("k")))).toBe(keyPartition(Buffer.from("k"), 6));
  });

  it("sticky avoids partitions without a leader", () => {
    const p = stickyPartitioner(() => 0);
    expect(p.partition({ topic: "t", key: null, partitionCount: 6, availablePartitions: [4, 5] })).toBe(4);
  });

  it("round-robin cycles through partitions", () => {
    const p = roundRobinPartitioner();
    expect([0, 1, 2, 3, 4, 5, 6].map(() => p.partition(ctx(null)))).toEqual([0, 1, 2, 3, 4, 5, 0]);
  });
});
