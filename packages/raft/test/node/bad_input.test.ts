// Forged and malformed wire messages sent straight at a running 3-node cluster over gRPC:
// unknown senders, bogus indexes and terms, entries out of order, local-only types. None may
// crash a node or break agreement; the cluster keeps committing.
import * as grpc from "@grpc/grpc-js";
import { RaftClient, type RaftMessage } from "@brook/protocol/gen/brook/v1/raft";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { allocatePorts } from "../../src/bin/cluster_harness.js";
import { MessageType, type Entry, type NodeId } from "../../src/core/types.js";
import { RaftNode } from "../../src/node/raft_node.js";

const logger = pino({ level: "silent" });
let voters = new Map<NodeId, string>();
const nodes: RaftNode[] = [];
const applied = new Map<NodeId, string[]>();
let root = "";

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  if (root !== "") await rm(root, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function wire(over: Partial<RaftMessage>): RaftMessage {
  return {
    type: MessageType.App, from: 1, to: 2, term: 1, index: 0, logTerm: 0, commit: 0, entries: [],
    reject: false, rejectHint: 0, hasContext: false, context: Buffer.alloc(0), ...over,
  };
}

async function sendRaw(to: NodeId, messages: RaftMessage[]): Promise<void> {
  const client = new RaftClient(voters.get(to)!, grpc.credentials.createInsecure());
  await new Promise<void>((resolve) => {
    const call = client.send({ deadline: Date.now() + 10_000 }, () => resolve());
    for (const m of messages) call.write(m);
    call.end();
  });
  client.close();
}

it("survives forged and malformed messages and keeps committing", async () => {
  const ports = await allocatePorts(3);
  voters = new Map([1, 2, 3].map((id) => [id, `127.0.0.1:${ports[id - 1]}`]));
  root = await mkdtemp(join(tmpdir(), "brook-raft-bad-"));
  for (const id of [1, 2, 3]) {
    const values: string[] = [];
    applied.set(id, values);
    nodes.push(
      await RaftNode.open({
        id, voters, logger, dataDir: join(root, `n${id}`), listen: voters.get(id)!,
        stateMachine: {
          apply: (es: readonly Entry[]) => void values.push(...es.map((e) => new TextDecoder().decode(e.data))),
          snapshot: () => new Uint8Array(0),
          restore: () => undefined,
        },
      }),
    );
  }
  await until(() => nodes.some((n) => n.isLeader), "a leader");
  const lead = nodes.find((n) => n.isLeader)!;
  await lead.propose(new TextEncoder().encode("before"));
  const follower = nodes.find((n) => !n.isLeader)!;
  const term = lead.term;
  const data = Buffer.from("forged");

  await sendRaw(follower.id, [
    wire({ from: 99, to: follower.id, term }), // unknown sender
    wire({ from: lead.id, to: 42, term }), // for someone else
    wire({ type: MessageType.Hup, from: lead.id, to: follower.id, term }), // local-only type
    wire({ type: MessageType.Prop, from: lead.id, to: follower.id, term, entries: [] }), // local-only type
    // Entries that do not follow `index`, and entries from the future.
    wire({ from: lead.id, to: follower.id, term, index: 1, entries: [{ index: 7, term, type: 0, data }] }),
    wire({ from: lead.id, to: follower.id, term, index: 1, entries: [{ index: 2, term: term + 5, type: 0, data }] }),
    // A well-formed App far past the follower's log: the core must reject it, not append.
    wire({ from: lead.id, to: follower.id, term, index: 1_000_000, logTerm: term, commit: 1_000_001, entries: [{ index: 1_000_001, term, type: 0, data }] }),
    // A stale term, and a bogus vote response.
    wire({ from: lead.id, to: follower.id, term: 0, index: 3, commit: 99 }),
    wire({ type: MessageType.VoteResp, from: lead.id, to: follower.id, term }),
  ]);
  await sendRaw(lead.id, [wire({ type: MessageType.AppResp, from: follower.id, to: lead.id, term, index: 1_000_000 })]);

  for (const v of ["after1", "after2"]) await lead.propose(new TextEncoder().encode(v));
  await until(() => [...applied.values()].every((a) => a.at(-1) === "after2"), "all nodes to apply");
  for (const a of applied.values()) expect(a).toEqual(applied.get(lead.id));
  expect(applied.get(follower.id)).not.toContain("forged");
  expect(follower.status().lastIndex).toBeLessThan(1_000);
  expect(lead.commitIndex).toBeLessThan(1_000);
});
