#!/usr/bin/env node
// The local three-node cluster: starts three combined (controller + broker) brook nodes
// as child processes on 127.0.0.1, data under .cluster/nodeN/data, each node's log in
// .cluster/nodeN.log. Ctrl-C (or SIGTERM) sends each node one SIGTERM (controlled
// shutdown) and waits for all three to exit; SIGHUP restarts any node that exited (a node
// killed by hand in a chaos test). Expects a built workspace (`npm run cluster`
// installs and builds first). Flags: --fresh wipes .cluster/ before starting.
// Env (for tests): BROOK_CLUSTER_DIR moves .cluster/; BROOK_CLUSTER_BASE_PORT=B moves node
// N's ports to B+10N (client), B+10N+1 (controller), B+10N+2 (HTTP);
// BROOK_CLUSTER_READY_TIMEOUT_MS bounds the wait for readiness (default 120000); BROOK_NODE_ARGS
// adds node flags to every node (profiling).
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const clusterDir = process.env.BROOK_CLUSTER_DIR ?? join(root, ".cluster");
const basePort = process.env.BROOK_CLUSTER_BASE_PORT ? Number(process.env.BROOK_CLUSTER_BASE_PORT) : undefined;
const bin = join(root, "packages", "server", "dist", "bin", "brook.js");
const ids = [1, 2, 3];
const port = (id, kind) =>
  basePort === undefined ? Number(`${id}${{ client: "9092", controller: "9093", http: "8080" }[kind]}`) : basePort + 10 * id + { client: 0, controller: 1, http: 2 }[kind];
const bootstrap = ids.map((id) => `127.0.0.1:${port(id, "client")}`).join(",");
const voters = ids.map((id) => `${id}@127.0.0.1:${port(id, "controller")}`).join(",");
const READY_TIMEOUT_MS = Number(process.env.BROOK_CLUSTER_READY_TIMEOUT_MS ?? 120_000);

if (!existsSync(bin)) {
  console.error(`✖ ${relative(root, bin)} is missing: build first (npm run cluster does install + build + start).`);
  process.exit(1);
}
if (process.argv.includes("--fresh")) rmSync(clusterDir, { recursive: true, force: true });

// A node left over from a crashed launcher still holds its lock and ports: say so instead of
// starting a second copy that would wait forever for its ports.
for (const id of ids) {
  const lock = join(clusterDir, `node${id}`, "data", ".lock");
  const pid = existsSync(lock) ? Number(readFileSync(lock, "utf8").trim()) : 0;
  if (pid > 0 && isAlive(pid)) {
    console.error(`✖ node ${id} of an earlier run is still running (pid ${pid}). Stop it with: kill ${pid}`);
    process.exit(1);
  }
}
const busy = [];
for (const id of ids) for (const kind of ["client", "controller", "http"]) if (await isListening(port(id, kind))) busy.push(port(id, kind));
if (busy.length > 0) {
  console.error(`✖ ports ${busy.join(", ")} on 127.0.0.1 are already in use (another cluster, or docker compose up?). Stop that first.`);
  process.exit(1);
}

const nodes = ids.map((id) => spawnNode(id));

// A node killed on purpose (chaos testing: kill -9 <pid>) comes back with SIGHUP to this
// launcher, on its own data directory, as a supervisor would restart it.
process.on("SIGHUP", () => {
  if (stopping) return;
  const down = nodes.filter((n) => n.exited);
  if (down.length === 0) return console.log("SIGHUP: every node is running; nothing to restart");
  for (const n of down) {
    const i = nodes.indexOf(n);
    nodes[i] = spawnNode(n.id);
    console.log(`SIGHUP: restarted node ${n.id} (pid ${nodes[i].child.pid}) on its data in ${relative(root, join(clusterDir, `node${n.id}`))}`);
  }
});

function spawnNode(id) {
  const dir = join(clusterDir, `node${id}`);
  mkdirSync(dir, { recursive: true });
  const logPath = join(clusterDir, `node${id}.log`);
  const log = openSync(logPath, "a");
  const args = [
    // A larger initial V8 heap: without it a broker under produce load runs a full GC every
    // fraction of a second (packages/broker/README.md, Measured).
    "--initial-heap-size=256",
    // BROOK_NODE_ARGS: more node flags for every node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
    // (a profile is written when the node exits after Ctrl-C).
    ...(process.env.BROOK_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
    bin,
    `--node.id=${id}`,
    "--process.roles=broker,controller",
    `--controller.quorum.voters=${voters}`,
    `--listeners=PLAINTEXT://127.0.0.1:${port(id, "client")},CONTROLLER://127.0.0.1:${port(id, "controller")}`,
    `--advertised.listeners=PLAINTEXT://127.0.0.1:${port(id, "client")}`,
    `--http.listener=127.0.0.1:${port(id, "http")}`,
    `--log.dirs=${join(dir, "data")}`,
    "--num.partitions=3",
    "--default.replication.factor=3",
    "--min.insync.replicas=2",
    "--offsets.topic.replication.factor=3",
  ];
  // detached: a terminal's Ctrl-C reaches only this launcher, which then sends exactly one
  // SIGTERM per node (a second signal would make a node skip its controlled shutdown).
  // This launcher's own BROOK_CLUSTER_* / BROOK_NODE_ARGS are not node settings: a node would warn about each.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("BROOK_CLUSTER_") && k !== "BROOK_NODE_ARGS"));
  const child = spawn(process.execPath, args, { cwd: root, detached: true, stdio: ["ignore", log, log], env: { ...env, BROOK_LOG_FORMAT: "json" } });
  closeSync(log);
  const node = { id, child, logPath, exited: false };
  child.on("exit", (code, signal) => {
    node.exited = true;
    if (!stopping) {
      console.error(`✖ node ${id} exited on its own (${signal ?? `code ${code}`}); last lines of ${relative(root, logPath)}:`);
      console.error(tail(logPath, 5));
      console.error(`  Start it again on its data: kill -HUP ${process.pid}`);
      if (nodes.every((n) => n.exited)) process.exit(1);
    }
  });
  return node;
}

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  // One node at a time, as a rolling stop: while a quorum is up, each node's controlled
  // shutdown can hand its partition leadership to the nodes still running.
  console.log(`\n${signal}: stopping the three nodes one by one (controlled shutdown)...`);
  for (const node of nodes) {
    if (node.exited) continue;
    node.child.kill("SIGTERM");
    const deadline = Date.now() + 45_000;
    while (!node.exited && Date.now() < deadline) await sleep(50);
    if (!node.exited) {
      console.error(`node ${node.id} did not stop in time: killing it`);
      node.child.kill("SIGKILL");
    } else {
      console.log(`  node ${node.id} stopped`);
    }
  }
  console.log(`cluster stopped; data kept in ${relative(process.cwd(), clusterDir) || "."}/ (npm run cluster -- --fresh starts empty)`);
  process.exit(0);
}
process.on("SIGINT", () => void stop("Ctrl-C"));
process.on("SIGTERM", () => void stop("SIGTERM"));

console.log(`Starting 3 brook nodes (data and logs in ${relative(root, clusterDir) || clusterDir}/):`);
for (const node of nodes) {
  console.log(`  node ${node.id}: pid ${node.child.pid}  client 127.0.0.1:${port(node.id, "client")}  controller :${port(node.id, "controller")}  http http://127.0.0.1:${port(node.id, "http")}/readyz  log ${relative(root, node.logPath)}`);
}

const started = Date.now();
let lastReport = "";
while (!stopping) {
  const states = await Promise.all(nodes.map((n) => readiness(port(n.id, "http"))));
  const report = states.map((s, i) => `node ${ids[i]}: ${s.ready ? "ready" : s.reason}`).join("; ");
  if (states.every((s) => s.ready)) {
    console.log(`\n✔ cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    break;
  }
  if (Date.now() - started > READY_TIMEOUT_MS) {
    console.log(`\n⚠ not ready after ${READY_TIMEOUT_MS / 1000}s: ${report}\n  The nodes keep running; see their logs.`);
    break;
  }
  if (report !== lastReport) {
    console.log(`  waiting: ${report}`);
    lastReport = report;
  }
  await sleep(500);
}
if (!stopping) {
  console.log(`\nBootstrap servers: ${bootstrap}`);
  console.log(`Try:  node packages/cli/dist/bin/brook.js --bootstrap ${bootstrap} cluster describe`);
  console.log("Stop: press Ctrl-C here (each node shuts down cleanly).");
  console.log(`Chaos: kill -9 a node's pid (above); kill -HUP ${process.pid} starts every stopped node again.`);
}

async function readiness(httpPort) {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = await res.json();
    const failing = (body.checks ?? []).filter((c) => !c.ok).map((c) => c.detail ?? c.name);
    return { ready: body.ready === true, reason: failing[0] ?? `HTTP ${res.status}` };
  } catch {
    return { ready: false, reason: "starting" };
  }
}

function isListening(p) {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: p });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}

function tail(path, lines) {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
