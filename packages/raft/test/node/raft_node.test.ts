// Three RaftNodes in this process, each with its own level store in a temp dir and its own
// gRPC server on loopback: election, replication, redirects, reads, leadership transfer,
// restart from disk, and catch-up of a wiped node through a snapshot.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allocatePorts } from "../../src/bin/cluster_harness.js";
import type { Entry, NodeId, Snapshot } from "../../src/core/types.js";
import { EntryTooLargeError } from "../../src/core/errors.js";
import { NotLeaderError } from "../../src/node/errors.js";
import { RaftNode } from "../../src/node/raft_node.js";
import type { StateMachine } from "../../src/node/state_machine.js";

const logger = pino({ level: process.env.RAFT_TEST_LOG ?? "silent" });
let voters = new Map<NodeId, string>();

class ListMachine implements StateMachine {
  values: string[] = [];
  apply(entries: readonly Entry[]): void {
    for (const e of entries) this.values.push(new TextDecoder().decode(e.data));
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.values));
  }
  restore(s: Snapshot): void {
    this.values = JSON.parse(new TextDecoder().decode(s.data)) as string[];
  }
}

let root: string;
const nodes = new Map<NodeId, RaftNode>();
const machines = new Map<NodeId, ListMachine>();

async function openNode(id: NodeId): Promise<RaftNode> {
  const sm = new ListMachine();
  const node = await RaftNode.open({
    id,
    voters,
    dataDir: join(root, `n${id}`),
    stateMachine: sm,
    logger,
    listen: voters.get(id)!,
    snapshotEveryEntries: 20,
  });
  nodes.set(id, node);
  machines.set(id, sm);
  return node;
}

async function until<T>(fn: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const leader = (): Promise<RaftNode> => until(() => [...nodes.values()].find((n) => n.isLeader), "a leader");

/** Proposes through whoever leads, retrying across elections, as a client would. */
async function propose(value: string): Promise<void> {
  for (;;) {
    try {
      await (await leader()).propose(new TextEncoder().encode(value));
      return;
    } catch (err) {
      if (!(err instanceof NotLeaderError)) throw err;
    }
  }
}

beforeAll(async () => {
  const ports = await allocatePorts(3);
  voters = new Map([1, 2, 3].map((id) => [id, `127.0.0.1:${ports[id - 1]}`]));
  root = await mkdtemp(join(tmpdir(), "brook-raft-node-"));
  await Promise.all([1, 2, 3].map(openNode));
});

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.close()));
  await rm(root, { recursive: true, force: true });
});

describe("RaftNode (3 nodes, one process)", () => {
  it("elects one leader and replicates proposals to every state machine in order", async () => {
    const lead = await leader();
    expect([...nodes.values()].filter((n) => n.isLeader)).toHaveLength(1);
    const results = await Promise.all(["a", "b", "c"].map((v) => lead.propose(new TextEncoder().encode(v))));
    expect(results.map((r) => r.term)).toEqual([lead.term, lead.term, lead.term]);
    expect(results[1]!.index).toBe(results[0]!.index + 1);
    expect(machines.get(lead.id)!.values).toEqual(["a", "b", "c"]);
    await until(() => [...machines.values()].every((m) => m.values.length === 3), "followers to apply");
    for (const m of machines.values()) expect(m.values).toEqual(["a", "b", "c"]);
  });

  it("group-commits: a burst of proposals shares a few synced writes", async () => {
    const lead = await leader();
    const before = lead.status().syncedWrites;
    const burst = Array.from({ length: 500 }, (_, i) => lead.propose(new TextEncoder().encode(`burst${i}`)));
    await Promise.all(burst);
    const writes = lead.status().syncedWrites - before;
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(50);
    await until(() => [...machines.values()].every((m) => m.values.length === 503), "followers to apply the burst");
  });

  it("rejects a proposal on a follower with the leader's id and address", async () => {
    const lead = await leader();
    const follower = [...nodes.values()].find((n) => !n.isLeader)!;
    await until(() => follower.leaderId === lead.id, "follower to know the leader");
    const err = await follower.propose(Uint8Array.of(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderId).toBe(lead.id);
    expect((err as NotLeaderError).leaderAddress).toBe(voters.get(lead.id));
    expect(follower.leaderAddress).toBe(voters.get(lead.id));
  });

  it("rejects an oversized proposal with a typed error and keeps serving", async () => {
    const lead = await leader();
    const before = lead.status().lastIndex;
    const err = await lead.propose(new Uint8Array(2 * 1024 * 1024)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EntryTooLargeError);
    expect((err as EntryTooLargeError).code).toBe("MESSAGE_TOO_LARGE");
    expect(lead.status().lastIndex).toBe(before);
  });

  it("serves a linearizable read on a follower after the leader's writes", async () => {
    const lead = await leader();
    await lead.propose(new TextEncoder().encode("d"));
    const follower = [...nodes.values()].find((n) => !n.isLeader)!;
    await follower.readIndex();
    expect(machines.get(follower.id)!.values.at(-1)).toBe("d");
  });

  it("transfers leadership on request", async () => {
    const lead = await leader();
    const target = [...nodes.values()].find((n) => !n.isLeader)!;
    await lead.transferLeadership(target.id);
    await until(() => target.isLeader, "target to lead");
    await propose("e");
    expect(machines.get(target.id)!.values.at(-1)).toBe("e");
  });

  it("restarts a node from its own disk and catches it up", async () => {
    const follower = [...nodes.values()].find((n) => !n.isLeader)!;
    await follower.close();
    nodes.delete(follower.id);
    await propose("f");
    const back = await openNode(follower.id);
    await propose("g");
    await until(() => machines.get(back.id)!.values.at(-1) === "g", "restarted node to catch up");
    const lead = await leader();
    expect(machines.get(back.id)!.values).toEqual(machines.get(lead.id)!.values);
    expect(machines.get(back.id)!.values.slice(-4)).toEqual(["d", "e", "f", "g"]);
  });

  it("restores a wiped node from a snapshot after the log was compacted", async () => {
    const follower = [...nodes.values()].find((n) => !n.isLeader)!;
    await follower.close();
    nodes.delete(follower.id);
    await rm(join(root, `n${follower.id}`), { recursive: true, force: true });
    for (let i = 0; i < 50; i++) await propose(`x${i}`);
    const lead = await leader();
    expect(lead.status().snapshotIndex).toBeGreaterThan(0);
    const back = await openNode(follower.id);
    await until(() => machines.get(back.id)!.values.at(-1) === "x49", "wiped node to catch up");
    expect(machines.get(back.id)!.values).toEqual(machines.get(lead.id)!.values);
    expect(back.status().snapshotIndex).toBeGreaterThan(0);
  });
});
