// Failover under load: a producer keeps sending (acks=all) while nodes are SIGKILLed,
// paused, cut off the network and restarted one by one; afterwards every partition is read from the start and
// the history checker must find no acknowledged record lost, duplicated or reordered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnect, eventually, httpGet, kill, pause, reconnect, restart, startCluster, terminate, unpause, type Cluster, type ClusterNode } from "../src/cluster.js";
import { checkHistory, readPastAcked, type AckedRecord } from "../src/history.js";
import { connect, type E2eClient } from "../src/sdk.js";

describe("failover keeps every acknowledged record", () => {
  let cluster: Cluster;
  let sdk: E2eClient;
  beforeAll(async () => {
    cluster = await startCluster({ clientPortBase: 4790, httpPortBase: 4793, waitFor: "readyz" });
    sdk = connect(cluster.bootstrap);
  });
  afterAll(async () => {
    await sdk?.close().catch(() => {});
    await cluster?.stop();
  });

  const ready = async (node: ClusterNode) => {
    const r = await httpGet(node.httpPort, "/readyz");
    return "status" in r && r.status === 200;
  };

  /** Produces until `fault` resolves plus a tail, recording what was acknowledged. */
  async function produceThrough(topic: string, fault: () => Promise<void>, history: AckedRecord[]): Promise<void> {
    let done = false;
    let seq = history.length;
    const producing = (async () => {
      while (!done) {
        const value = `r${seq}`;
        try {
          const at = await sdk.send(topic, `key${seq % 5}`, value);
          history.push({ ...at, value, producer: "p1", seq });
        } catch {
          // Not acknowledged: it may or may not be in the log; the checker allows both.
        }
        seq++;
      }
    })();
    await fault();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    done = true;
    await producing;
  }

  it("SIGKILL of a node, pause of another, disconnect of a third, then a rolling restart", async () => {
    const topic = "failover";
    await sdk.createTopic(topic, 3, 3);
    const history: AckedRecord[] = [];
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];

    await produceThrough(topic, async () => {
      await kill(n1);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await restart(n1);
      await eventually(() => ready(n1), "node 1 ready after restart", 120_000);
    }, history);
    await produceThrough(topic, async () => {
      await pause(n2);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await unpause(n2);
      await eventually(() => ready(n2), "node 2 ready after unpause", 120_000);
    }, history);
    await produceThrough(topic, async () => {
      await disconnect(cluster, n3);
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await reconnect(cluster, n3);
      await eventually(() => ready(n3), "node 3 ready after reconnect", 120_000);
    }, history);

    // Rolling restart: each node in turn gets SIGTERM (controlled shutdown) and comes back.
    await produceThrough(topic, async () => {
      for (const node of [n1, n2, n3]) {
        expect(await terminate(node)).toBe(0);
        await restart(node);
        await eventually(() => ready(node), `node ${node.id} ready after a rolling restart`, 120_000);
      }
    }, history);

    expect(history.length).toBeGreaterThan(0);
    const read = await sdk.consumeFromStart(topic, "failover-check", (r) => readPastAcked(history, r), 120_000);
    read.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    expect(checkHistory(history, read)).toEqual([]);
    console.log(`failover: ${history.length} records acknowledged across SIGKILL, pause, disconnect and a rolling restart; ${read.length} read back`);
  });
});
