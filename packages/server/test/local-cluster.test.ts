// `npm run cluster`'s launcher (scripts/cluster.mjs) with the built binary: three node
// processes with their own logs and data, the bootstrap address printed, and SIGINT (what
// Ctrl-C sends) stopping all three cleanly. Ports moved to the tests' range.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("scripts/cluster.mjs", () => {
  it("starts three nodes that form a ready cluster, prints how to use and stop them, and stops them all on Ctrl-C", async () => {
    dir = await mkdtemp(join(tmpdir(), "brook-local-cluster-"));
    const child = spawn(process.execPath, [join(ROOT, "scripts", "cluster.mjs")], {
      cwd: ROOT,
      env: { ...process.env, BROOK_CLUSTER_DIR: dir, BROOK_CLUSTER_BASE_PORT: "4710", BROOK_CLUSTER_READY_TIMEOUT_MS: "90000" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      while (!out.includes("Stop: press Ctrl-C")) {
        if (child.exitCode !== null) throw new Error(`launcher exited early:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(out).toMatch(/✔ cluster ready in [\d.]+s/);
      expect(out).toContain("Bootstrap servers: 127.0.0.1:4720,127.0.0.1:4730,127.0.0.1:4740");
      let allMetrics = "";
      for (const id of [1, 2, 3]) {
        const health = (await (await fetch(`http://127.0.0.1:${4710 + 10 * id + 2}/healthz`)).json()) as { nodeId: number };
        expect(health.nodeId).toBe(id);
        const ready = (await (await fetch(`http://127.0.0.1:${4710 + 10 * id + 2}/readyz`)).json()) as { ready: boolean; checks: { name: string }[] };
        expect(ready.ready).toBe(true);
        expect(ready.checks.map((c) => c.name)).toEqual(expect.arrayContaining(["controller.leader-known", "broker.registered", "broker.unfenced", "broker.metadata.caught-up"]));
        const metrics = await (await fetch(`http://127.0.0.1:${4710 + 10 * id + 2}/metrics`)).text();
        expect(metrics).toMatch(/^brook_raft_leader_id\{node_id="\d"\} [123]$/m);
        allMetrics += metrics;
        expect(existsSync(join(dir, `node${id}`, "data", "meta.properties"))).toBe(true);
      }
      // Broker registrations and heartbeats reach the active controller through its node's gRPC server.
      expect(allMetrics).toMatch(/^brook_requests_total\{api="Controller\/\w+",status="OK",node_id="\d"\} \d+$/m);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(out).toContain("cluster stopped");
      for (const id of [1, 2, 3]) {
        const log = await readFile(join(dir, `node${id}.log`), "utf8");
        expect(log).toContain(`"node_id":${id}`);
        expect(log).toContain('"msg":"stopped"');
        expect(existsSync(join(dir, `node${id}`, "data", ".lock"))).toBe(false);
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      // The nodes run detached from the launcher: stop any still holding their lock.
      for (const id of [1, 2, 3]) {
        const pid = Number((await readFile(join(dir, `node${id}`, "data", ".lock"), "utf8").catch(() => "")).trim());
        if (pid > 0) process.kill(pid, "SIGKILL");
      }
    }
  }, 150_000); // above the 90 s readiness bound: a busy machine can be slow to start three nodes
});
