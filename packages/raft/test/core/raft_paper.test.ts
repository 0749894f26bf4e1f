// Unit tests of the pure core, each traceable to the Raft paper (Ongaro & Ousterhout 2014,
// "§5.x") or Ongaro's thesis ("thesis §x"). Driven through RawNode over MemoryStorage.
import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../../src/core/memory_storage.js";
import { RawNode } from "../../src/core/raw_node.js";
import { EntryTooLargeError, ProposalDroppedError } from "../../src/core/errors.js";
import { EntryType, MessageType, StateRole, type Entry, type Message } from "../../src/core/types.js";
import { Harness, RecordingLogger, data, seqRng, text } from "./harness.js";

function msg(m: Partial<Message> & Pick<Message, "type" | "from" | "to" | "term">): Message {
  return { index: 0, logTerm: 0, commit: 0, entries: [], reject: false, rejectHint: 0, ...m };
}

function ents(...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ index: i + 1, term, type: EntryType.Normal, data: data(`e${i + 1}`) }));
}

function single(storageSetup?: (s: MemoryStorage) => void, voters = [1, 2, 3]): { node: RawNode; storage: MemoryStorage; logger: RecordingLogger } {
  const storage = new MemoryStorage(voters);
  storageSetup?.(storage);
  const logger = new RecordingLogger();
  const node = new RawNode({ id: 1, electionTicks: 10, heartbeatTicks: 1, storage, rng: seqRng(7), logger });
  return { node, storage, logger };
}

/** Handles one Ready like a shell and returns its messages. */
function drain(node: RawNode, storage: MemoryStorage): Message[] {
  const out: Message[] = [];
  while (node.hasReady()) {
    const rd = node.ready();
    if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
    out.push(...rd.messages, ...rd.messagesAfterPersist);
    node.advance(rd);
  }
  return out;
}

describe("§5.1 terms", () => {
  it("a leader that sees a higher term becomes a follower of that term", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    const term = h.get(1).node.status().term;
    h.get(1).node.step(msg({ type: MessageType.Heartbeat, from: 2, to: 1, term: term + 3 }));
    const st = h.get(1).node.status();
    expect(st.term).toBe(term + 3);
    expect(st.role).toBe(StateRole.Follower);
    expect(st.lead).toBe(2);
  });

  it("a request with a stale term is rejected with the current term and changes nothing", () => {
    const { node, storage } = single((s) => s.setHardState({ term: 5, vote: 0, commit: 0 }));
    node.step(msg({ type: MessageType.App, from: 2, to: 1, term: 4, entries: ents(4) }));
    const out = drain(node, storage);
    expect(storage.lastIndex()).toBe(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: MessageType.AppResp, to: 2, term: 5 });
  });
});

describe("§5.2 leader election", () => {
  it("a follower campaigns after a randomized timeout in [electionTicks, 2*electionTicks)", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const storage = new MemoryStorage([1, 2, 3]);
      const node = new RawNode({ id: 1, electionTicks: 10, heartbeatTicks: 1, storage, rng: seqRng(seed) });
      let ticks = 0;
      while (node.status().role === StateRole.Follower && ticks < 100) {
        node.tick();
        ticks++;
      }
      expect(node.status().role).toBe(StateRole.PreCandidate); // thesis §9.6: pre-vote first
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3); // actually randomized
  });

  it("a node grants at most one vote per term, first come first served", () => {
    const { node, storage } = single();
    node.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 1 }));
    node.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 1 }));
    const out = drain(node, storage);
    expect(out.map((m) => [m.to, m.reject])).toEqual([[2, false], [3, true]]);
    expect(storage.hardState().vote).toBe(2); // persisted in the same Ready as the grant
  });

  it("the vote survives a restart: the restarted node does not vote again in that term", () => {
    const h = new Harness([1, 2, 3]);
    h.get(3).node.step(msg({ type: MessageType.Vote, from: 1, to: 3, term: 1 }));
    h.processReady();
    h.restart(3);
    h.get(3).node.step(msg({ type: MessageType.Vote, from: 2, to: 3, term: 1 }));
    h.queue = [];
    h.processReady();
    expect(h.sent.filter((m) => m.type === MessageType.VoteResp && m.to === 2).map((m) => m.reject)).toEqual([true]);
  });

  it("a candidate that hears from a leader of its term steps down", () => {
    const h = new Harness([1, 2, 3], [], { preVote: false });
    h.get(2).node.campaign();
    h.processReady();
    h.queue = [];
    const term = h.get(2).node.status().term;
    expect(h.get(2).node.status().role).toBe(StateRole.Candidate);
    h.get(2).node.step(msg({ type: MessageType.App, from: 3, to: 2, term, index: 0, logTerm: 0 }));
    expect(h.get(2).node.status()).toMatchObject({ role: StateRole.Follower, lead: 3, term });
  });
});

describe("§5.3 log replication", () => {
  it("an entry commits once a majority stores it, and the commit index reaches followers", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    h.isolate(3);
    const pos = h.get(1).node.propose(data("x"));
    h.stabilize();
    expect(h.get(1).node.status().commit).toBe(pos.index);
    expect(h.get(2).applied.map(text)).toContain("x");
    expect(h.get(3).applied.map(text)).not.toContain("x");
  });

  it("a follower rejects an App whose previous entry does not match, hinting where to retry", () => {
    const { node, storage } = single((s) => {
      s.append(ents(1, 1, 1));
      s.setHardState({ term: 3, vote: 0, commit: 0 });
    });
    node.step(msg({ type: MessageType.App, from: 2, to: 1, term: 3, index: 5, logTerm: 3, entries: [] }));
    const [resp] = drain(node, storage);
    expect(resp).toMatchObject({ type: MessageType.AppResp, reject: true, index: 5, rejectHint: 3, logTerm: 1 });
  });

  it("conflicting uncommitted entries are replaced by the leader's", () => {
    const { node, storage } = single((s) => {
      s.append(ents(1, 1, 2, 2));
      s.setHardState({ term: 3, vote: 0, commit: 1 });
    });
    const mine: Entry[] = [{ index: 3, term: 3, type: EntryType.Normal, data: data("new") }];
    node.step(msg({ type: MessageType.App, from: 2, to: 1, term: 3, index: 2, logTerm: 1, entries: mine, commit: 3 }));
    drain(node, storage);
    expect(storage.lastIndex()).toBe(3);
    expect(storage.term(3)).toBe(3);
    expect(node.status().commit).toBe(3);
  });

  it("fast backtracking: a follower with a long divergent log is repaired in a few round trips", () => {
    // Follower 3 has 50 entries of term 1 that nobody else has; 1 and 2 have 50 entries of term 2.
    const h = new Harness([1, 2, 3], [], { maxSizePerMsg: 1 << 20 }, (id, s) => {
      s.append(ents(1, ...Array.from({ length: 50 }, () => (id === 3 ? 1 : 2))));
      s.setHardState({ term: 2, vote: 0, commit: 1 });
    });
    h.elect(1);
    const rejects = h.sent.filter((m) => m.type === MessageType.AppResp && m.from === 3 && m.reject).length;
    expect(rejects).toBeLessThanOrEqual(2);
    expect(h.get(3).storage.term(52)).toBe(h.get(1).node.status().term); // the new leader's empty entry
    expect(h.get(3).storage.term(51)).toBe(2);
    expect(h.get(3).storage.term(2)).toBe(2);
  });

  it("pipelining: a replicating follower gets several Apps before any is acknowledged", () => {
    const h = new Harness([1, 2, 3], [], { maxSizePerMsg: 1, maxInflightMsgs: 4 });
    h.elect(1);
    h.sent.length = 0;
    for (let i = 0; i < 6; i++) h.get(1).node.propose(data(`p${i}`));
    h.processReady();
    const apps = h.sent.filter((m) => m.type === MessageType.App && m.to === 2);
    expect(apps.length).toBe(4); // the window, not 1 and not 6
    h.stabilize();
    expect(h.get(2).applied.filter((e) => e.type === EntryType.Normal).map(text)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5"]);
  });
});

describe("§5.4 safety", () => {
  it("§5.4.1: a voter denies a candidate whose log is less up to date", () => {
    const { node, storage } = single((s) => {
      s.append(ents(1, 2));
      s.setHardState({ term: 2, vote: 0, commit: 0 });
    });
    node.step(msg({ type: MessageType.Vote, from: 2, to: 1, term: 3, index: 5, logTerm: 1 })); // longer, older
    node.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 4, index: 1, logTerm: 1 }));
    node.step(msg({ type: MessageType.Vote, from: 3, to: 1, term: 5, index: 2, logTerm: 2 })); // as up to date
    expect(drain(node, storage).map((m) => [m.from, m.to, m.reject])).toEqual([[1, 2, true], [1, 3, true], [1, 3, false]]);
  });

  // Figure 8: node 1 holds an entry of term 2 that nobody else has. Elected at term 3, it
  // replicates that entry to node 2, but its own term-3 entry never arrives anywhere.
  function figure8(bugs: boolean): number {
    const h = new Harness([1, 2, 3], [], { maxSizePerMsg: 1, ...(bugs ? { testingBugs: { commitPreviousTermByCount: true } } : {}) }, (id, s) => {
      s.append(id === 1 ? ents(1, 2) : ents(1));
      s.setHardState({ term: 2, vote: 0, commit: 1 });
    });
    // Probes that a follower lacking index 2 rejects get through; the term-3 entry itself never lands.
    h.drop = (m) => m.type === MessageType.App && m.entries.some((e) => e.term === 3) && h.get(m.to).storage.lastIndex() >= 2;
    h.elect(1);
    expect(h.get(2).storage.term(2)).toBe(2); // a majority (1 and 2) stores the term-2 entry
    return h.get(1).node.status().commit;
  }

  it("§5.4.2: a leader never commits an earlier term's entry by counting replicas", () => {
    expect(figure8(false)).toBe(1);
  });

  it("§5.4.2: ... and the test-only bug flag does exactly that (so the check can fail)", () => {
    expect(figure8(true)).toBe(2);
  });

  it("a new leader commits earlier entries by committing an empty entry of its own term", () => {
    const h = new Harness([1, 2, 3], [], {}, (id, s) => {
      s.append(id === 1 ? ents(1, 2) : ents(1));
      s.setHardState({ term: 2, vote: 0, commit: 1 });
    });
    h.elect(1);
    const st = h.get(1).node.status();
    expect(st.commit).toBe(3);
    const empty = h.get(2).applied.find((e) => e.index === 3)!;
    expect(empty).toMatchObject({ type: EntryType.Empty, term: st.term });
  });
});

describe("thesis §9.6 pre-vote and §6.2 check-quorum", () => {
  it("a partitioned node does not inflate its term and does not depose the leader when it rejoins", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    const term = h.get(1).node.status().term;
    h.isolate(3);
    for (let i = 0; i < 100; i++) {
      h.tickAll();
      h.stabilize();
    }
    expect(h.get(3).node.status().term).toBe(term);
    h.heal();
    for (let i = 0; i < 30; i++) {
      h.tickAll();
      h.stabilize();
    }
    expect(h.get(1).node.status()).toMatchObject({ role: StateRole.Leader, term });
    expect(h.get(3).node.status().lead).toBe(1);
  });

  it("a leader that cannot hear from a quorum steps down", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    h.isolate(1);
    for (let i = 0; i < 25; i++) {
      h.get(1).node.tick();
      h.stabilize();
    }
    expect(h.get(1).node.status().role).not.toBe(StateRole.Leader);
  });
});

describe("thesis §3.10 leadership transfer", () => {
  it("the target takes over via TimeoutNow; proposals during the transfer are refused", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    h.isolate(2);
    h.get(1).node.propose(data("lagging"));
    h.stabilize();
    h.get(1).node.transferLeader(2);
    expect(() => h.get(1).node.propose(data("during"))).toThrow(ProposalDroppedError);
    h.heal();
    for (let i = 0; i < 5 && h.get(2).node.status().role !== StateRole.Leader; i++) {
      h.tickAll();
      h.stabilize();
    }
    expect(h.get(2).node.status().role).toBe(StateRole.Leader);
    expect(h.get(1).node.status().lead).toBe(2);
    expect(h.sent.some((m) => m.type === MessageType.TimeoutNow && m.to === 2)).toBe(true);
  });
});

describe("thesis §6.4 ReadIndex", () => {
  it("the leader answers after a quorum confirms its leadership; a follower's read is forwarded", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    h.get(1).node.propose(data("w"));
    h.stabilize();
    const commit = h.get(1).node.status().commit;
    h.get(1).node.readIndex(data("r1"));
    h.get(3).node.readIndex(data("r2"));
    h.stabilize();
    expect(h.get(1).reads.map((r) => [text({ data: r.context } as Entry), r.index])).toEqual([["r1", commit]]);
    expect(h.get(3).reads.map((r) => [text({ data: r.context } as Entry), r.index])).toEqual([["r2", commit]]);
  });

  it("an isolated leader cannot serve a read", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    h.isolate(1);
    h.get(1).node.readIndex(data("r"));
    h.stabilize();
    expect(h.get(1).reads).toEqual([]);
  });

  it("a new leader holds reads until it has committed an entry of its term", () => {
    const h = new Harness([1, 2, 3]);
    h.drop = (m) => m.type === MessageType.App; // nothing replicates, so the Empty entry cannot commit
    h.elect(1);
    expect(h.get(1).node.status().role).toBe(StateRole.Leader);
    h.get(1).node.readIndex(data("r"));
    h.stabilize();
    expect(h.get(1).reads).toEqual([]);
    h.drop = undefined;
    for (let i = 0; i < 3; i++) {
      h.tickAll();
      h.stabilize();
    }
    expect(h.get(1).reads.map((r) => r.index)).toEqual([h.get(1).node.status().commit]);
  });
});

describe("observers", () => {
  it("follow the committed log but never vote, campaign, or count toward a quorum", () => {
    const h = new Harness([1, 2, 3], [4]);
    h.elect(1);
    h.get(1).node.propose(data("x"));
    h.stabilize();
    expect(h.get(4).node.status().role).toBe(StateRole.Observer);
    expect(h.get(4).applied.map(text)).toContain("x");
    for (let i = 0; i < 50; i++) h.get(4).node.tick();
    h.get(4).node.campaign();
    h.processReady();
    expect(h.sent.some((m) => m.from === 4 && (m.type === MessageType.Vote || m.type === MessageType.PreVote))).toBe(false);
    h.get(4).node.step(msg({ type: MessageType.Vote, from: 2, to: 4, term: 9, index: 99, logTerm: 9 }));
    h.processReady();
    expect(h.sent.filter((m) => m.from === 4 && m.type === MessageType.VoteResp).map((m) => m.reject)).toEqual([true]);
    // With two voters cut off, leader + observer are not a quorum.
    h.isolate(2);
    h.isolate(3);
    const pos = h.get(1).node.propose(data("y"));
    h.stabilize();
    expect(h.get(1).node.status().commit).toBeLessThan(pos.index);
  });
});

describe("snapshots", () => {
  it("a follower that needs compacted entries gets the leader's snapshot", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    h.isolate(3);
    for (let i = 0; i < 10; i++) h.get(1).node.propose(data(`w${i}`));
    h.stabilize();
    const leader = h.get(1);
    const applied = leader.node.status().applied;
    leader.storage.createSnapshot(applied, data("state"));
    leader.storage.compact(applied);
    h.heal();
    for (let i = 0; i < 5; i++) {
      h.tickAll();
      h.stabilize();
    }
    expect(h.sent.some((m) => m.type === MessageType.Snap && m.to === 3)).toBe(true);
    expect(h.get(3).storage.snapshot().meta.index).toBe(applied);
    expect(h.get(3).node.status().applied).toBeGreaterThanOrEqual(applied);
  });
});

describe("bad input is logged and dropped, never thrown", () => {
  const bogus: [string, Message][] = [
    ["unknown node", msg({ type: MessageType.App, from: 9, to: 1, term: 1, entries: ents(1) })],
    ["negative term", msg({ type: MessageType.App, from: 2, to: 1, term: -1 })],
    ["fractional index", msg({ type: MessageType.App, from: 2, to: 1, term: 1, index: 0.5 })],
    ["NaN commit", msg({ type: MessageType.Heartbeat, from: 2, to: 1, term: 1, commit: Number.NaN })],
    ["non-contiguous entries", msg({ type: MessageType.App, from: 2, to: 1, term: 1, entries: [{ index: 3, term: 1, type: EntryType.Normal, data: data("x") }] })],
    ["entry term above message term", msg({ type: MessageType.App, from: 2, to: 1, term: 1, entries: [{ index: 1, term: 7, type: EntryType.Normal, data: data("x") }] })],
    ["Snap without snapshot", msg({ type: MessageType.Snap, from: 2, to: 1, term: 1 })],
    ["Snap with a snapshot but no metadata", { ...msg({ type: MessageType.Snap, from: 2, to: 1, term: 1 }), snapshot: { data: new Uint8Array() } } as unknown as Message],
    ["local type from the wire", msg({ type: MessageType.Hup, from: 2, to: 1, term: 0 })],
    ["misaddressed", msg({ type: MessageType.Heartbeat, from: 2, to: 3, term: 1 })],
    ["unknown type", msg({ type: 99 as MessageType, from: 2, to: 1, term: 1 })],
  ];
  for (const [what, m] of bogus) {
    it(what, () => {
      const { node, storage, logger } = single();
      expect(() => node.step(m)).not.toThrow();
      expect(drain(node, storage).length).toBe(0);
      expect(storage.lastIndex()).toBe(0);
      expect(node.status().term).toBe(0);
      if (m.type !== MessageType.Hup) expect(logger.lines.some((l) => l.startsWith("WARN"))).toBe(true);
    });
  }

  it("an ack past the leader's log and a heartbeat commit past the follower's log are ignored", () => {
    const h = new Harness([1, 2, 3]);
    h.elect(1);
    const before = h.get(1).node.status().commit;
    const term = h.get(1).node.status().term;
    h.get(1).node.step(msg({ type: MessageType.AppResp, from: 2, to: 1, term, index: 1000 }));
    h.get(1).node.step(msg({ type: MessageType.AppResp, from: 3, to: 1, term, index: 1000 }));
    expect(h.get(1).node.status().commit).toBe(before);
    h.get(2).node.step(msg({ type: MessageType.Heartbeat, from: 1, to: 2, term, commit: 1000 }));
    expect(h.get(2).node.status().commit).toBeLessThanOrEqual(h.get(2).node.status().lastIndex);
    expect(h.get(1).logger.lines.some((l) => l.includes("past our last index"))).toBe(true);
  });

  it("an oversized proposal is refused with EntryTooLargeError and nothing is appended", () => {
    const h = new Harness([1, 2, 3], [], { maxEntryBytes: 16 });
    h.elect(1);
    const last = h.get(1).node.status().lastIndex;
    expect(() => h.get(1).node.propose(new Uint8Array(17))).toThrow(EntryTooLargeError);
    expect(h.get(1).node.status().lastIndex).toBe(last);
  });

  it("a stored commit beyond the stored log is reported as a corrupt store", () => {
    expect(() => single((s) => s.setHardState({ term: 1, vote: 0, commit: 5 }))).toThrow(/corrupt/);
  });
});
