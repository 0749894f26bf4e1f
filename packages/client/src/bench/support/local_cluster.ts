// Three real `brook` nodes (packages/server's built binary, combined controller + broker
// roles) on loopback with a temporary data dir, for benchmarks that need a cluster when
// BROOK_BROKERS is not given. Ports are picked free by the OS just before the nodes start
// (the voters must be known before the nodes bind, so port 0 cannot be passed directly).
// stop() SIGKILLs what start() spawned and removes the data dir.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pickFreePorts } from "@brook/protocol";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../../../server/dist/bin/brook.js");
const IDS = [1, 2, 3];

async function ready(httpPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) });
    return ((await res.json()) as { ready?: boolean }).ready === true;
  } catch {
    return false;
  }
}

export class LocalCluster {
  private readonly procs: ChildProcess[] = [];
  private root = "";
  private clientPorts: number[] = [];

  async start(): Promise<string[]> {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build packages/server first`);
    this.root = await mkdtemp(join(tmpdir(), "brook-bench-"));
    const ports: { client: number; controller: number; http: number }[] = [];
    const free = await pickFreePorts(3 * IDS.length);
    for (let i = 0; i < IDS.length; i++) ports.push({ client: free[3 * i]!, controller: free[3 * i + 1]!, http: free[3 * i + 2]! });
    this.clientPorts = ports.map((p) => p.client);
    const voters = IDS.map((id, i) => `${id}@127.0.0.1:${ports[i]!.controller}`).join(",");
    // The nodes must not read the bench's BROOK_* variables as their config.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BROOK_")));
    IDS.forEach((id, i) => {
      const p = ports[i]!;
      const args = [
        // As the broker package's harness runs its brokers (see BROKER_V8_FLAGS there): without
        // it V8 runs a full GC every fraction of a second under produce load.
        "--initial-heap-size=256",
        BIN,
        `--node.id=${id}`,
        "--process.roles=broker,controller",
        `--controller.quorum.voters=${voters}`,
        `--listeners=PLAINTEXT://127.0.0.1:${p.client},CONTROLLER://127.0.0.1:${p.controller}`,
        `--advertised.listeners=PLAINTEXT://127.0.0.1:${p.client}`,
        `--http.listener=127.0.0.1:${p.http}`,
        `--log.dirs=${join(this.root, `node${id}`)}`,
        "--default.replication.factor=3",
        "--offsets.topic.replication.factor=3",
        "--log.level=warn",
      ];
      this.procs.push(spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"], env }));
    });
    const deadline = Date.now() + 120_000;
    while (!(await Promise.all(ports.map((p) => ready(p.http)))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error("local cluster: nodes not ready within 120 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.bootstrap();
  }

  bootstrap(): string[] {
    return this.clientPorts.map((p) => `127.0.0.1:${p}`);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once("exit", () => resolve());
            p.kill("SIGKILL");
          }),
      ),
    );
    if (this.root !== "") await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * Runs a benchmark's body against BROOK_BROKERS when it is set, else against three local
 * nodes started for it and stopped after; prints an error and exits 1 if the body throws,
 * else exits 0 (open client handles must not keep a finished benchmark alive).
 */
export async function runBench(body: (brokers: string[]) => Promise<void>): Promise<never> {
  const external = process.env.BROOK_BROKERS;
  const cluster = external === undefined || external === "" ? new LocalCluster() : undefined;
  let exitCode = 0;
  try {
    await body(cluster !== undefined ? await cluster.start() : external!.split(","));
  } catch (err) {
    console.error(err);
    exitCode = 1;
  } finally {
    await cluster?.stop();
  }
  process.exit(exitCode);
}
