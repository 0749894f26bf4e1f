// The brook process in its image under real container faults: health over the published
// HTTP port, name resolution between nodes on the user network, SIGKILL and restart with
// the same data directory, pause, network disconnect, and SIGTERM as a clean exit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnect, eventually, httpGet, kill, pause, reconnect, restart, startCluster, terminate, unpause, type Cluster } from "../src/cluster.js";

describe("brook node containers", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ clientPortBase: 4750, httpPortBase: 4760 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const health = async (port: number) => {
    const r = await httpGet(port, "/healthz");
    return "status" in r && r.status === 200 ? (r.body as { nodeId: number; clusterId: string }) : undefined;
  };

  it("every node answers /healthz with its id and one cluster id derived from the voters", async () => {
    const bodies = await Promise.all(cluster.nodes.map((n) => health(n.httpPort)));
    expect(bodies.map((b) => b?.nodeId)).toEqual([1, 2, 3]);
    expect(new Set(bodies.map((b) => b?.clusterId)).size).toBe(1);
    const metrics = await httpGet(cluster.nodes[0]!.httpPort, "/metrics");
    expect("body" in metrics && String(metrics.body)).toContain('brook_node_info{roles="broker,controller",node_id="1"} 1');
  });

  it("nodes resolve each other by name on the cluster network", async () => {
    const { output, exitCode } = await cluster.nodes[0]!.container.exec(["getent", "hosts", "node2"]);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/node2/);
  });

  it("a SIGKILLed node restarts on the same data directory and cluster id", async () => {
    const node = cluster.nodes[1]!;
    const before = await health(node.httpPort);
    await kill(node);
    expect(await health(node.httpPort)).toBeUndefined();
    await restart(node);
    await eventually(async () => (await health(node.httpPort)) !== undefined, "node 2 healthy after restart");
    expect((await health(node.httpPort))?.clusterId).toBe(before?.clusterId);
    const logs = await node.container.exec(["cat", "/var/lib/brook/meta.properties"]);
    expect(logs.output).toContain("node.id=2");
  });

  it("a paused node stops answering and comes back when unpaused", async () => {
    const node = cluster.nodes[2]!;
    await pause(node);
    expect("error" in (await httpGet(node.httpPort, "/healthz", 1000))).toBe(true);
    await unpause(node);
    await eventually(async () => (await health(node.httpPort)) !== undefined, "node 3 healthy after unpause");
  });

  it("a disconnected node is unreachable and back after reconnect", async () => {
    const node = cluster.nodes[2]!;
    await disconnect(cluster, node);
    expect(await health(node.httpPort)).toBeUndefined();
    await reconnect(cluster, node);
    await eventually(async () => (await health(node.httpPort)) !== undefined, "node 3 healthy after reconnect");
  });

  it("SIGTERM through docker stop is a clean, prompt exit", async () => {
    expect(await terminate(cluster.nodes[0]!)).toBe(0);
  });
});
