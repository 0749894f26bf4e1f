// A three-node brook cluster in containers (testcontainers GenericContainer + Network, as
// in scripts/docker's recipe) with fixed host ports, and the faults the failover suite
// injects through the Docker API: SIGKILL + restart, pause, network disconnect.
//
// Two client listeners per node, as docker-compose.yml has: INTERNAL (nodeN:9092, by name) for
// the peers, and EXTERNAL (container port 19092, published on host port clientPortBase+N and
// advertised as 127.0.0.1:<that port>) for the test process on the host. Fixed host ports
// survive kill/start and disconnect/reconnect.

import {
  GenericContainer,
  Network,
  Wait,
  getContainerRuntimeClient,
  type StartedNetwork,
  type StartedTestContainer,
} from "testcontainers";

export const IMAGE = process.env["BROOK_IMAGE"] ?? "brook/node:local";
/** The EXTERNAL listener's port inside every container (as in docker-compose.yml). */
const EXTERNAL_PORT = 19092;

export interface ClusterNode {
  readonly id: number;
  readonly name: string;
  readonly clientPort: number;
  readonly httpPort: number;
  readonly container: StartedTestContainer;
}

export interface Cluster {
  readonly network: StartedNetwork;
  readonly nodes: readonly ClusterNode[];
  readonly bootstrap: readonly string[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Host ports: client clientPortBase+N, HTTP httpPortBase+N (tests own 4700-4799). */
  readonly clientPortBase: number;
  readonly httpPortBase: number;
  readonly size?: number;
  /** "healthz": process up (default); "readyz": every role ready. */
  readonly waitFor?: "healthz" | "readyz";
  readonly env?: Readonly<Record<string, string>>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const size = options.size ?? 3;
  const network = await new Network().start();
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const voters = ids.map((id) => `${id}@node${id}:9093`).join(",");
  const started = await Promise.allSettled(
    ids.map((id) => {
      const clientPort = options.clientPortBase + id;
      return new GenericContainer(IMAGE)
        .withNetwork(network)
        .withHostname(`node${id}`)
        .withEnvironment({
          BROOK_NODE_ID: String(id),
          BROOK_CONTROLLER_QUORUM_VOTERS: voters,
          BROOK_LISTENERS: `INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:${EXTERNAL_PORT},CONTROLLER://0.0.0.0:9093`,
          BROOK_ADVERTISED_LISTENERS: `INTERNAL://node${id}:9092,EXTERNAL://127.0.0.1:${clientPort}`,
          BROOK_INTER_BROKER_LISTENER_NAME: "INTERNAL",
          BROOK_LISTENER_SECURITY_PROTOCOL_MAP: "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
          BROOK_DEFAULT_REPLICATION_FACTOR: String(Math.min(3, size)),
          BROOK_MIN_INSYNC_REPLICAS: String(Math.min(2, size)),
          BROOK_OFFSETS_TOPIC_REPLICATION_FACTOR: String(Math.min(3, size)),
          ...options.env,
        })
        .withExposedPorts({ container: EXTERNAL_PORT, host: clientPort }, { container: 8080, host: options.httpPortBase + id })
        .withWaitStrategy(Wait.forHttp(`/${options.waitFor ?? "healthz"}`, 8080).forStatusCode(200))
        .withStartupTimeout(120_000)
        .start();
    }),
  );
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.allSettled(started.map((s) => (s.status === "fulfilled" ? s.value.stop({ timeout: 0 }) : undefined)));
    await network.stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  const containers = started.map((s) => (s as PromiseFulfilledResult<StartedTestContainer>).value);
  const nodes = containers.map((container, i) => ({
    id: i + 1,
    name: `node${i + 1}`,
    clientPort: options.clientPortBase + i + 1,
    httpPort: options.httpPortBase + i + 1,
    container,
  }));
  return {
    network,
    nodes,
    bootstrap: nodes.map((n) => `127.0.0.1:${n.clientPort}`),
    async stop() {
      await Promise.allSettled(containers.map((c) => c.stop({ timeout: 0 })));
      await network.stop();
    },
  };
}

async function dockerContainer(node: ClusterNode) {
  return (await getContainerRuntimeClient()).container.getById(node.container.getId());
}

/** SIGKILL the node's process: the container exits (137) and keeps its data. */
export async function kill(node: ClusterNode): Promise<void> {
  await (await dockerContainer(node)).kill({ signal: "SIGKILL" });
}

/** Start a killed or stopped node again: same container, same data, same fixed ports. */
export async function restart(node: ClusterNode): Promise<void> {
  await (await dockerContainer(node)).start();
}

/** SIGTERM through Docker (tini forwards it): a controlled shutdown. Resolves with the exit code. */
export async function terminate(node: ClusterNode, timeoutSeconds = 40): Promise<number> {
  const c = await dockerContainer(node);
  await c.stop({ t: timeoutSeconds });
  return (await c.inspect()).State.ExitCode;
}

export async function pause(node: ClusterNode): Promise<void> {
  await (await dockerContainer(node)).pause();
}

export async function unpause(node: ClusterNode): Promise<void> {
  await (await dockerContainer(node)).unpause();
}

/** Full partition: peers and the host lose the node. */
export async function disconnect(cluster: Cluster, node: ClusterNode): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.network.getById(cluster.network.getId()).disconnect({ Container: node.container.getId(), Force: true });
}

/** Heal a partition; the DNS alias is passed again because Docker drops it on disconnect. */
export async function reconnect(cluster: Cluster, node: ClusterNode): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.network.getById(cluster.network.getId()).connect({ Container: node.container.getId(), EndpointConfig: { Aliases: [node.name] } });
}

export async function httpGet(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: unknown } | { error: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // /metrics is text
    }
    return { status: res.status, body };
  } catch (error) {
    const e = error as { cause?: { code?: string }; name?: string };
    return { error: e.cause?.code ?? e.name ?? String(error) };
  }
}

/** Polls until `check` holds; generous bounds, since a busy 2-core machine runs this. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60_000, stepMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000}s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
