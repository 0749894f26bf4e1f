// Harness (tests and benchmarks): a local cluster of real broker processes
// (dist/bin/broker-node.js) on loopback, around either the product controller quorum (three
// controller-node processes from packages/controller/dist, spawned as processes only: the
// broker package does not import the controller) or a ScriptedControllerServer. Starts,
// SIGKILLs and restarts brokers by id, keeping each broker's data directory across restarts.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrokerConfig } from "../config.js";
import { TestClient } from "./client.js";
import { ScriptedControllerServer } from "./scripted_controller.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const BIN = join(HERE, "../bin/broker-node.js");
/** The controller package's runnable, found through the workspace layout (no import). */
export const CONTROLLER_BIN = join(HERE, "../../../controller/dist/bin/controller-node.js");

/**
 * V8 flags every broker process should run with (the node launchers should pass them too).
 * A broker's JS heap is small (~10-30 MB live) while it moves ~100 MB/s of Buffers through the
 * young generation; V8 then sizes the old generation's limit from the small live heap, and
 * with the young generation grown to its maximum the remaining headroom is below it, so V8
 * starts a full mark-compact every ~0.2-0.5 s although almost nothing is promoted (measured:
 * 27-43 full GCs per broker in 8-12 s of 1 KiB produce). A 256 MB initial heap leaves that
 * headroom: 0 full GCs in 25 s, RSS flat at ~135 MB, broker CPU per 1 KiB record 44-52 -> 24-27 us.
 */
export const BROKER_V8_FLAGS: readonly string[] = ["--initial-heap-size=256"];

export interface QuorumOptions {
  /** First of three consecutive loopback ports for the voters. */
  readonly basePort: number;
  readonly sessionTimeoutMs: number;
  readonly bin?: string;
}

export interface ClusterNode {
  readonly id: number;
  readonly proc: ChildProcess;
  readonly port: number;
  readonly client: TestClient;
}

export class LocalCluster {
  readonly nodes = new Map<number, ClusterNode>();
  readonly controllers = new Map<number, ChildProcess>();
  private root = "";
  private voters = "";

  constructor(
    /** The scripted controller, or null when the product quorum runs. */
    readonly scripted: ScriptedControllerServer | null,
    private readonly opts: { brokerConfig: Partial<BrokerConfig>; logLevel: string; bin: string },
  ) {}

  /** The scripted controller (throws when the cluster runs the product quorum). */
  get ctrl(): ScriptedControllerServer {
    if (this.scripted === null) throw new Error("this cluster runs the product controller quorum");
    return this.scripted;
  }

  private startController(id: number, q: QuorumOptions): Promise<void> {
    const proc = spawn(
      process.execPath,
      [
        q.bin ?? CONTROLLER_BIN,
        "--id", String(id),
        "--voters", this.voters,
        "--data", join(this.root, `c${id}`),
        "--session-timeout-ms", String(q.sessionTimeoutMs),
        "--log-level", this.opts.logLevel,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    this.controllers.set(id, proc);
    return new Promise((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes('"ready"')) resolve();
      });
      proc.on("exit", (code) => reject(new Error(`controller ${id} exited with ${code} before ready`)));
    });
  }

  /** Partition state as a live broker's Metadata reports it (works with either controller). */
  async partitionState(topic: string, partition = 0): Promise<{ leader: number; leaderEpoch: number; isr: number[] } | undefined> {
    if (this.scripted !== null) {
      const p = this.scripted.leaderOf(topic, partition);
      return { leader: p.leader, leaderEpoch: p.leaderEpoch, isr: [...p.isr] };
    }
    for (const n of this.nodes.values()) {
      try {
        const md = await n.client.metadata([topic]);
        const p = md.topics[0]?.partitions.find((x) => x.partition === partition);
        if (p !== undefined) return { leader: p.leader, leaderEpoch: p.leaderEpoch, isr: p.isr };
      } catch {
        // that broker is down; ask the next
      }
    }
    return undefined;
  }

  static async start(opts: {
    brokers: number;
    sessionTimeoutMs?: number;
    brokerConfig?: Partial<BrokerConfig>;
    logLevel?: string;
    bin?: string;
    /** Run the product controller quorum instead of the scripted controller. */
    quorum?: QuorumOptions;
  }): Promise<LocalCluster> {
    const scripted = opts.quorum === undefined ? new ScriptedControllerServer(opts.sessionTimeoutMs ?? 1_500) : null;
    const c = new LocalCluster(scripted, { brokerConfig: opts.brokerConfig ?? {}, logLevel: opts.logLevel ?? "warn", bin: opts.bin ?? BIN });
    c.root = await mkdtemp(join(tmpdir(), "brook-cluster-"));
    if (scripted !== null) {
      await scripted.start();
      c.voters = `0@127.0.0.1:${scripted.port}`;
    } else {
      const q = opts.quorum!;
      c.voters = [1, 2, 3].map((id) => `${id}@127.0.0.1:${q.basePort + id - 1}`).join(",");
      await Promise.all([1, 2, 3].map((id) => c.startController(id, q)));
    }
    for (let id = 1; id <= opts.brokers; id++) await c.startNode(id);
    await c.until("all brokers unfenced", async () => {
      if (scripted !== null) return [...c.nodes.keys()].every((id) => scripted.brokers.get(id)?.fenced === false);
      const md = await c.nodes.get(1)!.client.metadata().catch(() => undefined);
      return md !== undefined && md.brokers.length === opts.brokers;
    });
    return c;
  }

  startNode(id: number): Promise<ClusterNode> {
    const proc = spawn(
      process.execPath,
      [
        ...BROKER_V8_FLAGS,
        // Profiling hook for benchmarks, e.g. BROOK_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p".
        ...(process.env["BROOK_BROKER_NODE_ARGS"]?.split(" ").filter((a) => a !== "") ?? []),
        this.opts.bin,
        "--node-id", String(id),
        "--data-dir", join(this.root, `b${id}`),
        "--listen", "127.0.0.1:0",
        "--controllers", this.voters,
        "--log-level", this.opts.logLevel,
        "--config", JSON.stringify(this.opts.brokerConfig),
      ],
      // fsync and file I/O share libuv's thread pool (4 threads by default): with group commit
      // running beside appends and follower reads, 4 is a bottleneck.
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, UV_THREADPOOL_SIZE: process.env["UV_THREADPOOL_SIZE"] ?? "16" } },
    );
    return new Promise((resolve, reject) => {
      let out = "";
      // BROOK_BROKER_STDOUT_DIR keeps each broker's stdout (e.g. V8's --trace-gc lines) in a file.
      const dir = process.env["BROOK_BROKER_STDOUT_DIR"];
      if (dir !== undefined && dir !== "") proc.stdout!.pipe(createWriteStream(join(dir, `broker-${id}-${proc.pid}.out`)));
      proc.stdout!.on("data", (d: Buffer) => {
        if (this.nodes.has(id)) return; // READY seen; stop accumulating
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

  /** SIGKILLs a controller voter (product quorum only). */
  killController(id: number): Promise<void> {
    const proc = this.controllers.get(id);
    this.controllers.delete(id);
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      proc.on("exit", () => resolve());
      proc.kill("SIGKILL");
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
    // A profiled broker writes its profile only on a clean exit: stop it with SIGTERM then.
    const signal = process.env["BROOK_BROKER_NODE_ARGS"]?.includes("--cpu-prof") === true ? "SIGTERM" : "SIGKILL";
    for (const id of [...this.nodes.keys()]) await this.kill(id, signal);
    await this.scripted?.stop();
    for (const proc of this.controllers.values())
      await new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.on("exit", () => resolve());
        proc.kill("SIGKILL");
      });
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
