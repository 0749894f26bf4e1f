import { describe, expect, it } from "vitest";
import { ProducerIdAllocator } from "../../src/service/producer_ids.js";

describe("ProducerIdAllocator", () => {
  it("hands out ids from successive blocks, one block request at a time", async () => {
    const blocks = [
      { firstProducerId: 1000, size: 2 },
      { firstProducerId: 5000, size: 2 },
    ];
    let calls = 0;
    const a = new ProducerIdAllocator(async () => {
      calls++;
      const b = blocks.shift();
      if (b === undefined) throw new Error("no more blocks");
      return b;
    });
    const ids = await Promise.all([a.nextId(), a.nextId(), a.nextId()]);
    expect(ids.sort()).toEqual([1000, 1001, 5000]);
    expect(await a.nextId()).toBe(5001);
    expect(calls).toBe(2);
    await expect(a.nextId()).rejects.toThrow(/no more blocks/);
  });
});
