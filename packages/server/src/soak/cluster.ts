// The soak's cluster: three combined (controller + broker) `brook` node processes on
// 127.0.0.1, started with the argument shape of scripts/cluster.mjs (the built
// dist/bin/brook.js, --initial-heap-size=256, RF 3, min.insync.replicas=2), each with its
// own data directory under one temp directory and its stdout/stderr (pino JSON: not a
// terminal) appended to nodeN.log there (across restarts). Owns the faults as signals: SIGKILL, SIGSTOP/SIGCONT, SIGTERM,
// and restarts on the same data directory.
//
// Contract: `start()` once, then faults one node at a time; `stopAll()` (or `killAllSync()`
// from an exit handler) ends every child. A node that exits when no signal of ours asked it
// to is recorded in `crashes`, and so is a controlled shutdown that exits non-zero.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pickFreePorts } from "@brook/protocol";
import { fileURLToPath } from "node:url";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "brook.js");
const TERMINATE_TIMEOUT_MS = 45_000;

export interface NodePorts {
  readonly client: number;
  readonly controller: number;
  readonly http: number;
}

export interface Crash {
  readonly node: number;
  readonly atMs: number;
  readonly what: string;
}

export type NodeState = "up" | "down" | "paused";

class SoakNode {
  child: ChildProcess | undefined;
  state: NodeState = "down";
  /** The exit we caused (SIGKILL/SIGTERM); any other exit is a crash. */
  expectingExit = false;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });

  constructor(
    readonly id: number,
    readonly ports: NodePorts,
    readonly dataDir: string,
    readonly logPath: string,
  ) {}
}

export class SoakCluster {
  readonly nodes: readonly SoakNode[];
  readonly crashes: Crash[] = [];
  readonly bootstrap: readonly string[];
  /** Called at once for every crash (the CLI prints it). */
  onCrash: (crash: Crash) => void = () => {};
  readonly #voters: string;
  readonly #startedAt = Date.now();

  private constructor(
    readonly dir: string,
    ports: readonly NodePorts[],
  ) {
    this.nodes = ports.map((p, i) => new SoakNode(i + 1, p, join(dir, `node${i + 1}`, "data"), join(dir, `node${i + 1}.log`)));
    this.bootstrap = ports.map((p) => `127.0.0.1:${p.client}`);
    this.#voters = this.nodes.map((n) => `${n.id}@127.0.0.1:${n.ports.controller}`).join(",");
  }

  /**
   * Ports: BROOK_SOAK_BASE_PORT=B gives node N B+10N (client), B+10N+1 (controller), B+10N+2
   * (HTTP), as BROOK_CLUSTER_BASE_PORT does for scripts/cluster.mjs; otherwise free ports are
   * picked once and kept across restarts.
   */
  static async create(dir: string, nodeCount: number, basePort: number | undefined): Promise<SoakCluster> {
    const ports: NodePorts[] = [];
    // Picked in one call: every port distinct.
    const free = basePort === undefined ? await pickFreePorts(3 * nodeCount) : [];
    for (let id = 1; id <= nodeCount; id++) {
      const i = 3 * (id - 1);
      ports.push(basePort === undefined ? { client: free[i]!, controller: free[i + 1]!, http: free[i + 2]! } : { client: basePort + 10 * id, controller: basePort + 10 * id + 1, http: basePort + 10 * id + 2 });
    }
    return new SoakCluster(dir, ports);
  }

  node(id: number): SoakNode {
    const n = this.nodes[id - 1];
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  start(id: number): void {
    const node = this.node(id);
    if (node.state !== "down") throw new Error(`node ${id} is ${node.state}, not down`);
    mkdirSync(node.dataDir, { recursive: true });
    const log = openSync(node.logPath, "a");
    const args = [
      "--initial-heap-size=256",
      BIN,
      `--node.id=${id}`,
      "--process.roles=broker,controller",
      `--controller.quorum.voters=${this.#voters}`,
      `--listeners=PLAINTEXT://127.0.0.1:${node.ports.client},CONTROLLER://127.0.0.1:${node.ports.controller}`,
      `--advertised.listeners=PLAINTEXT://127.0.0.1:${node.ports.client}`,
      `--http.listener=127.0.0.1:${node.ports.http}`,
      `--log.dirs=${node.dataDir}`,
      "--num.partitions=3",
      "--default.replication.factor=3",
      "--min.insync.replicas=2",
      "--offsets.topic.replication.factor=3",
    ];
    // detached: a terminal's Ctrl-C reaches only the soak, which then ends the nodes itself.
    const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    node.child = child;
    node.state = "up";
    node.expectingExit = false;
    node.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        if (node.child === child) {
          node.child = undefined;
          node.state = "down";
        }
        if (!node.expectingExit) this.#crash({ node: id, atMs: Date.now() - this.#startedAt, what: `exited on its own (${signal ?? `code ${code}`})` });
        resolve({ code, signal });
      });
    });
  }

  #crash(crash: Crash): void {
    this.crashes.push(crash);
    this.onCrash(crash);
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill(id: number): Promise<void> {
    const node = this.node(id);
    if (node.child === undefined) return;
    node.expectingExit = true;
    node.child.kill("SIGKILL");
    await node.exited;
  }

  /** SIGTERM (controlled shutdown); a non-zero exit, or none within 45 s, is recorded as a crash. */
  async terminate(id: number): Promise<void> {
    const node = this.node(id);
    const child = node.child;
    if (child === undefined) return;
    node.expectingExit = true;
    child.kill("SIGTERM");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), TERMINATE_TIMEOUT_MS).unref());
    const result = await Promise.race([node.exited, timeout]);
    if (result === "timeout") {
      this.#crash({ node: id, atMs: Date.now() - this.#startedAt, what: `controlled shutdown took over ${TERMINATE_TIMEOUT_MS / 1000}s; SIGKILLed` });
      child.kill("SIGKILL");
      await node.exited;
    } else if (result.code !== 0) {
      this.#crash({ node: id, atMs: Date.now() - this.#startedAt, what: `controlled shutdown exited with ${result.signal ?? `code ${result.code}`}` });
    }
  }

  pause(id: number): void {
    const node = this.node(id);
    if (node.child === undefined || node.state !== "up") throw new Error(`node ${id} is not running`);
    node.child.kill("SIGSTOP");
    node.state = "paused";
  }

  resume(id: number): void {
    const node = this.node(id);
    if (node.child === undefined || node.state !== "paused") return;
    node.child.kill("SIGCONT");
    node.state = "up";
  }

  /** /readyz answers 200 with ready: true. */
  async ready(id: number): Promise<boolean> {
    const node = this.node(id);
    if (node.state !== "up") return false;
    try {
      const res = await fetch(`http://127.0.0.1:${node.ports.http}/readyz`, { signal: AbortSignal.timeout(2_000) });
      const body = (await res.json()) as { ready?: unknown };
      return res.status === 200 && body.ready === true;
    } catch {
      return false;
    }
  }

  /**
   * Polls /readyz until it passes; resolves with the milliseconds waited. Throws after
   * `timeoutMs`, or at once when any node crashes meanwhile (no point waiting for a quorum).
   */
  async waitReady(id: number, timeoutMs: number): Promise<number> {
    const started = Date.now();
    const crashesBefore = this.crashes.length;
    while (!(await this.ready(id))) {
      if (this.crashes.length > crashesBefore) throw new Error(`node ${this.crashes.at(-1)!.node} crashed while the soak waited for node ${id} to be ready`);
      if (this.node(id).state === "down") throw new Error(`node ${id} exited while the soak waited for it to be ready`);
      if (Date.now() - started > timeoutMs) throw new Error(`node ${id} not ready after ${timeoutMs / 1000}s (see ${this.node(id).logPath})`);
      await sleep(200);
    }
    return Date.now() - started;
  }

  /** Controlled shutdown of every running node, one at a time (as scripts/cluster.mjs stops). */
  async stopAll(): Promise<void> {
    for (const node of this.nodes) {
      if (node.state === "paused") this.resume(node.id);
      if (node.child !== undefined) await this.terminate(node.id);
    }
  }

  /** For exit handlers: SIGKILL every child now. */
  killAllSync(): void {
    for (const node of this.nodes) {
      if (node.child === undefined) continue;
      node.expectingExit = true;
      try {
        node.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

export interface LogFindings {
  readonly node: number;
  readonly logPath: string;
  /** pino lines at level error (50) or fatal (60). */
  readonly errors: readonly string[];
  /** Lines that are not pino JSON: uncaught exceptions and warnings print this way. */
  readonly raw: readonly string[];
}

/** Scans each node's log for error/fatal lines and non-JSON output (stack traces). */
export function scanLogs(cluster: SoakCluster): LogFindings[] {
  return cluster.nodes.map((node) => {
    const errors: string[] = [];
    const raw: string[] = [];
    let text = "";
    try {
      text = readFileSync(node.logPath, "utf8");
    } catch {
      // no log: the node never started
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      let level: unknown;
      try {
        level = (JSON.parse(line) as { level?: unknown }).level;
      } catch {
        raw.push(line);
        continue;
      }
      if (typeof level === "number" && level >= 50) errors.push(line);
    }
    return { node: node.id, logPath: node.logPath, errors, raw };
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
