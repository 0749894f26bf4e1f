// Drives controller-node processes (built to dist/bin/controller-node.js) for the integration
// test and the benchmark: spawn, SIGKILL, SIGTERM, restart with the same data dirs, and a gRPC
// client that finds the active controller by following NOT_CONTROLLER answers.
// Not part of the library's runtime API.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { ControllerClient, type DescribeQuorumResponse } from "@brook/protocol/gen/brook/v1/controller";
import { Codes } from "../errors.js";

export function controllerNodeProgram(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here.replace(/[/\\]src[/\\]bin$/, "/dist/bin"), "controller-node.js");
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  stderr: string;
}

export interface ControllerClusterOptions {
  /** First of `size` consecutive loopback ports (use the controller's range 4200-4299). */
  readonly basePort: number;
  readonly size?: number;
  readonly sessionTimeoutMs?: number;
  readonly electionTimeoutMs?: number;
  readonly heartbeatMs?: number;
  readonly snapshotEvery?: number;
  readonly logLevel?: string;
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

export class ControllerCluster {
  readonly ids: number[];
  readonly #opts: ControllerClusterOptions;
  readonly #root: string;
  readonly #nodes = new Map<number, Running>();
  readonly #clients = new Map<number, ControllerClient>();
  #lastActive = 0;

  private constructor(opts: ControllerClusterOptions, root: string) {
    this.#opts = opts;
    this.#root = root;
    this.ids = Array.from({ length: opts.size ?? 3 }, (_, i) => i + 1);
  }

  static async start(opts: ControllerClusterOptions): Promise<ControllerCluster> {
    const c = new ControllerCluster(opts, await mkdtemp(join(tmpdir(), "brook-controller-")));
    await Promise.all(c.ids.map((id) => c.startNode(id)));
    return c;
  }

  address(id: number): string {
    return `127.0.0.1:${this.#opts.basePort + id - 1}`;
  }

  get voters(): string {
    return this.ids.map((id) => `${id}@${this.address(id)}`).join(",");
  }

  async startNode(id: number): Promise<void> {
    const o = this.#opts;
    const args = ["--id", String(id), "--voters", this.voters, "--data", join(this.#root, `c${id}`), "--log-level", o.logLevel ?? "warn"];
    if (o.sessionTimeoutMs !== undefined) args.push("--session-timeout-ms", String(o.sessionTimeoutMs));
    if (o.electionTimeoutMs !== undefined) args.push("--election-timeout-ms", String(o.electionTimeoutMs));
    if (o.heartbeatMs !== undefined) args.push("--heartbeat-ms", String(o.heartbeatMs));
    if (o.snapshotEvery !== undefined) args.push("--snapshot-every", String(o.snapshotEvery));
    const child = spawn(process.execPath, [controllerNodeProgram(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const node: Running = { child, exited: new Promise((r) => child.once("exit", () => r())), stderr: "" };
    child.stderr?.on("data", (d: Buffer) => {
      node.stderr = (node.stderr + d.toString()).slice(-20_000);
    });
    this.#nodes.set(id, node);
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        if (line.includes('"ready"')) resolve();
      });
      void node.exited.then(() => reject(new Error(`controller ${id} exited before ready: ${node.stderr}`)));
    });
  }

  async kill(id: number): Promise<void> {
    const n = this.#nodes.get(id);
    if (n === undefined) return;
    n.child.kill("SIGKILL");
    await n.exited;
    this.#nodes.delete(id);
    this.#dropClient(id);
  }

  async stop(id: number): Promise<void> {
    const n = this.#nodes.get(id);
    if (n === undefined) return;
    n.child.kill("SIGTERM");
    const timer = setTimeout(() => n.child.kill("SIGKILL"), 15_000);
    await n.exited;
    clearTimeout(timer);
    this.#nodes.delete(id);
    this.#dropClient(id);
  }

  running(): number[] {
    return [...this.#nodes.keys()];
  }

  stderr(id: number): string {
    return this.#nodes.get(id)?.stderr ?? "";
  }

  client(id: number): ControllerClient {
    let c = this.#clients.get(id);
    if (c === undefined) {
      c = new ControllerClient(this.address(id), grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
      this.#clients.set(id, c);
    }
    return c;
  }

  /** One call to one node. */
  callNode<Req, Res>(id: number, method: (c: ControllerClient) => Unary<Req, Res>, req: Req, timeoutMs = 10_000): Promise<Res> {
    const c = this.client(id);
    return new Promise((resolve, reject) => {
      method(c).call(c, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /**
   * Calls the active controller: follows NOT_CONTROLLER hints, tries other running nodes when
   * there is no hint or a node is down, until `deadlineMs` passes.
   */
  async call<Req, Res extends { error?: { code: number; message: string } | undefined; controller?: { id: number } | undefined }>(
    method: (c: ControllerClient) => Unary<Req, Res>,
    req: Req,
    deadlineMs = 30_000,
  ): Promise<{ res: Res; node: number }> {
    const until = Date.now() + deadlineMs;
    let target = this.#nodes.has(this.#lastActive) ? this.#lastActive : (this.running()[0] ?? 1);
    let last = "";
    while (Date.now() < until) {
      try {
        const res = await this.callNode(target, method, req, Math.max(1000, Math.min(10_000, until - Date.now())));
        if (res.error?.code !== Codes.NOT_CONTROLLER) {
          this.#lastActive = target;
          return { res, node: target };
        }
        last = res.error.message;
        const hint = res.controller?.id ?? -1;
        target = hint > 0 && this.#nodes.has(hint) ? hint : this.#next(target);
      } catch (err) {
        last = (err as Error).message;
        target = this.#next(target);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no active controller answered within ${deadlineMs} ms (last: ${last})`);
  }

  describeQuorum(id: number): Promise<DescribeQuorumResponse> {
    return this.callNode(id, (c) => c.describeQuorum, {});
  }

  async close(): Promise<void> {
    await Promise.all(this.running().map((id) => this.kill(id)));
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
    await rm(this.#root, { recursive: true, force: true });
  }

  #next(after: number): number {
    const r = this.running();
    if (r.length === 0) return after;
    const later = r.filter((x) => x > after);
    return later[0] ?? (r[0] as number);
  }

  #dropClient(id: number): void {
    this.#clients.get(id)?.close();
    this.#clients.delete(id);
  }
}
