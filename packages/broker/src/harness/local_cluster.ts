// Harness (tests and benchmarks): a local cluster of real broker processes
// (dist/bin/broker-node.js) on loopback around a ScriptedControllerServer. Starts, SIGKILLs
// and restarts brokers by id, keeping each broker's data directory across restarts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrokerConfig } from "../config.js";
import { TestClient } from "./client.js";
import { ScriptedControllerServer } from "./scripted_controller.js";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../bin/broker-node.js");

export interface ClusterNode {
  readonly id: number;
  readonly proc: ChildProcess;
  readonly port: number;
  readonly client: TestClient;
}

export class LocalCluster {
  readonly nodes = new Map<number, ClusterNode>();
  private root = "";

  constructor(
    readonly ctrl: ScriptedControllerServer,
    private readonly opts: { brokerConfig: Partial<BrokerConfig>; logLevel: string; bin: string },
  ) {}

  static async start(opts: {
    brokers: number;
    sessionTimeoutMs?: number;
    brokerConfig?: Partial<BrokerConfig>;
    logLevel?: string;
    bin?: string;
  }): Promise<LocalCluster> {
    const ctrl = new ScriptedControllerServer(opts.sessionTimeoutMs ?? 1_500);
    await ctrl.start();
    const c = new LocalCluster(ctrl, { brokerConfig: opts.brokerConfig ?? {}, logLevel: opts.logLevel ?? "warn", bin: opts.bin ?? BIN });
    c.root = await mkdtemp(join(tmpdir(), "brook-cluster-"));
    for (let id = 1; id <= opts.brokers; id++) await c.startNode(id);
    await c.until("all brokers unfenced", () => [...c.nodes.keys()].every((id) => ctrl.brokers.get(id)?.fenced === false));
    return c;
  }

  startNode(id: number): Promise<ClusterNode> {
    const proc = spawn(
      process.execPath,
      [
        this.opts.bin,
        "--node-id", String(id),
        "--data-dir", join(this.root, `b${id}`),
        "--listen", "127.0.0.1:0",
        "--controllers", `0@127.0.0.1:${this.ctrl.port}`,
        "--log-level", this.opts.logLevel,
        "--config", JSON.stringify(this.opts.brokerConfig),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    return new Promise((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /READY node=\d+ port=(\d+)/.exec(out);
        if (m !== null && !this.nodes.has(id)) {
          const port = Number(m[1]);
          const node = { id, proc, port, client: new TestClient(`127.0.0.1:${port}`) };
          this.nodes.set(id, node);
          resolve(node);
        }
      });
      proc.on("exit", (code) => reject(new Error(`broker ${id} exited with ${code} before READY`)));
    });
  }

  kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const n = this.nodes.get(id);
    if (n === undefined) return Promise.resolve();
    this.nodes.delete(id);
    n.client.close();
    return new Promise((resolve) => {
      if (n.proc.exitCode !== null || n.proc.signalCode !== null) return resolve();
      n.proc.on("exit", () => resolve());
      n.proc.kill(signal);
    });
  }

  async until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.kill(id);
    await this.ctrl.stop();
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
