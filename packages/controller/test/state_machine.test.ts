import { describe, expect, it } from "vitest";
import { encodeBatch, encodeSnapshot, imageDigest, rec } from "../src/image/records.js";
import { MetadataStateMachine } from "../src/server/metadata_state_machine.js";

const id = (n: number) => {
  const b = Buffer.alloc(16);
  b[15] = n;
  return b;
};
const topicEntry = (index: number, name: string, n: number) => ({ index, term: 1, type: 0, data: encodeBatch([rec({ $case: "topic", topic: { name, topicId: id(n) } })]) }) as never;

describe("MetadataStateMachine", () => {
  it("skips an entry that contradicts the image, whole and deterministically, and keeps going", () => {
    const rejected: number[] = [];
    const a = new MetadataStateMachine((o) => rejected.push(o));
    const b = new MetadataStateMachine();
    const entries = [topicEntry(1, "x", 1), topicEntry(2, "x", 2), topicEntry(3, "y", 3)];
    a.apply(entries);
    for (const e of entries) b.apply([e]);
    expect(rejected).toEqual([2]);
    expect(a.rejection(2)).toMatch(/already exists/);
    expect([...a.image.topics.byName.keys()]).toEqual(["x", "y"]);
    expect(a.image.offset).toBe(3);
    expect(imageDigest(a.image)).toBe(imageDigest(b.image));
    expect(a.batchesFrom(1)?.map((x) => x.offset)).toEqual([1, 3]);
    expect(a.batchesFrom(2)?.map((x) => x.offset)).toEqual([3]);
  });

  it("after a restore, offsets before the snapshot are only available as the snapshot", () => {
    const src = new MetadataStateMachine();
    src.apply([topicEntry(4, "a", 1), topicEntry(7, "b", 2)]);
    const sm = new MetadataStateMachine();
    const events: string[] = [];
    sm.listen((e) => events.push(e.kind));
    sm.restore({ meta: { index: 7, term: 1, voters: [1], observers: [] }, data: encodeSnapshot(src.image) } as never);
    expect(imageDigest(sm.image)).toBe(imageDigest(src.image));
    expect(sm.batchesFrom(1)).toBeUndefined();
    expect(sm.batchesFrom(7)).toBeUndefined();
    expect(sm.batchesFrom(8)).toEqual([]);
    sm.apply([topicEntry(9, "c", 3)]);
    expect(sm.batchesFrom(8)?.map((x) => x.offset)).toEqual([9]);
    expect(events).toEqual(["restored", "batches"]);
  });
});
