// Drives raft-node processes (./raft-node.ts, built to dist/bin/raft-node.js) for the
// integration test and the benchmarks: spawn, talk JSON lines, SIGKILL, restart, wipe.
// Not part of the library's runtime; exported only through this module path.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { NodeId } from "../core/types.js";

export interface NodeState {
  readonly id: NodeId;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly leaderId: NodeId;
  readonly isLeader: boolean;
  readonly snapshotIndex: number;
  readonly count: number;
  readonly hash: number;
}

/**
 * Asks the OS for `n` free loopback ports (bind to 0, read, release). Voters must know each
 * other's addresses before they start, so they cannot simply listen on port 0; this keeps
 * concurrent runs from colliding on fixed ports. The window between release and reuse is small.
 */
export async function allocatePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export class ControlError extends Error {
  override readonly name = "ControlError";
  constructor(
    readonly errorName: string,
    message: string,
    readonly leaderId: NodeId,
  ) {
    super(`${errorName}: ${message}`);
  }
}

/** The built raft-node program next to this module (dist/bin). */
export function raftNodeProgram(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From src/bin (vitest) the program is still the built one in dist/bin.
  return join(here.replace(/[/\\]src[/\\]bin$/, "/dist/bin"), "raft-node.js");
}

class ChildNode {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #seq = 0;
  readonly exited: Promise<void>;
  readonly ready: Promise<void>;
  stderr = "";

  constructor(program: string, args: readonly string[], nodeArgs: readonly string[]) {
    this.#child = spawn(process.execPath, [...nodeArgs, program, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.stderr!.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    let onReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (onReady = resolve));
    this.exited = new Promise((resolve) =>
      this.#child.once("exit", () => {
        for (const p of this.#pending.values()) p.reject(new Error("node process exited"));
        this.#pending.clear();
        resolve();
      }),
    );
    createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line) as { event?: string; id?: number; ok?: boolean; result?: unknown; error?: { name: string; message: string; leaderId: number } };
      if (msg.event === "ready") return onReady();
      const p = this.#pending.get(msg.id!);
      if (p === undefined) return;
      this.#pending.delete(msg.id!);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new ControlError(msg.error!.name, msg.error!.message, msg.error!.leaderId));
    });
  }

  request<T>(op: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${op} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.stdin!.write(JSON.stringify({ id, op, ...args }) + "\n");
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** Closes stdin: the node closes cleanly and exits. */
  endInput(): void {
    this.#child.stdin!.end();
  }
}

export interface ProcessClusterOptions {
  readonly size?: number;
  /** First of `size` consecutive loopback ports; when absent, free ports are allocated. */
  readonly basePort?: number;
  readonly snapshotEvery?: number;
  readonly electionTimeoutMs?: number;
  readonly heartbeatMs?: number;
  readonly logLevel?: string;
  /** Extra flags for node itself, e.g. ["--cpu-prof"]. */
  readonly nodeArgs?: readonly string[];
}

/** N raft-node processes on loopback, each with a level store in a temp dir. */
export class ProcessCluster {
  readonly ids: NodeId[];
  readonly #nodes = new Map<NodeId, ChildNode>();
  #voters = "";
  readonly #opts: ProcessClusterOptions;
  #root = "";

  constructor(opts: ProcessClusterOptions) {
    this.#opts = opts;
    this.ids = Array.from({ length: opts.size ?? 3 }, (_, i) => i + 1);
  }

  async start(): Promise<void> {
    const base = this.#opts.basePort;
    const ports = base !== undefined ? this.ids.map((id) => base + id - 1) : await allocatePorts(this.ids.length);
    this.#voters = this.ids.map((id, i) => `${id}@127.0.0.1:${ports[i]}`).join(",");
    this.#root = await mkdtemp(join(tmpdir(), "brook-raft-cluster-"));
    await Promise.all(this.ids.map((id) => this.startNode(id)));
  }

  dataDir(id: NodeId): string {
    return join(this.#root, `n${id}`);
  }

  async startNode(id: NodeId): Promise<void> {
    const args = ["--id", String(id), "--voters", this.#voters, "--data", this.dataDir(id), "--log-level", this.#opts.logLevel ?? "warn"];
    if (this.#opts.snapshotEvery !== undefined) args.push("--snapshot-every", String(this.#opts.snapshotEvery));
    if (this.#opts.electionTimeoutMs !== undefined) args.push("--election-timeout-ms", String(this.#opts.electionTimeoutMs));
    if (this.#opts.heartbeatMs !== undefined) args.push("--heartbeat-ms", String(this.#opts.heartbeatMs));
    const node = new ChildNode(raftNodeProgram(), args, this.#opts.nodeArgs ?? []);
    this.#nodes.set(id, node);
    await Promise.race([
      node.ready,
      node.exited.then(() => {
        throw new Error(`node ${id} exited during startup:\n${node.stderr}`);
      }),
    ]);
  }

  isRunning(id: NodeId): boolean {
    return this.#nodes.has(id);
  }

  async kill(id: NodeId): Promise<void> {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    this.#nodes.delete(id);
    node.kill("SIGKILL");
    await node.exited;
  }

  /** Graceful stop: the node closes its store and exits on its own. */
  async shutdown(id: NodeId): Promise<void> {
    const node = this.#nodes.get(id);
    if (node === undefined) return;
    this.#nodes.delete(id);
    node.endInput();
    await node.exited;
  }

  async wipe(id: NodeId): Promise<void> {
    await this.kill(id);
    await rm(this.dataDir(id), { recursive: true, force: true });
  }

  request<T>(id: NodeId, op: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<T> {
    const node = this.#nodes.get(id);
    if (node === undefined) return Promise.reject(new Error(`node ${id} is not running`));
    return node.request<T>(op, args, timeoutMs);
  }

  status(id: NodeId): Promise<NodeState> {
    return this.request<NodeState>(id, "status");
  }

  /** The running node that says it leads, polling until one does. */
  async leader(timeoutMs = 30_000): Promise<NodeId> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const states = await Promise.all([...this.#nodes.keys()].map((id) => this.status(id).catch(() => undefined)));
      const lead = states.filter((s) => s?.isLeader).sort((a, b) => b!.term - a!.term)[0];
      if (lead !== undefined) return lead.id;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("no leader elected in time");
  }

  /** Proposes through the current leader, following redirects across elections. */
  async propose(value: string, timeoutMs = 30_000): Promise<{ index: number; term: number; leader: NodeId }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.leader(Math.max(1, deadline - Date.now()));
      try {
        const r = await this.request<{ index: number; term: number }>(leader, "propose", { value }, Math.max(1, deadline - Date.now()));
        return { ...r, leader };
      } catch (err) {
        if (Date.now() > deadline) throw err;
        if (!(err instanceof ControlError)) throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** Tries a proposal on every running node at once; resolves with the first that commits. */
  async proposeAnywhere(value: string, timeoutMs: number): Promise<NodeId> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const attempts = [...this.#nodes.keys()].map((id) => this.request(id, "propose", { value }, Math.max(1, deadline - Date.now())).then(() => id));
      try {
        return await Promise.any(attempts);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#nodes.keys()].map((id) => this.kill(id)));
    if (this.#root !== "") await rm(this.#root, { recursive: true, force: true });
  }
}
