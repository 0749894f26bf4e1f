import { describe, expect, it } from "vitest";
import { EntryType, MessageType, StateRole } from "../../src/core/types.js";
import { NotLeaderError } from "../../src/core/errors.js";
import { Harness, data, text } from "./harness.js";

describe("RawNode basics", () => {
  it("elects a leader and replicates a proposal to every voter (Raft §5.2, §5.3)", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    expect(h.get(1).node.status().role).toBe(StateRole.Leader);
    expect(h.get(2).node.status().lead).toBe(1);
    const pos = h.get(1).node.propose(data("hello"));
    h.stabilize();
    for (const id of [1, 2, 3]) {
      const normal = h.get(id).applied.filter((e) => e.type === EntryType.Normal);
      expect(normal.map(text)).toEqual(["hello"]);
      expect(normal[0]!.index).toBe(pos.index);
      expect(normal[0]!.term).toBe(pos.term);
    }
  });

  it("refuses proposals on a follower, naming the leader", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    expect(() => h.get(2).node.propose(data("x"))).toThrow(NotLeaderError);
    try {
      h.get(2).node.propose(data("x"));
    } catch (e) {
      expect((e as NotLeaderError).leader).toBe(1);
    }
  });
});

describe("RawNode with an asynchronous shell (inputs arrive between ready() and persisted())", () => {
  it("the leader's Apps leave before its save; its own entries count toward commit only once persisted", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    const leader = h.get(1);
    const term = leader.node.status().term;
    leader.node.propose(data("a"));
    const rd1 = leader.node.ready(); // persisting "a" is now in flight
    expect(rd1.entries.map(text)).toEqual(["a"]);
    // Thesis §10.2.1: the App carrying "a" may go out while the leader writes it.
    expect(rd1.messages.filter((m) => m.type === MessageType.App && m.entries.length === 1).map((m) => m.to).sort()).toEqual([2, 3]);
    leader.node.proposeBatch([data("b"), data("c")]); // arrives while rd1 is being persisted
    const ack = (from: number, index: number) =>
      leader.node.step({ type: MessageType.AppResp, from, to: 1, term, index, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0 });
    ack(2, 4);
    // One follower's durable copy plus the leader's unsynced one is not a quorum of durable copies.
    expect(leader.node.status().commit).toBe(1);
    leader.storage.append(rd1.entries);
    leader.node.persisted(rd1);
    expect(leader.node.status().commit).toBe(2); // "a": leader and follower 2 hold it durably
    const rd2 = leader.node.ready();
    expect(rd2.entries.map(text)).toEqual(["b", "c"]);
    expect(rd2.committedEntries.map(text)).toEqual(["a"]); // committed and durable: apply now
    leader.node.applied(rd2);
    expect(leader.node.status().applied).toBe(2);
    leader.storage.append(rd2.entries);
    leader.node.persisted(rd2);
    expect(leader.node.status().commit).toBe(4);
    const rd3 = leader.node.ready();
    expect(rd3.committedEntries.map(text)).toEqual(["b", "c"]);
    leader.node.advance(rd3);
    expect(leader.node.hasReady()).toBe(false);
    expect(leader.node.status().applied).toBe(4);
  });

  it("a quorum of followers commits without the leader's copy, but nothing is applied before it is durable here", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    const leader = h.get(1);
    const term = leader.node.status().term;
    leader.node.propose(data("a"));
    const rd1 = leader.node.ready();
    for (const from of [2, 3]) {
      leader.node.step({ type: MessageType.AppResp, from, to: 1, term, index: 2, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0 });
    }
    expect(leader.node.status().commit).toBe(2);
    const rd2 = leader.node.ready();
    expect(rd2.committedEntries).toEqual([]); // "a" is committed, but not yet on our disk
    leader.node.advance(rd2);
    leader.storage.append(rd1.entries);
    leader.node.advance(rd1);
    expect(leader.node.ready().committedEntries.map(text)).toEqual(["a"]);
  });

  it("append acks, votes and vote requests wait for the save; pre-votes and heartbeat answers do not", () => {
    const h = new Harness([1, 2, 3]);
    const f = h.get(2);
    f.node.step({
      type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, commit: 0, reject: false, rejectHint: 0,
      entries: [{ index: 1, term: 1, type: EntryType.Normal, data: data("x") }],
    });
    f.node.step({ type: MessageType.Heartbeat, from: 1, to: 2, term: 1, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0 });
    const rd = f.node.ready();
    expect(rd.messagesAfterPersist.map((m) => m.type)).toEqual([MessageType.AppResp]);
    expect(rd.messages.map((m) => m.type)).toEqual([MessageType.HeartbeatResp]);
    const c = h.get(3).node;
    c.campaign(); // pre-vote: changes neither term nor vote, so nothing to wait for
    const pre = c.ready();
    expect(pre.messages.map((m) => m.type)).toEqual([MessageType.PreVote, MessageType.PreVote]);
    c.advance(pre);
    for (const from of [1, 2]) c.step({ type: MessageType.PreVoteResp, from, to: 3, term: 1, index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0 });
    const vote = c.ready();
    expect(vote.hardState).toMatchObject({ term: 1, vote: 3 });
    expect(vote.messages.filter((m) => m.type === MessageType.Vote)).toEqual([]);
    expect(vote.messagesAfterPersist.filter((m) => m.type === MessageType.Vote).length).toBe(2);
  });

  it("a follower whose in-flight entries are replaced before advance() persists the replacement", () => {
    const h = new Harness([1, 2, 3]);
    const f = h.get(2);
    const app = (term: number, index: number, logTerm: number, entries: { index: number; term: number; d: string }[]) =>
      f.node.step({
        type: MessageType.App, from: 1, to: 2, term, index, logTerm, commit: 0, reject: false, rejectHint: 0,
        entries: entries.map((e) => ({ index: e.index, term: e.term, type: EntryType.Normal, data: data(e.d) })),
      });
    app(1, 0, 0, [{ index: 1, term: 1, d: "old1" }, { index: 2, term: 1, d: "old2" }]);
    const rd1 = f.node.ready();
    expect(rd1.entries.map(text)).toEqual(["old1", "old2"]);
    app(2, 1, 1, [{ index: 2, term: 2, d: "new2" }]); // a new leader overwrites index 2 meanwhile
    f.storage.append(rd1.entries);
    if (rd1.hardState) f.storage.setHardState(rd1.hardState);
    f.node.advance(rd1); // must not mark the replacement as stable
    const rd2 = f.node.ready();
    expect(rd2.entries.map(text)).toEqual(["new2"]);
    f.storage.append(rd2.entries);
    f.node.advance(rd2);
    expect(f.storage.term(2)).toBe(2);
    expect(f.node.status().lastIndex).toBe(2);
  });
});
