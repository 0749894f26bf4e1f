// Runs the built binary (dist/bin/brook.js) as a real child process: `npm test` builds first.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin", "brook.js");
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

interface Running {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  waitForLine(pattern: RegExp): Promise<string>;
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.pattern.test(line)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    waitForLine: (pattern) => {
      const found = lines.find((l) => pattern.test(l));
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "brook-process-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const nodeArgs = (dir: string, httpPort: number) => [
  "--node.id=1",
  "--controller.quorum.voters=1@127.0.0.1:4711,2@127.0.0.1:4712,3@127.0.0.1:4713",
  "--listeners=PLAINTEXT://127.0.0.1:4710,CONTROLLER://127.0.0.1:4711",
  `--http.listener=127.0.0.1:${httpPort}`,
  `--log.dirs=${dir}/data`,
];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe("brook node process", () => {
  it("exits 2 on bad config with one JSON line per problem naming the key", async () => {
    const node = run(["--node.id=one", "--log.dirs=/tmp/x"]);
    expect(await node.exited).toBe(2);
    const problems = node.lines.map((l) => JSON.parse(l) as { key?: string; msg: string });
    expect(problems).toContainEqual(expect.objectContaining({ key: "node.id", msg: expect.stringContaining("is not an integer") }));
    expect(problems).toContainEqual(expect.objectContaining({ key: "controller.quorum.voters", msg: expect.stringContaining("is required") }));
  });

  it("serves /healthz and /readyz, logs what it waits for, and stops on SIGTERM releasing its lock", async () => {
    const dir = await tempDir();
    const node = run(nodeArgs(dir, 4714));
    await node.waitForLine(/"msg":"node started; starting roles"/);
    const health = await fetch("http://127.0.0.1:4714/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", nodeId: 1 });
    const ready = await fetch("http://127.0.0.1:4714/readyz");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { ready: boolean }).ready).toBe(false);
    const metrics = await (await fetch("http://127.0.0.1:4714/metrics")).text();
    expect(metrics).toContain('brook_node_info{roles="broker,controller",node_id="1"} 1');
    const waiting = JSON.parse(await node.waitForLine(/waiting for the controller quorum/)) as Record<string, unknown>;
    expect(waiting).toMatchObject({ node_id: 1, roles: "broker,controller" });
    node.child.kill("SIGTERM");
    expect(await node.exited).toBe(0);
    await expect(stat(join(dir, "data", ".lock"))).rejects.toThrow(/ENOENT/);
  });

  it("waits with one clear line while its HTTP port is taken, then binds when it frees up", async () => {
    const dir = await tempDir();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(4715, "127.0.0.1", resolve));
    const node = run(nodeArgs(dir, 4715));
    const line = JSON.parse(await node.waitForLine(/is in use/)) as { msg: string };
    expect(line.msg).toMatch(/^port 127.0.0.1:4715 \(http.listener\) is in use by another process: stop that process or change http.listener/);
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    await node.waitForLine(/"msg":"node started; starting roles"/);
    node.child.kill("SIGTERM");
    expect(await node.exited).toBe(0);
  });

  it("refuses a data directory from another cluster with exit code 78", async () => {
    const dir = await tempDir();
    const first = run(nodeArgs(dir, 4716));
    await first.waitForLine(/"msg":"node started; starting roles"/);
    first.child.kill("SIGKILL");
    await first.exited;
    const other = run([...nodeArgs(dir, 4716), "--cluster.id=another-cluster"]);
    expect(await other.exited).toBe(78);
    expect(other.lines.join("\n")).toMatch(/belongs to cluster [\w-]+, but this node is configured for cluster another-cluster/);
  });
});
