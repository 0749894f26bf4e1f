// Failover with default settings on real `brook` processes: three combined nodes (the built
// dist/bin/brook.js, only ports and voters set), a topic of 1 partition, replication factor
// 3, min.insync.replicas=2. Each round SIGKILLs the partition's leader and times until the
// first acks=all produce succeeds on the new leader (issue 5's figure: <= 1.5 s median,
// <= 3 s max), then restarts the node and waits for a full ISR. Prints median, p90 and max,
// and how many of the kills also took down the active controller.
// Env: BENCH_KILLS (default 20), BENCH_BASE_PORT (default 4850: node N uses B+10N..B+10N+2).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, Metadata } from "@grpc/grpc-js";
import { encodeRecordBatch } from "@brook/protocol";
import { BrokerClient, type MetadataResponse, type ProduceResponse } from "@brook/protocol/gen/brook/v1/broker";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "brook.js");
const KILLS = Number(process.env["BENCH_KILLS"] ?? 20);
const BASE = Number(process.env["BENCH_BASE_PORT"] ?? 4850);
const IDS = [1, 2, 3];
const TOPIC = "failover";
const port = (id: number, k: 0 | 1 | 2): number => BASE + 10 * id + k;

const procs = new Map<number, ChildProcess>();
const clients = new Map(IDS.map((id) => [id, new BrokerClient(`127.0.0.1:${port(id, 0)}`, credentials.createInsecure())]));
let root = "";

function call<Req, Res>(fn: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: Error | null, r: Res) => void) => unknown, req: Req, ms: number): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, new Metadata(), { deadline: new Date(Date.now() + ms) }, (e, r) => (e ? reject(e) : resolve(r))));
}

function start(id: number): void {
  const voters = IDS.map((v) => `${v}@127.0.0.1:${port(v, 1)}`).join(",");
  const proc = spawn(
    process.execPath,
    [
      "--initial-heap-size=256", // as scripts/cluster.mjs and the image run a node
      BIN,
      `--node.id=${id}`,
      "--process.roles=broker,controller",
      `--controller.quorum.voters=${voters}`,
      `--listeners=PLAINTEXT://127.0.0.1:${port(id, 0)},CONTROLLER://127.0.0.1:${port(id, 1)}`,
      `--advertised.listeners=PLAINTEXT://127.0.0.1:${port(id, 0)}`,
      `--http.listener=127.0.0.1:${port(id, 2)}`,
      `--log.dirs=${join(root, `node${id}`)}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "ignore"], env: { PATH: process.env["PATH"] ?? "", BROOK_LOG_FORMAT: "json" } },
  );
  procs.set(id, proc);
}

function kill(id: number): Promise<void> {
  const p = procs.get(id)!;
  procs.delete(id);
  return new Promise((resolve) => {
    p.once("exit", () => resolve());
    p.kill("SIGKILL");
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await fn().catch((e: unknown) => void (last = e));
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last error: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function ready(id: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port(id, 2)}/readyz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return res !== undefined && ((await res.json()) as { ready?: boolean }).ready === true;
}

async function metadata(via: number): Promise<MetadataResponse> {
  const c = clients.get(via)!;
  return call(c.metadata.bind(c), { topics: [TOPIC], allowAutoTopicCreation: false }, 1_000);
}

async function partitionState(skip: number): Promise<{ leader: number; isr: number[]; controller: number } | undefined> {
  for (const id of IDS) {
    if (id === skip || !procs.has(id)) continue;
    const md = await metadata(id).catch(() => undefined);
    const p = md?.topics.find((t) => t.name === TOPIC)?.partitions[0];
    if (md !== undefined && p !== undefined) return { leader: p.leader, isr: p.isr, controller: md.controllerId };
  }
  return undefined;
}

async function produce(id: number): Promise<boolean> {
  const c = clients.get(id)!;
  const records = encodeRecordBatch([{ value: Buffer.from("failover") }], { baseTimestamp: Date.now() });
  const res: ProduceResponse = await call(c.produce.bind(c), { acks: -1, timeoutMs: 2_000, transactionalId: "", topics: [{ topic: TOPIC, partitions: [{ partition: 0, records }] }] }, 3_000);
  return res.topics[0]?.partitions[0]?.errorCode === 0;
}

const pct = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor((q / 100) * xs.length))]!;

async function main(): Promise<void> {
  root = await mkdtemp(join(tmpdir(), "brook-failover-"));
  try {
    for (const id of IDS) start(id);
    await until("three ready nodes", async () => (await Promise.all(IDS.map(ready))).every(Boolean));
    const c = clients.get(1)!;
    const created = await call(c.createTopics.bind(c), { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 3, configs: [{ name: "min.insync.replicas", value: "2", isDefault: false, readOnly: false }], assignments: [] }], timeoutMs: 10_000, validateOnly: false }, 15_000);
    const error = (created as { topics: { error?: { code: number; message: string } }[] }).topics[0]?.error;
    if (error !== undefined && error.code !== 0) throw new Error(`creating ${TOPIC}: ${error.code} ${error.message}`);
    const times: number[] = [];
    let controllerToo = 0;
    for (let k = 0; k < KILLS; k++) {
      const before = await until("full ISR and a leader", async () => {
        const s = await partitionState(-1);
        return s !== undefined && s.leader > 0 && s.isr.length === 3 && (await produce(s.leader)) ? s : false;
      });
      if (before.controller === before.leader) controllerToo++;
      const t0 = performance.now();
      await kill(before.leader);
      await until("an acks=all produce on the new leader", async () => {
        const s = await partitionState(before.leader);
        return s !== undefined && s.leader > 0 && s.leader !== before.leader && (await produce(s.leader));
      });
      times.push(performance.now() - t0);
      start(before.leader);
      await until(`node ${before.leader} ready`, () => ready(before.leader));
    }
    times.sort((a, b) => a - b);
    const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
    console.log(
      `failover with default settings (SIGKILL leader -> first acks=all ack on the new leader, ${times.length} kills, ${controllerToo} of them also the active controller): median ${fmt(pct(times, 50))} ms, p90 ${fmt(pct(times, 90))} ms, max ${fmt(times[times.length - 1]!)} ms (target 1,500 / 3,000)`,
    );
  } finally {
    for (const id of [...procs.keys()]) await kill(id);
    for (const c of clients.values()) c.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
