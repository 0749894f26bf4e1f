// Test cluster for the SDK: three real broker processes (test/support/broker_process.mjs,
// running packages/broker's built Broker with the group coordinator) on loopback, with the
// controller role played over real gRPC by packages/broker's ScriptedControllerServer.
// Stopgap until `npm run cluster` serves brokers; the SDK talks to it exactly as to that.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const HARNESS = join(here, "../../../broker/dist/harness/scripted_controller.js");

interface ControllerHarness {
  port: number;
  brokers: Map<number, { fenced: boolean }>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createTopic(name: string, assignments: number[][], configs?: Record<string, string>): void;
  leaderOf(topic: string, partition?: number): { leader: number };
}

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class TestCluster {
  ctrl!: ControllerHarness;
  readonly nodes = new Map<number, { proc: ChildProcess; port: number }>();
  private root = "";

  async start(): Promise<void> {
    if (!existsSync(HARNESS)) throw new Error(`${HARNESS} is missing: build first (npx tsc -b packages/broker packages/client)`);
    const mod = (await import(HARNESS)) as { ScriptedControllerServer: new (sessionTimeoutMs: number) => ControllerHarness };
    this.ctrl = new mod.ScriptedControllerServer(1_500);
    await this.ctrl.start();
    this.root = await mkdtemp(join(tmpdir(), "brook-client-"));
    for (const id of [1, 2, 3]) await this.spawnNode(id);
    await until("brokers unfenced", () => [1, 2, 3].every((id) => this.ctrl.brokers.get(id)?.fenced === false));
    // The internal offsets topic, as the cluster creates it (replication factor 3).
    this.createTopic("__consumer_offsets", 3, { "min.insync.replicas": "2" });
  }

  bootstrap(): string[] {
    return [...this.nodes.values()].map((n) => `127.0.0.1:${n.port}`);
  }

  /** Partitions spread over the three brokers, replication factor 3. */
  createTopic(name: string, partitions: number, configs: Record<string, string> = {}): void {
    const ids = [1, 2, 3];
    this.ctrl.createTopic(
      name,
      Array.from({ length: partitions }, (_, p) => ids.map((_, i) => ids[(p + i) % 3]!)),
      configs,
    );
  }

  private spawnNode(id: number): Promise<void> {
    const proc = spawn(process.execPath, [join(here, "broker_process.mjs"), String(id), join(this.root, `b${id}`), String(this.ctrl.port)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    return new Promise((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /READY node=\d+ port=(\d+)/.exec(out);
        if (m !== null && !this.nodes.has(id)) {
          this.nodes.set(id, { proc, port: Number(m[1]) });
          resolve();
        }
      });
      proc.on("exit", (code) => reject(new Error(`broker ${id} exited with ${code} before READY`)));
    });
  }

  /** Starts a killed node again on its data dir and waits until the controller unfences it. */
  async restart(id: number): Promise<void> {
    await this.spawnNode(id);
    await until(`broker ${id} unfenced`, () => this.ctrl.brokers.get(id)?.fenced === false);
  }

  kill(id: number): Promise<void> {
    const n = this.nodes.get(id);
    if (n === undefined) return Promise.resolve();
    this.nodes.delete(id);
    return new Promise((resolve) => {
      if (n.proc.exitCode !== null) return resolve();
      n.proc.on("exit", () => resolve());
      n.proc.kill("SIGKILL");
    });
  }

  async stop(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.kill(id);
    await this.ctrl?.stop();
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
