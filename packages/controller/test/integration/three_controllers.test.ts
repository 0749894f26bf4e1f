// Three controller-node processes over real gRPC on loopback with real level dirs: create
// topics, SIGKILL the active controller, a new one takes over and nothing committed is lost;
// then restart all three and their images are identical (digest).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControllerCluster } from "../../src/bin/cluster_harness.js";
import { Codes } from "../../src/errors.js";
import { eventually, fetchImage, registerBrokers, requireBuilt } from "./support.js";

const topic = (name: string, numPartitions = 3, replicationFactor = 3) => ({ name, numPartitions, replicationFactor, configs: [], assignments: [] });

describe("three controller processes", () => {
  let cluster: ControllerCluster;

  beforeAll(async () => {
    requireBuilt();
    cluster = await ControllerCluster.start({ basePort: 4201, sessionTimeoutMs: 600_000, snapshotEvery: 25 });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it("survives SIGKILL of the active controller without losing committed metadata, and restarts to identical images", async () => {
    await registerBrokers(cluster, 3);
    const created: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { res } = await cluster.call((c) => c.createTopics, { topics: [topic(`before-${i}`)], timeoutMs: 0, validateOnly: false });
      expect(res.error?.code).toBe(0);
      expect(res.response?.topics[0]?.error?.code).toBe(0);
      created.push(`before-${i}`);
    }
    // A follower answers NOT_CONTROLLER naming the leader.
    const { node: active } = await cluster.call((c) => c.describeCluster, {});
    // DescribeCluster carries the leader's view of every voter's metadata log.
    const quorum = await eventually(
      async () => {
        const r = (await cluster.callNode(active, (c) => c.describeCluster, {})).response;
        const voters = r?.voters ?? [];
        return voters.length === 3 && voters.every((v) => v.logEndOffset === r!.highWatermark && v.lastCaughtUpMsAgo >= 0) ? voters : undefined;
      },
      30_000,
      "every voter's log end and catch-up time reported, level with the high watermark",
    );
    expect(quorum.map((v) => v.nodeId).sort()).toEqual([1, 2, 3]);
    const follower = cluster.ids.find((id) => id !== active) ?? -1;
    const redirected = await cluster.callNode(follower, (c) => c.createTopics, { topics: [topic("via-follower")], timeoutMs: 0, validateOnly: false });
    expect(redirected.error?.code).toBe(Codes.NOT_CONTROLLER);
    expect(redirected.controller).toEqual({ id: active, address: cluster.address(active) });

    await cluster.kill(active);
    const t0 = Date.now();
    const { res: after, node: newActive } = await cluster.call((c) => c.createTopics, { topics: [topic("after-failover")], timeoutMs: 0, validateOnly: false }, 30_000);
    const failoverMs = Date.now() - t0;
    expect(after.response?.topics[0]?.error?.code).toBe(0);
    expect(newActive).not.toBe(active);
    expect(failoverMs).toBeLessThan(20_000); // liveness bound only
    created.push("after-failover");

    // Every topic acknowledged before the kill is in the new controller's committed metadata.
    const q = await cluster.describeQuorum(newActive);
    const { image } = await fetchImage(cluster, newActive, 0, q.appliedOffset);
    for (const name of created) expect(image.topics.byName.has(name), name).toBe(true);
    expect(image.topics.byId.get(image.topics.byName.get("before-0") ?? "")?.partitions.size).toBe(3);
    // Re-creating an acknowledged topic is refused: the new controller knows it.
    const dup = await cluster.call((c) => c.createTopics, { topics: [topic("before-7")], timeoutMs: 0, validateOnly: false });
    expect(dup.res.response?.topics[0]?.error?.code).toBe(Codes.TOPIC_ALREADY_EXISTS);

    // Bring the killed node back, then restart all three.
    await cluster.startNode(active);
    for (const id of cluster.ids) await cluster.stop(id);
    for (const id of cluster.ids) await cluster.startNode(id);
    await cluster.call((c) => c.describeCluster, {}, 30_000);
    const digests = await eventually(
      async () => {
        const qs = await Promise.all(cluster.ids.map((id) => cluster.describeQuorum(id)));
        const offsets = new Set(qs.map((x) => x.appliedOffset));
        const ds = new Set(qs.map((x) => x.imageDigest));
        return offsets.size === 1 && ds.size === 1 ? qs : undefined;
      },
      30_000,
      "all three controllers reporting the same applied offset and image digest",
    );
    expect(digests[0]?.imageDigest).toMatch(/^[0-9a-f]{64}$/);
    const final = await fetchImage(cluster, 1, 0, digests[0]?.appliedOffset ?? 0);
    for (const name of created) expect(final.image.topics.byName.has(name), name).toBe(true);
    // The log was compacted (snapshotEvery 25), so a reader from offset 1 starts with a snapshot.
    expect(final.messages[0]?.snapshot).toBeDefined();
  });
});
