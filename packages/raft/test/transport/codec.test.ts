// Wire codec and snapshot chunking: round trips, and every rejection the receiver makes.
import { describe, expect, it } from "vitest";
import { EntryType, MessageType, type Message, type Snapshot } from "../../src/core/types.js";
import { backoffDelayMs } from "../../src/transport/backoff.js";
import { fromWireMessage, toWireMessage } from "../../src/transport/message_codec.js";
import { SnapshotAssembler, chunkSnapshot } from "../../src/transport/snapshot_chunks.js";

const peers = new Set([1, 2, 3]);
const app: Message = {
  type: MessageType.App,
  from: 1,
  to: 2,
  term: 5,
  index: 9,
  logTerm: 4,
  commit: 8,
  entries: [
    { index: 10, term: 5, type: EntryType.Normal, data: Uint8Array.of(1, 2) },
    { index: 11, term: 5, type: EntryType.Empty, data: new Uint8Array(0) },
  ],
  reject: false,
  rejectHint: 0,
};

describe("message codec", () => {
  it("round-trips a message, keeping an empty context distinct from none", () => {
    const back = fromWireMessage(toWireMessage(app), 2, peers);
    expect(back.ok && { ...back.value, entries: back.value.entries.map((e) => ({ ...e, data: [...e.data] })) }).toEqual({
      ...app,
      entries: app.entries.map((e) => ({ ...e, data: [...e.data] })),
    });
    const withCtx = fromWireMessage(toWireMessage({ ...app, entries: [], type: MessageType.ReadIndex, context: new Uint8Array(0) }), 2, peers);
    expect(withCtx.ok && withCtx.value.context?.byteLength).toBe(0);
    const noCtx = fromWireMessage(toWireMessage({ ...app, entries: [] }), 2, peers);
    expect(noCtx.ok && "context" in noCtx.value).toBe(false);
  });

  it.each([
    ["unknown sender", { ...toWireMessage(app), from: 9 }, /unknown node 9/],
    ["wrong recipient", { ...toWireMessage(app), to: 3 }, /for node 3 reached node 2/],
    ["local-only type", { ...toWireMessage(app), type: MessageType.Hup, entries: [] }, /type 0 may not travel/],
    ["snap on the stream", { ...toWireMessage(app), type: MessageType.Snap, entries: [] }, /type 11 may not travel/],
    ["entry index gap", { ...toWireMessage(app), index: 7 }, /entry 0 has index 10, expected 8/],
    ["entry from the future", { ...toWireMessage(app), term: 4 }, /term 5 outside/],
    ["unsafe integer", { ...toWireMessage(app), commit: 2 ** 60 }, /commit .* is not a valid u64/],
    ["entries on a vote", { ...toWireMessage(app), type: MessageType.Vote }, /type 5 may not carry entries/],
  ])("rejects %s", (_name, wire, reason) => {
    const r = fromWireMessage(wire, 2, peers);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe("snapshot chunks", () => {
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
  const snap: Snapshot = { meta: { index: 50, term: 3, voters: [1, 2, 3], observers: [4] }, data };
  const msg = { ...app, type: MessageType.Snap, entries: [], snapshot: snap };

  it("reassembles what it chunked", () => {
    const chunks = [...chunkSnapshot(msg, 3_000)];
    expect(chunks).toHaveLength(4);
    const a = new SnapshotAssembler(2, peers, 1 << 20);
    for (const c of chunks) a.add(c);
    const m = a.finish();
    expect(m.type).toBe(MessageType.Snap);
    expect(m.snapshot?.meta).toEqual(snap.meta);
    expect(Buffer.compare(Buffer.from(m.snapshot!.data), Buffer.from(data))).toBe(0);
  });

  it("chunks an empty snapshot into one chunk", () => {
    const chunks = [...chunkSnapshot({ ...msg, snapshot: { ...snap, data: new Uint8Array(0) } }, 3_000)];
    const a = new SnapshotAssembler(2, peers, 1 << 20);
    for (const c of chunks) a.add(c);
    expect(a.finish().snapshot?.data.byteLength).toBe(0);
  });

  it("rejects a corrupt chunk, a missing chunk, and an oversized snapshot", () => {
    const corrupt = [...chunkSnapshot(msg, 3_000)];
    corrupt[1] = { ...corrupt[1]!, data: Buffer.from(corrupt[1]!.data).fill(0) };
    const a = new SnapshotAssembler(2, peers, 1 << 20);
    a.add(corrupt[0]!);
    expect(() => a.add(corrupt[1]!)).toThrow(/offset 3000 fails its checksum/);

    const missing = [...chunkSnapshot(msg, 3_000)];
    const b = new SnapshotAssembler(2, peers, 1 << 20);
    b.add(missing[0]!);
    expect(() => b.add(missing[2]!)).toThrow(/offset 6000, expected 3000/);

    const c = new SnapshotAssembler(2, peers, 1 << 20);
    for (const ch of missing.slice(0, 3)) c.add(ch);
    expect(() => c.finish()).toThrow(/received 9000 of 10000 bytes/);

    expect(() => new SnapshotAssembler(2, peers, 100).add(missing[0]!)).toThrow(/exceeds 100/);
  });

  it("rejects a whole-data checksum mismatch even when every chunk is self-consistent", () => {
    const chunks = [...chunkSnapshot(msg, 3_000)];
    chunks[0] = { ...chunks[0]!, dataCrc32: (chunks[0]!.dataCrc32 + 1) >>> 0 };
    const a = new SnapshotAssembler(2, peers, 1 << 20);
    for (const c of chunks) a.add(c);
    expect(() => a.finish()).toThrow(/reassembled snapshot fails its checksum/);
  });
});

describe("backoff", () => {
  it("grows exponentially to the cap, with jitter in the upper half", () => {
    const p = { initialMs: 50, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelayMs(p, a, 0))).toEqual([25, 50, 100, 200, 400, 500, 500]);
    expect(backoffDelayMs(p, 0, 0.999)).toBe(50);
    expect(backoffDelayMs(p, 10, 0.5)).toBe(750);
  });
});
