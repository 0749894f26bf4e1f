// A leader's uncommitted proposals whose entries a newer leader truncates must fail promptly
// with ProposalDroppedError, even when the new log is shorter and nothing is ever written at
// their index again (they would otherwise wait forever).
//
// Setup, deterministic: node 1 leads with a 30 s election timeout (it never campaigns). Nodes 2
// and 3 stop; node 1 appends X and Y, which cannot commit. Nodes 2 and 3 come back on new ports
// that node 1 does not know, so node 1 cannot replicate X and Y to them; one of them wins the
// next term, and its first App truncates node 1's log after the common prefix.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { ProposalDroppedError } from "../../src/core/errors.js";
import { allocatePorts } from "../../src/bin/cluster_harness.js";
import type { NodeId } from "../../src/core/types.js";
import { RaftNode } from "../../src/node/raft_node.js";

const logger = pino({ level: "silent" });
let oldVoters = new Map<NodeId, string>();
let newVoters = new Map<NodeId, string>();
const nodes = new Map<NodeId, RaftNode>();
let root = "";

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.close()));
  if (root !== "") await rm(root, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function open(id: NodeId, voters: Map<NodeId, string>, electionTimeoutMs = 300): Promise<RaftNode> {
  const node = await RaftNode.open({
    id, voters, logger, electionTimeoutMs, dataDir: join(root, `n${id}`), listen: voters.get(id)!,
    stateMachine: { apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => undefined },
  });
  nodes.set(id, node);
  return node;
}

it("fails proposals whose entries a newer leader truncated", async () => {
  const ports = (await allocatePorts(5)).map((p) => `127.0.0.1:${p}`);
  oldVoters = new Map([[1, ports[0]!], [2, ports[1]!], [3, ports[2]!]]);
  newVoters = new Map([[1, ports[0]!], [2, ports[3]!], [3, ports[4]!]]);
  root = await mkdtemp(join(tmpdir(), "brook-raft-overwrite-"));
  const n1 = await open(1, oldVoters, 30_000);
  await open(2, oldVoters);
  await open(3, oldVoters);
  await until(() => [...nodes.values()].some((n) => n.isLeader), "a leader");
  const first = [...nodes.values()].find((n) => n.isLeader)!;
  if (first.id !== 1) await first.transferLeadership(1);
  await until(() => n1.isLeader, "node 1 to lead");
  await n1.propose(new TextEncoder().encode("committed"));

  for (const id of [2, 3] as const) {
    await nodes.get(id)!.close();
    nodes.delete(id);
  }
  const x = n1.propose(new TextEncoder().encode("X")).then(() => "committed", (e: unknown) => e);
  const y = n1.propose(new TextEncoder().encode("Y")).then(() => "committed", (e: unknown) => e);

  await open(2, newVoters);
  await open(3, newVoters);
  await until(() => nodes.get(2)!.isLeader || nodes.get(3)!.isLeader, "node 2 or 3 to lead");
  const [xr, yr] = await Promise.all([x, y]);
  expect(xr).toBeInstanceOf(ProposalDroppedError);
  expect(yr).toBeInstanceOf(ProposalDroppedError);
  expect(n1.isLeader).toBe(false);
});
