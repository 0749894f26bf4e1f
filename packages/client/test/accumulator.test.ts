import { describe, expect, it } from "vitest";
import { Accumulator, type Batch, splitBatch } from "../src/producer/accumulator.js";

const rec = (size: number, id: number) => ({ record: { key: null, value: null, headers: [], timestamp: 0 }, size, handle: id });
const all = () => true;

describe("Accumulator", () => {
  it("holds a partial batch for linger.ms, then releases it (time injected)", () => {
    const acc = new Accumulator<number>({ batchSize: 1000, lingerMs: 10, bufferMemory: 10_000 });
    acc.append("t", 0, rec(100, 1), 0);
    expect(acc.drain(5, all)).toEqual([]);
    expect(acc.nextReadyDelay(5)).toBe(5);
    const [b] = acc.drain(10, all);
    expect(b!.records.map((r) => r.handle)).toEqual([1]);
  });

  it("closes a batch at batch.size and sends it at once; one batch per partition per drain", () => {
    const acc = new Accumulator<number>({ batchSize: 250, lingerMs: 1_000, bufferMemory: 10_000 });
    for (let i = 0; i < 6; i++) acc.append("t", 0, rec(100, i), 0);
    acc.append("t", 1, rec(100, 9), 0);
    const first = acc.drain(0, all);
    expect(first.map((b) => b.records.map((r) => r.handle))).toEqual([[0, 1]]);
    expect(acc.drain(0, all).map((b) => b.records.map((r) => r.handle))).toEqual([[2, 3]]);
    // The open batch [4, 5] and partition 1 wait for linger.
    expect(acc.drain(0, all)).toEqual([]);
    expect(acc.drain(1_000, all).length).toBe(2);
  });

  it("flush makes open batches ready without waiting", () => {
    const acc = new Accumulator<number>({ batchSize: 1000, lingerMs: 60_000, bufferMemory: 10_000 });
    acc.append("t", 0, rec(10, 1), 0);
    acc.beginFlush();
    expect(acc.drain(0, all).length).toBe(1);
  });

  it("bounds memory: reserve refuses past buffer.memory until released", () => {
    const acc = new Accumulator<number>({ batchSize: 1000, lingerMs: 0, bufferMemory: 1_000 });
    expect(acc.reserve(600)).toBe(true);
    expect(acc.reserve(600)).toBe(false);
    acc.release(600);
    expect(acc.reserve(600)).toBe(true);
    expect(acc.usedBytes).toBe(600);
  });

  it("requeues a failed batch ahead of later ones and honours its retry time", () => {
    const acc = new Accumulator<number>({ batchSize: 100, lingerMs: 0, bufferMemory: 10_000 });
    acc.append("t", 0, rec(100, 1), 0);
    acc.append("t", 0, rec(100, 2), 0);
    const [b1] = acc.drain(0, all);
    b1!.baseSequence = 0;
    b1!.retryAtMs = 50;
    acc.requeue(b1!);
    expect(acc.drain(10, all)).toEqual([]); // head is backing off; order is kept
    expect(acc.drain(50, all)[0]!.records[0]!.handle).toBe(1);
    expect(acc.drain(50, all)[0]!.records[0]!.handle).toBe(2);
  });

  it("removes expired batches in place, keeping the order of the rest", () => {
    const acc = new Accumulator<number>({ batchSize: 100, lingerMs: 0, bufferMemory: 10_000 });
    acc.append("t", 0, rec(100, 1), 0);
    acc.append("t", 0, rec(100, 2), 5);
    acc.append("t", 0, rec(100, 3), 6);
    expect(acc.removeWhere((b) => b.createdMs < 5).map((b) => b.records[0]!.handle)).toEqual([1]);
    expect(acc.drain(10, all)[0]!.records[0]!.handle).toBe(2);
    expect(acc.drain(10, all)[0]!.records[0]!.handle).toBe(3);
  });

  it("keeps partitions of several topics apart, draining each queue in creation order", () => {
    const acc = new Accumulator<number>({ batchSize: 100, lingerMs: 0, bufferMemory: 10_000 });
    acc.append("a", 3, rec(100, 1), 0);
    acc.append("b", 3, rec(100, 2), 0);
    acc.append("a", 0, rec(100, 3), 0);
    acc.append("a", 3, rec(100, 4), 0);
    const first = acc.drain(0, all).map((b) => [b.topic, b.partition, b.records[0]!.handle]);
    expect(first).toEqual([
      ["a", 3, 1],
      ["b", 3, 2],
      ["a", 0, 3],
    ]);
    expect(acc.drain(0, all).map((b) => [b.topic, b.partition, b.records[0]!.handle])).toEqual([["a", 3, 4]]);
    expect(acc.queuedBatches).toBe(0);
  });

  it("tells whether a record would open a new batch (none open, or the open one is full)", () => {
    const acc = new Accumulator<number>({ batchSize: 250, lingerMs: 1_000, bufferMemory: 10_000 });
    expect(acc.wouldOpenBatch("t", 0, 100)).toBe(true);
    acc.append("t", 0, rec(100, 1), 0);
    expect(acc.wouldOpenBatch("t", 0, 100)).toBe(false);
    acc.append("t", 0, rec(100, 2), 0);
    expect(acc.wouldOpenBatch("t", 0, 100)).toBe(true);
    expect(acc.wouldOpenBatch("t", 1, 1)).toBe(true);
    acc.beginFlush();
    acc.drain(0, all);
    expect(acc.wouldOpenBatch("t", 0, 1)).toBe(true); // drained: the next record starts a batch
  });

  it("does not drain partitions the sender refuses (in-flight limit, unknown leader)", () => {
    const acc = new Accumulator<number>({ batchSize: 100, lingerMs: 0, bufferMemory: 10_000 });
    acc.append("t", 0, rec(10, 1), 0);
    expect(acc.drain(0, () => false)).toEqual([]);
    expect(acc.drain(0, all).length).toBe(1);
  });
});

describe("splitBatch (a batch the topic's max.message.bytes refused)", () => {
  const batch = (n: number, baseSequence: number): Batch<number> => ({
    topic: "t",
    partition: 3,
    createdMs: 42,
    records: Array.from({ length: n }, (_, i) => rec(10 + i, i)),
    bytes: Array.from({ length: n }, (_, i) => 10 + i).reduce((a, b) => a + b, 0),
    baseSequence,
    attempts: 2,
    retryAtMs: 99,
  });

  it("halves the records in order, sharing the sequence range and the bytes", () => {
    const b = batch(5, 100);
    const [first, second] = splitBatch(b);
    expect(first.records.map((r) => r.handle)).toEqual([0, 1, 2]);
    expect(second.records.map((r) => r.handle)).toEqual([3, 4]);
    expect([first.baseSequence, second.baseSequence]).toEqual([100, 103]);
    expect(first.bytes + second.bytes).toBe(b.bytes);
    expect([first.topic, first.partition, first.createdMs, first.attempts, first.retryAtMs]).toEqual(["t", 3, 42, 2, 0]);
    expect([second.createdMs, second.retryAtMs]).toEqual([42, 0]);
  });

  it("keeps sequences unassigned for a producer that is not idempotent, wraps them at 2^31, and refuses one record", () => {
    const [, plain] = splitBatch(batch(4, -1));
    expect(plain.baseSequence).toBe(-1);
    const [, wrapped] = splitBatch(batch(4, 2 ** 31 - 1));
    expect(wrapped.baseSequence).toBe(1);
    expect(() => splitBatch(batch(1, 0))).toThrow(RangeError);
  });
});
