// An observer (non-voting member, as a broker on the metadata log) follows the committed log
// of three voters over real gRPC, never leads, and the voters commit without it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { allocatePorts } from "../../src/bin/cluster_harness.js";
import type { Entry, NodeId, Snapshot } from "../../src/core/types.js";
import { NotLeaderError } from "../../src/node/errors.js";
import { RaftNode } from "../../src/node/raft_node.js";

const logger = pino({ level: "silent" });
let voters = new Map<NodeId, string>();
let observers = new Map<NodeId, string>();
const nodes: RaftNode[] = [];
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

it("an observer applies the committed log but never leads or accepts proposals", async () => {
  const ports = await allocatePorts(4);
  voters = new Map([1, 2, 3].map((id) => [id, `127.0.0.1:${ports[id - 1]}`]));
  observers = new Map([[4, `127.0.0.1:${ports[3]}`]]);
  root = await mkdtemp(join(tmpdir(), "brook-raft-observer-"));
  const applied = new Map<NodeId, string[]>();
  for (const id of [1, 2, 3, 4]) {
    const values: string[] = [];
    applied.set(id, values);
    nodes.push(
      await RaftNode.open({
        id,
        voters,
        observers,
        dataDir: join(root, `n${id}`),
        logger,
        listen: (voters.get(id) ?? observers.get(id))!,
        stateMachine: {
          apply: (es: readonly Entry[]) => void values.push(...es.map((e) => new TextDecoder().decode(e.data))),
          snapshot: () => new TextEncoder().encode(JSON.stringify(values)),
          restore: (s: Snapshot) => void values.splice(0, values.length, ...(JSON.parse(new TextDecoder().decode(s.data)) as string[])),
        },
      }),
    );
  }
  await until(() => nodes.some((n) => n.isLeader), "a leader");
  const lead = nodes.find((n) => n.isLeader)!;
  expect(lead.id).not.toBe(4);
  for (const v of ["m1", "m2", "m3"]) await lead.propose(new TextEncoder().encode(v));
  const observer = nodes[3]!;
  await until(() => applied.get(4)!.length === 3, "observer to apply");
  expect(applied.get(4)).toEqual(["m1", "m2", "m3"]);
  expect(observer.isLeader).toBe(false);
  expect(observer.leaderId).toBe(lead.id);
  await expect(observer.propose(Uint8Array.of(1))).rejects.toBeInstanceOf(NotLeaderError);

  // The leader's view of every member (DescribeQuorum): all level with it; followers know none.
  const last = lead.status().lastIndex;
  await until(() => [...lead.replication().values()].every((r) => r.match === last && r.lastCaughtUpMsAgo >= 0), "every member level with the leader");
  expect([...lead.replication()].map(([id, r]) => [id, r.observer]).sort()).toEqual([[1, false], [2, false], [3, false], [4, true]]);
  for (const n of nodes) if (n !== lead) expect(n.replication().size).toBe(0);

  // The voters still form a quorum without the observer.
  await observer.close();
  await lead.propose(new TextEncoder().encode("m4"));
  expect(applied.get(lead.id)!.at(-1)).toBe("m4");
  // The closed observer falls behind, and the time since it was last level with the leader grows.
  await new Promise((r) => setTimeout(r, 300));
  const gone = lead.replication().get(4)!;
  expect(gone.match).toBe(last);
  expect(gone.lastCaughtUpMsAgo).toBeGreaterThanOrEqual(250);
  expect(lead.replication().get(lead.id)!.lastCaughtUpMsAgo).toBeLessThan(250);
});
