// Three raft-node processes (the BUILT dist/bin/raft-node.js: run `npx tsc -b packages/raft`
// first; `npm test` builds) over real gRPC on loopback, each with level in a temp dir.
// SIGKILL the leader: a new one is elected and commits. Restart it: it catches up from its own
// disk. Wipe a node after the log was compacted: it is restored by snapshot.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster, raftNodeProgram, type NodeState } from "../../src/bin/cluster_harness.js";

const cluster = new ProcessCluster({ snapshotEvery: 10 });

async function converged(expectedCount: number, timeoutMs = 30_000): Promise<NodeState[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(cluster.ids.filter((id) => cluster.isRunning(id)).map((id) => cluster.status(id)));
    if (states.every((s) => s.count === expectedCount)) return states;
    if (Date.now() > deadline) throw new Error(`no convergence on ${expectedCount}: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  if (!existsSync(raftNodeProgram())) throw new Error(`${raftNodeProgram()} is missing: run \`npx tsc -b packages/raft\` first`);
  await cluster.start();
});

afterAll(async () => {
  await cluster.stop();
});

describe("three raft-node processes", () => {
  let expected = 0;

  it("elects a leader and replicates to every node", async () => {
    for (let i = 0; i < 5; i++) await cluster.propose(`v${expected++}`);
    const states = await converged(expected);
    expect(new Set(states.map((s) => s.hash)).size).toBe(1);
  });

  it("survives SIGKILL of the leader: a new leader is elected and commits", async () => {
    const old = await cluster.leader();
    await cluster.kill(old);
    const r = await cluster.propose(`v${expected++}`);
    expect(r.leader).not.toBe(old);
    for (let i = 0; i < 4; i++) await cluster.propose(`v${expected++}`);
    const states = await converged(expected);
    expect(new Set(states.map((s) => s.hash)).size).toBe(1);

    await cluster.startNode(old);
    const all = await converged(expected);
    expect(all).toHaveLength(3);
    expect(new Set(all.map((s) => s.hash)).size).toBe(1);
  });

  it("restores a wiped node from a snapshot", async () => {
    const lead = await cluster.leader();
    const victim = cluster.ids.find((id) => id !== lead)!;
    await cluster.wipe(victim);
    for (let i = 0; i < 25; i++) await cluster.propose(`v${expected++}`);
    expect((await cluster.status(lead)).snapshotIndex).toBeGreaterThan(1);

    await cluster.startNode(victim);
    const all = await converged(expected);
    expect(new Set(all.map((s) => s.hash)).size).toBe(1);
    const restored = await cluster.status(victim);
    expect(restored.snapshotIndex).toBeGreaterThan(0);
  });
});
