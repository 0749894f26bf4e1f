// Benchmark of the broker data plane (issue 5, point 8) on a local cluster of three real
// broker processes and the product controller quorum (three controller-node processes) on
// loopback; the scripted controller (src/harness) stands in when BENCH_SCRIPTED=1 or the
// controller package is not built. Topic: 6 partitions,
// replication factor 3, acks=all, min.insync.replicas=2, durable flush (default) and
// flush.mode=replicated. Prints produce throughput (100 B, 1 KiB records), fetch throughput,
// produce latency at a fixed 1,000 records/s, and failover (SIGKILL of a leader to the first
// acks=all produce acknowledged by the new leader). Env: BENCH_SECONDS (default 6),
// BENCH_KILLS (default 20), BENCH_SESSION_MS (the controller's broker session timeout in the
// failover phase, default 1,000, the controller's default; the brokers heartbeat at their
// default 200 ms; failover time is dominated by the session). BENCH_KILLS=0 skips the
// failover phase. BROOK_BROKER_NODE_ARGS passes node flags (e.g. --cpu-prof) to the brokers.
// Produce throughput goes over the ProduceStream RPC (one unary comparison row at 1 KiB).
// BENCH_MODES=replicated,durable picks the flush modes and their order.
// BENCH_ONLY=latency runs only the latency phases, BENCH_ONLY=failover only the failover phase,
// BENCH_ONLY=throughput only produce and fetch throughput.
// BENCH_LATENCY_DUMP=<file> appends every latency-phase ack as "<ms since phase start>
// <latency ms> <partition>" under a "# <topic> <via>" line: where in the run the slow ones fall.
import { Code } from "../errors.js";
import { encodeBatch } from "../harness/batches.js";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { CONTROLLER_BIN, LocalCluster } from "../harness/local_cluster.js";
import { startDiskProbe } from "./disk_probe.js";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 6);
const KILLS = Number(process.env["BENCH_KILLS"] ?? 20);
const FAILOVER_SESSION_MS = Number(process.env["BENCH_SESSION_MS"] ?? 1_000);
const ONLY = process.env["BENCH_ONLY"] ?? "";
/** BENCH_MODES: the flush modes to run, in order (default durable,replicated). */
const MODES = (process.env["BENCH_MODES"] ?? "durable,replicated").split(",").map((m) => {
  if (m !== "durable" && m !== "replicated") throw new Error(`BENCH_MODES: unknown flush mode ${m} (durable or replicated)`);
  return m;
});
const PARTITIONS = 6;
/**
 * The controller quorum's ports (this benchmark's assigned range is 4900-4999); BENCH_QUORUM_PORT
 * moves it so two runs (two engineers) can share the machine.
 */
const QUORUM_PORT_BASE = Number(process.env["BENCH_QUORUM_PORT"] ?? 4900);
const assignments = Array.from({ length: PARTITIONS }, (_, i) => [1, 2, 3].map((_, j) => ((i + j) % 3) + 1));

const REAL = process.env["BENCH_SCRIPTED"] !== "1" && existsSync(CONTROLLER_BIN);

async function leaders(cluster: LocalCluster, topic: string): Promise<number[]> {
  const out: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) out.push((await cluster.partitionState(topic, p))?.leader ?? -1);
  return out;
}

async function createTopic(cluster: LocalCluster, topic: string, partitions: number, configs: Record<string, string>): Promise<number[]> {
  if (cluster.scripted !== null) cluster.scripted.createTopic(topic, assignments.slice(0, partitions), configs);
  else {
    const r = await cluster.nodes.get(1)!.client.createTopic(topic, partitions, 3, configs);
    const code = r.topics[0]?.error?.code ?? 0;
    if (code !== 0) throw new Error(`CreateTopics ${topic}: ${code} ${r.topics[0]?.error?.message}`);
  }
  return cluster.until(`${topic} leaders with full ISRs`, async () => {
    for (let p = 0; p < partitions; p++) {
      const s = await cluster.partitionState(topic, p);
      if (s === undefined || s.leader < 0 || s.isr.length < 3 || !cluster.nodes.has(s.leader)) return false;
    }
    const ls = partitions === PARTITIONS ? await leaders(cluster, topic) : [(await cluster.partitionState(topic, 0))!.leader];
    // Warm up: the first acks=all produce proves the leader is serving.
    for (let p = 0; p < partitions; p++) {
      const r = await cluster.nodes.get(ls[p]!)!.client.produce(topic, p, encodeBatch([Buffer.from("warm")]), -1, 2_000).catch(() => undefined);
      if (r?.topics[0]!.partitions[0]!.errorCode !== Code.NONE) return false;
    }
    return ls;
  });
}

/**
 * CPU time (user + system, ms) the broker processes have used so far, from /proc (Linux); null
 * elsewhere. CPU per record is the figure that stays comparable when other work shares the
 * machine: throughput and latency then mostly measure the CPU share the brokers got.
 */
function brokersCpuMs(cluster: LocalCluster): number | null {
  let total = 0;
  for (const node of cluster.nodes.values()) {
    try {
      const fields = readFileSync(`/proc/${node.proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      total += (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
    } catch {
      return null;
    }
  }
  return total;
}

const cpuPerRecord = (before: number | null, after: number | null, records: number): string =>
  before === null || after === null || records === 0 ? "" : `, brokers ${fmt(((after - before) * 1000) / records)} us CPU/record`;

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function produceThroughput(
  cluster: LocalCluster,
  topic: string,
  recordBytes: number,
  leaderOf: number[],
  via: "stream" | "unary" = "stream",
  batchBytes = 64 * 1024,
): Promise<{ records: number; bytes: number; seconds: number }> {
  // Records of this size with their per-record framing (~10 bytes) that fit in batchBytes, so
  // a 1 MiB batch stays under the topic's default max.message.bytes (1 MiB + 12 bytes).
  const perBatch = Math.max(1, Math.floor(batchBytes / (recordBytes + 16)));
  const batch = encodeBatch(Array.from({ length: perBatch }, () => Buffer.alloc(recordBytes, 0x61)));
  const inflightPerBroker = 4;
  let records = 0;
  let errors = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const start = Date.now();
  const workers: Promise<void>[] = [];
  for (const [id, node] of cluster.nodes) {
    const led = [...Array(PARTITIONS).keys()].filter((p) => leaderOf[p] === id);
    if (led.length === 0) continue;
    for (let w = 0; w < inflightPerBroker; w++)
      workers.push(
        (async () => {
          while (Date.now() < deadline) {
            const parts = led.map((partition) => ({ partition, records: batch }));
            const res = via === "stream" ? await node.client.produceStreamed(topic, parts, -1, 10_000) : await node.client.produceMany(topic, parts, -1, 10_000);
            for (const p of res.topics[0]!.partitions) {
              if (p.errorCode === Code.NONE) records += perBatch;
              else errors++;
            }
          }
        })(),
      );
  }
  await Promise.all(workers);
  const seconds = (Date.now() - start) / 1000;
  if (errors > 0) console.log(`  (${errors} partition errors during produce)`);
  return { records, bytes: records * recordBytes, seconds };
}

/** The larger batch of the second 1 KiB produce row (BENCH_BATCH_KIB, default 1024: the SDK's batch.size and the OpenMessaging Benchmark's). */
const LARGE_BATCH_BYTES = Number(process.env["BENCH_BATCH_KIB"] ?? 1024) * 1024;

/** Per Fetch request (one partition each, one request in flight per partition). */
const FETCH_MAX_BYTES = Number(process.env["BENCH_FETCH_MAX_BYTES"] ?? 4 * 1024 * 1024);

async function fetchThroughput(cluster: LocalCluster, topic: string, leaderOf: number[]): Promise<{ records: number; bytes: number; seconds: number }> {
  let records = 0;
  let bytes = 0;
  const start = Date.now();
  await Promise.all(
    [...Array(PARTITIONS).keys()].map(async (p) => {
      const node = cluster.nodes.get(leaderOf[p]!)!;
      let offset = 0;
      for (;;) {
        const r = (await node.client.fetch(topic, p, offset, { maxBytes: FETCH_MAX_BYTES })).topics[0]!.partitions[0]!;
        if (r.errorCode !== Code.NONE || r.records.length === 0) break;
        let pos = 0;
        let next = offset;
        while (pos + 61 <= r.records.length) {
          const size = r.records.readInt32BE(pos + 8) + 12;
          const base = Number(r.records.readBigInt64BE(pos));
          const count = r.records.readInt32BE(pos + 57);
          if (base >= offset) records += count;
          next = base + r.records.readInt32BE(pos + 23) + 1;
          pos += size;
        }
        bytes += r.records.length;
        if (next <= offset) break;
        offset = next;
      }
    }),
  );
  return { records, bytes, seconds: (Date.now() - start) / 1000 };
}

async function latencyAtRate(cluster: LocalCluster, topic: string, ratePerSec: number, leaderOf: number[], via: "stream" | "unary" = "stream"): Promise<number[]> {
  const batch = encodeBatch([Buffer.alloc(100, 0x62)]);
  const lat: number[] = [];
  const total = ratePerSec * SECONDS;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  const timeline = process.env.BENCH_LATENCY_DUMP ? ([] as string[]) : undefined;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const p = i % PARTITIONS;
    const node = cluster.nodes.get(leaderOf[p]!)!;
    const t0 = performance.now();
    pending.push(
      (via === "stream" ? node.client.produceStreamed(topic, [{ partition: p, records: batch }], -1, 10_000) : node.client.produce(topic, p, batch, -1, 10_000)).then((res) => {
        if (res.topics[0]!.partitions[0]!.errorCode === Code.NONE) {
          lat.push(performance.now() - t0);
          timeline?.push(`${(t0 - start).toFixed(1)} ${lat[lat.length - 1]!.toFixed(2)} ${p}`);
        }
      }),
    );
  }
  await Promise.all(pending);
  if (timeline !== undefined) appendFileSync(process.env.BENCH_LATENCY_DUMP!, `# ${topic} ${via}\n${timeline.join("\n")}\n`);
  return lat.sort((a, b) => a - b);
}

async function failover(cluster: LocalCluster, topic: string): Promise<number[]> {
  const batch = encodeBatch([Buffer.from("failover")]);
  const times: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    const old = await cluster.until("full ISR", async () => {
      const s = await cluster.partitionState(topic, 0);
      return s !== undefined && s.leader >= 0 && s.isr.length === 3 && cluster.nodes.has(s.leader) ? s.leader : false;
    });
    const t0 = performance.now();
    await cluster.kill(old);
    for (;;) {
      const leader = (await cluster.partitionState(topic, 0))?.leader ?? -1;
      const node = leader !== old ? cluster.nodes.get(leader) : undefined;
      if (node !== undefined) {
        const r = await node.client.produce(topic, 0, batch, -1, 2_000).catch(() => undefined);
        if (r?.topics[0]!.partitions[0]!.errorCode === Code.NONE) break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    times.push(performance.now() - t0);
    await cluster.startNode(old);
  }
  return times.sort((a, b) => a - b);
}

/** Durable is the default flush mode, so only the replicated runs set flush.mode. */
function topicConfigs(mode: "durable" | "replicated"): Record<string, string> {
  return mode === "durable" ? { "min.insync.replicas": "2" } : { "min.insync.replicas": "2", "flush.mode": "replicated" };
}

/** `heartbeatMs` undefined: the broker default (200 ms), as the failover target is stated for. */
function startCluster(sessionTimeoutMs: number, basePort: number, heartbeatMs?: number): Promise<LocalCluster> {
  return LocalCluster.start({
    brokers: 3,
    sessionTimeoutMs,
    brokerConfig: heartbeatMs === undefined ? {} : { brokerHeartbeatIntervalMs: heartbeatMs },
    ...(REAL ? { quorum: { basePort, sessionTimeoutMs } } : {}),
  });
}

async function main(): Promise<void> {
  console.log(`controller: ${REAL ? "product quorum (3 controller-node processes)" : "scripted (src/harness)"}`);
  // A lenient session timeout while loading the machine (a starved heartbeat must not turn a
  // throughput run into a failover run); the failover phase gets its own cluster.
  let cluster = await startCluster(15_000, QUORUM_PORT_BASE, 250);
  try {
    for (const [round, mode] of (ONLY === "failover" ? [] : MODES).entries()) {
      for (const size of ONLY === "" || ONLY === "throughput" ? [100, 1024] : []) {
        const topic = `bench-${mode}-${size}-${round}`;
        const ls = await createTopic(cluster, topic, PARTITIONS, topicConfigs(mode));
        const cpu0 = brokersCpuMs(cluster);
        const p = await produceThroughput(cluster, topic, size, ls);
        console.log(
          `produce ${mode.padEnd(10)} ${String(size).padStart(4)} B: ${fmt(p.records / p.seconds)} records/s, ${fmt(p.bytes / p.seconds / 1e6, 1)} MB/s (acks=all, RF 3, min.insync 2, ${PARTITIONS} partitions, ProduceStream, 64 KiB batches)${cpuPerRecord(cpu0, brokersCpuMs(cluster), p.records)}`,
        );
        if (size === 1024) {
          // A producer under load fills larger batches (linger.ms): the OpenMessaging Benchmark's
          // Kafka driver runs with batch.size 1 MiB. Per-request costs dominate at 64 KiB.
          const bcpu0 = brokersCpuMs(cluster);
          const b = await produceThroughput(cluster, topic, size, ls, "stream", LARGE_BATCH_BYTES);
          console.log(
            `produce ${mode.padEnd(10)} ${String(size).padStart(4)} B: ${fmt(b.records / b.seconds)} records/s, ${fmt(b.bytes / b.seconds / 1e6, 1)} MB/s (the same with ${LARGE_BATCH_BYTES / 1024} KiB batches)${cpuPerRecord(bcpu0, brokersCpuMs(cluster), b.records)}`,
          );
        }
        if (mode === "durable" && size === 1024) {
          // The same load over unary Produce calls, for comparison with the stream.
          const ucpu0 = brokersCpuMs(cluster);
          const u = await produceThroughput(cluster, topic, size, ls, "unary");
          console.log(
            `produce ${mode.padEnd(10)} ${String(size).padStart(4)} B: ${fmt(u.records / u.seconds)} records/s, ${fmt(u.bytes / u.seconds / 1e6, 1)} MB/s (unary Produce calls)${cpuPerRecord(ucpu0, brokersCpuMs(cluster), u.records)}`,
          );
        }
        if (size === 1024) {
          const fcpu0 = brokersCpuMs(cluster);
          const f = await fetchThroughput(cluster, topic, ls);
          console.log(
            `fetch   ${mode.padEnd(10)} ${String(size).padStart(4)} B: ${fmt(f.records / f.seconds)} records/s, ${fmt(f.bytes / f.seconds / 1e6, 1)} MB/s${cpuPerRecord(fcpu0, brokersCpuMs(cluster), f.records)}`,
          );
        }
      }
      if (ONLY === "throughput") continue;
      const lt = `bench-${mode}-latency-${round}`;
      const ls = await createTopic(cluster, lt, PARTITIONS, topicConfigs(mode));
      await latencyAtRate(cluster, lt, 200, ls); // warm-up
      // ProduceStream is what the SDK sends; unary Produce is what a simple caller sends.
      for (const via of ["stream", "unary"] as const) {
        const lcpu0 = brokersCpuMs(cluster);
        const stopProbe = await startDiskProbe();
        const lat = await latencyAtRate(cluster, lt, 1_000, ls, via);
        const disk = await stopProbe();
        console.log(
          `latency ${mode.padEnd(10)} at 1,000 records/s (${via.padEnd(6)}): p50 ${fmt(pct(lat, 50), 2)} ms, p99 ${fmt(pct(lat, 99), 2)} ms, p99.9 ${fmt(pct(lat, 99.9), 2)} ms, max ${fmt(lat[lat.length - 1] ?? NaN, 2)} ms (${lat.length} acks)${cpuPerRecord(lcpu0, brokersCpuMs(cluster), lat.length)}`,
        );
        console.log(
          `  the disk alone meanwhile (1 KiB O_DSYNC appends at 100/s beside the brokers): p50 ${fmt(disk.p50Ms, 2)} ms, p99 ${fmt(disk.p99Ms, 2)} ms, max ${fmt(disk.maxMs, 1)} ms, ${disk.over5Ms} of ${disk.writes} over 5 ms`,
        );
      }
    }
    await cluster.stop();
    if (KILLS <= 0 || ONLY === "latency" || ONLY === "throughput") return;
    cluster = await startCluster(FAILOVER_SESSION_MS, QUORUM_PORT_BASE + 10);
    await createTopic(cluster, "bench-failover", 1, { "min.insync.replicas": "2" });
    const fo = await failover(cluster, "bench-failover");
    console.log(
      `failover (SIGKILL leader -> first acks=all ack on the new leader, ${fo.length} kills, broker session timeout ${fmt(FAILOVER_SESSION_MS)} ms): median ${fmt(pct(fo, 50))} ms, max ${fmt(fo[fo.length - 1]!)} ms`,
    );
  } finally {
    await cluster.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
