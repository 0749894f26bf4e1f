// Test cluster for the SDK: three real `brook` node processes (packages/server's built
// binary, combined controller + broker roles, a Raft quorum of the three) on loopback, as
// `npm run cluster` starts them. Ports are picked free at start (the voters must be known
// before the nodes bind, so port 0 cannot be used directly; fixed ports collide when two
// people run these tests on one machine). Topics are created and leaders looked up through
// the SDK's admin client, as a user would.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pickFreePorts } from "@brook/protocol";
import { Brook } from "../../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = join(here, "../../../server/dist/bin/brook.js");
const IDS = [1, 2, 3];

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The test's environment minus BROOK_* variables, which a node would read as its config. */
function nodeEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BROOK_")));
  return { ...env, BROOK_LOG_FORMAT: "json" };
}

export class TestCluster {
  readonly nodes = new Map<number, { proc: ChildProcess; port: number }>();
  private root = "";
  private admin: Brook | undefined;
  private readonly ports = new Map<number, { client: number; controller: number; http: number }>();

  /** `extraArgs`: more node flags (Kafka config names), passed to every node. */
  constructor(private readonly extraArgs: readonly string[] = []) {}

  async start(): Promise<void> {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build first (npm run build)`);
    this.root = await mkdtemp(join(tmpdir(), "brook-client-"));
    const free = await pickFreePorts(3 * IDS.length);
    for (const [i, id] of IDS.entries()) this.ports.set(id, { client: free[3 * i]!, controller: free[3 * i + 1]!, http: free[3 * i + 2]! });
    for (const id of IDS) this.spawnNode(id);
    await until("three ready nodes", async () => (await Promise.all(IDS.map((id) => this.ready(id)))).every(Boolean), 120_000);
    this.admin = new Brook({ brokers: this.bootstrap(), clientId: "test-cluster", retries: 20, requestTimeoutMs: 5_000 });
  }

  bootstrap(): string[] {
    return IDS.map((id) => `127.0.0.1:${this.ports.get(id)!.client}`);
  }

  private async ready(id: number): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports.get(id)!.http}/readyz`, { signal: AbortSignal.timeout(2_000) });
      return ((await res.json()) as { ready?: boolean }).ready === true;
    } catch {
      return false;
    }
  }

  /** Replication factor 3; the cluster places the replicas. Returns once brokers serve a leader for every partition. */
  async createTopic(name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
    const admin = this.admin!.admin();
    await admin.createTopics([{ topic: name, numPartitions: partitions, replicationFactor: 3, configs }]);
    await until(`${name} visible`, () =>
      admin.describeTopics([name]).then(
        (t) => t[0]?.partitions.length === partitions && t[0].partitions.every((p) => p.leader >= 0),
        () => false,
      ),
    );
  }

  /** The current leader of a partition, from the cluster's metadata. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const [t] = await this.admin!.admin().describeTopics([topic]);
    return t?.partitions.find((p) => p.partition === partition)?.leader ?? -1;
  }

  private spawnNode(id: number): void {
    const voters = IDS.map((v) => `${v}@127.0.0.1:${this.ports.get(v)!.controller}`).join(",");
    const { client: clientPort, controller: controllerPort, http: httpPort } = this.ports.get(id)!;
    const args = [
      "--initial-heap-size=256", // as scripts/cluster.mjs and the image run a node
      BIN,
      `--node.id=${id}`,
      "--process.roles=broker,controller",
      `--controller.quorum.voters=${voters}`,
      `--listeners=PLAINTEXT://127.0.0.1:${clientPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      `--advertised.listeners=PLAINTEXT://127.0.0.1:${clientPort}`,
      `--http.listener=127.0.0.1:${httpPort}`,
      `--log.dirs=${join(this.root, `node${id}`)}`,
      "--default.replication.factor=3",
      "--offsets.topic.replication.factor=3",
      `--log.level=${process.env["BROOK_TEST_LOG"] ?? "warn"}`,
      ...this.extraArgs,
    ];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"], env: nodeEnv() });
    this.nodes.set(id, { proc, port: clientPort });
  }

  /** Starts a killed node again on its data dir and waits until it is ready (registered, unfenced). */
  async restart(id: number): Promise<void> {
    this.spawnNode(id);
    await until(`node ${id} ready`, () => this.ready(id), 90_000);
  }

  kill(id: number): Promise<void> {
    const n = this.nodes.get(id);
    if (n === undefined) return Promise.resolve();
    this.nodes.delete(id);
    return new Promise((resolve) => {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) return resolve();
      n.proc.on("exit", () => resolve());
      n.proc.kill("SIGKILL");
    });
  }

  async stop(): Promise<void> {
    await this.admin?.close().catch(() => undefined);
    for (const id of [...this.nodes.keys()]) await this.kill(id);
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
