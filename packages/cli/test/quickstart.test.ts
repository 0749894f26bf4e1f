// The README's CLI commands against a real three-node cluster started by scripts/cluster.mjs
// (built server binary, real processes and gRPC; `npm test` builds first). Ports moved to
// the tests' range (4750-4772).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const BIN = join(ROOT, "packages", "cli", "dist", "bin", "brook.js");
const BOOTSTRAP = "127.0.0.1:4750,127.0.0.1:4760,127.0.0.1:4770";
let launcher: ChildProcess | undefined;
let dir = "";
let out = ""; // the launcher's stdout and stderr

const brook = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [BIN, "-b", BOOTSTRAP, ...args], { encoding: "utf8", timeout: 90_000, ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`brook ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-cli-quickstart-"));
  launcher = spawn(process.execPath, [join(ROOT, "scripts", "cluster.mjs")], { cwd: ROOT, env: { ...process.env, BROOK_CLUSTER_DIR: dir, BROOK_CLUSTER_BASE_PORT: "4740", BROOK_CLUSTER_READY_TIMEOUT_MS: "100000" }, stdio: ["ignore", "pipe", "pipe"] });
  launcher.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  launcher.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  while (!out.includes("Stop: press Ctrl-C")) {
    if (launcher.exitCode !== null) throw new Error(`cluster launcher exited:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!out.includes("cluster ready")) throw new Error(`cluster did not become ready:\n${out}`);
});

afterAll(async () => {
  if (launcher && launcher.exitCode === null) {
    const exited = new Promise((resolve) => launcher!.once("exit", resolve));
    launcher.kill("SIGINT");
    await exited;
  }
  for (const id of [1, 2, 3]) {
    const pid = Number((await readFile(join(dir, `node${id}`, "data", ".lock"), "utf8").catch(() => "")).trim());
    if (pid > 0) process.kill(pid, "SIGKILL");
  }
  await rm(dir, { recursive: true, force: true });
});

describe("brook CLI against a local cluster", () => {
  it("describes the cluster: three active brokers and a quorum leader", () => {
    const d = JSON.parse(brook(["cluster", "describe", "--json"]).stdout) as { brokers: { id: number; fenced: boolean }[]; quorum: { leaderId: number }; offlinePartitions: number };
    expect(d.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
    expect(d.brokers.every((b) => !b.fenced)).toBe(true);
    expect([1, 2, 3]).toContain(d.quorum.leaderId);
    expect(d.offlinePartitions).toBe(0);
  });

  it("creates, lists, describes and alters a topic", () => {
    expect(brook(["topics", "create", "orders", "-p", "3", "-r", "3", "-c", "retention.ms=86400000"]).stdout).toBe("created topic orders\n");
    expect(JSON.parse(brook(["topics", "list", "--json"]).stdout)).toContainEqual({ name: "orders", partitions: 3, replicationFactor: 3, internal: false });
    const [topic] = JSON.parse(brook(["topics", "describe", "orders", "--json"]).stdout) as { configs: Record<string, string>; overrides: string[]; partitionDetails: { replicas: number[]; isr: number[] }[] }[];
    expect(topic!.configs["retention.ms"]).toBe("86400000");
    expect(topic!.configs["segment.bytes"]).toBe("1073741824"); // a default, listed in --json
    expect(topic!.overrides).toEqual(["retention.ms"]);
    // The text form shows what is set on the topic, as kafka-topics --describe does.
    expect(brook(["topics", "describe", "orders"]).stdout.split("\n")[0]).toBe("Topic orders  partitions 3  replication factor 3  configs retention.ms=86400000");
    expect(topic!.partitionDetails.every((p) => p.replicas.length === 3)).toBe(true);
    brook(["topics", "alter", "orders", "-p", "4"]);
    expect(JSON.parse(brook(["topics", "describe", "orders", "--json"]).stdout)[0].partitions).toBe(4);
  });

  it("produces lines with keys and headers and consumes them back to the end", () => {
    const produced = brook(["produce", "orders", "-k", ":", "-H", "source=cli"], "user-1:hello\nuser-2:world\nuser-1:again\n");
    expect(produced.stderr).toBe("produced 3 record(s) to orders\n");
    const lines = brook(["consume", "orders", "--from-beginning", "--to-end", "--format", "json"]).stdout.trim().split("\n").map((l) => JSON.parse(l) as { key: string; value: string; partition: number; headers: Record<string, string> });
    expect(lines.map((l) => `${l.key}=${l.value}`).sort()).toEqual(["user-1=again", "user-1=hello", "user-2=world"]);
    expect(lines.every((l) => l.headers["source"] === "cli")).toBe(true);
    // Same key, same partition, in order.
    const user1 = lines.filter((l) => l.key === "user-1");
    expect(new Set(user1.map((l) => l.partition)).size).toBe(1);
    expect(user1.map((l) => l.value)).toEqual(["hello", "again"]);
  });

  it("runs a small perf produce and prints the figures", () => {
    const figures = JSON.parse(brook(["perf", "produce", "orders", "-n", "2000", "-s", "100", "--json"]).stdout) as { records: number; errors: number; latencyMs: { p99: number } };
    expect(figures).toMatchObject({ records: 2000, errors: 0 });
    expect(figures.latencyMs.p99).toBeGreaterThan(0);
  });

  it("consumes in a group that commits, and groups list/describe show it (the cluster creates __consumer_offsets on demand)", () => {
    const ends = JSON.parse(brook(["topics", "describe", "orders", "--json"]).stdout)[0].partitions as number;
    const consumed = brook(["consume", "orders", "-g", "billing", "--from-beginning", "--to-end"]).stdout.trim().split("\n");
    expect(consumed.length).toBe(2003);
    expect(JSON.parse(brook(["groups", "list", "--json"]).stdout)).toContainEqual(expect.objectContaining({ groupId: "billing" }));
    const [group] = JSON.parse(brook(["groups", "describe", "billing", "--json"]).stdout) as { groupId: string; offsets: { topic: string; partition: number; committed: number; logEnd: number; lag: number }[] }[];
    expect(group!.groupId).toBe("billing");
    expect(group!.offsets.map((o) => o.partition).sort()).toEqual([...Array(ends).keys()]);
    expect(group!.offsets.every((o) => o.topic === "orders" && o.committed === o.logEnd && o.lag === 0)).toBe(true);
    expect(group!.offsets.reduce((n, o) => n + o.committed, 0)).toBe(2003);
    const internal = JSON.parse(brook(["topics", "list", "--internal", "--json"]).stdout) as { name: string; partitions: number; replicationFactor: number }[];
    expect(internal).toContainEqual(expect.objectContaining({ name: "__consumer_offsets", partitions: 12, replicationFactor: 3 }));
  });

  it("a following group consumer stopped by SIGTERM commits what it printed and leaves its group", async () => {
    const child = spawn(process.execPath, [BIN, "-b", BOOTSTRAP, "consume", "orders", "-g", "follower", "--from-beginning"], { stdio: ["ignore", "pipe", "pipe"] });
    let lines = 0;
    let err = "";
    child.stdout!.on("data", (c: Buffer) => (lines += c.toString().split("\n").length - 1));
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (lines < 2003) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`consumer printed ${lines} of 2003 lines:\n${err}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill("SIGTERM"); // as docker stop or timeout(1) would
    expect(await exited).toBe(0);
    const [group] = JSON.parse(brook(["groups", "describe", "follower", "--json"]).stdout) as { members: number; offsets: { committed: number }[] }[];
    expect(group!.members).toBe(0);
    expect(group!.offsets.reduce((n, o) => n + o.committed, 0)).toBe(2003);
  });

  it("consumes from a time even when some partitions have nothing that recent (they start at their end)", () => {
    brook(["topics", "create", "timed", "-p", "3", "-r", "3"]);
    brook(["produce", "timed"], "early\n"); // one record: two of the three partitions stay empty
    expect(brook(["consume", "timed", "--from-time", "-10m", "--to-end"]).stdout).toBe("early\n");
    expect(brook(["consume", "timed", "--from-time", new Date(Date.now() + 3_600_000).toISOString(), "--to-end"]).stdout).toBe("");
  });

  it("perf consume stops after --timeout when the topic holds fewer records than asked for", () => {
    const r = brook(["perf", "consume", "timed", "-n", "5", "--timeout", "1000", "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ records: 1, errors: 0 });
    expect(r.stderr).toContain("stopped after 1 of 5 records: none arrived for 1000 ms");
  });

  it("resets a group's offsets to the earliest and deletes the group", () => {
    brook(["groups", "reset-offsets", "billing", "-t", "orders", "--to-earliest", "--execute"]);
    const [group] = JSON.parse(brook(["groups", "describe", "billing", "--json"]).stdout) as { offsets: { committed: number; lag: number; logEnd: number }[] }[];
    expect(group!.offsets.length).toBeGreaterThan(0);
    expect(group!.offsets.every((o) => o.committed === 0 && o.lag === o.logEnd)).toBe(true);
    expect(brook(["groups", "delete", "billing"]).stdout).toBe("deleted billing\n");
    const groups = JSON.parse(brook(["groups", "list", "--json"]).stdout) as { groupId: string }[];
    expect(groups.map((g) => g.groupId)).not.toContain("billing");
  });
  it("a node killed with kill -9 comes back on its data after kill -HUP to the launcher (README)", async () => {
    const pid = Number((await readFile(join(dir, "node2", "data", ".lock"), "utf8")).trim());
    process.kill(pid, "SIGKILL");
    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>) => {
      const deadline = Date.now() + 90_000;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; launcher said:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    await waitFor("the launcher to see node 2 exit", () => out.includes("node 2 exited on its own (SIGKILL)") && out.includes(`kill -HUP ${launcher!.pid}`));
    launcher!.kill("SIGHUP");
    await waitFor("the restart", () => /SIGHUP: restarted node 2 \(pid \d+\)/.test(out));
    const restarted = Number(/SIGHUP: restarted node 2 \(pid (\d+)\)/.exec(out)![1]);
    expect(restarted).not.toBe(pid);
    // The new process itself says it is ready (registered, unfenced, caught up): port 4740 + 10 * 2 + 2.
    await waitFor("the new node 2 ready", async () => {
      const body = await fetch("http://127.0.0.1:4762/readyz", { signal: AbortSignal.timeout(2_000) }).then((r) => r.json() as Promise<{ ready?: boolean }>, () => ({}) as { ready?: boolean });
      return body.ready === true && Number((await readFile(join(dir, "node2", "data", ".lock"), "utf8").catch(() => "0")).trim()) === restarted;
    });
    // Its data survived: the topic created above is still readable through the cluster.
    expect(brook(["consume", "orders", "--from-beginning", "--to-end"]).stdout.trim().split("\n").length).toBeGreaterThan(0);
  });
});
