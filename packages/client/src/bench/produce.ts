// Producer throughput through the SDK against raw broker calls, end to end (issue 6, point 7):
// 1 KiB records, acks=all, a topic of 6 partitions with replication factor 3 and
// min.insync.replicas=2, on BROOK_BROKERS if set, else three local nodes from packages/server's
// build. "Raw" sends pre-encoded batches of 1,000 records, about what the SDK's default 1 MiB
// batch.size holds (BENCH_PRODUCE_RAW_PER_BATCH)
// straight on each leader's ProduceStream, as many requests in flight as the SDK allows; "SDK"
// is Producer.send with its defaults (idempotent, 1 MiB batches, linger 5 ms, 5 requests in
// flight per partition; BENCH_PRODUCE_BATCH_SIZE overrides batch.size).
// Prints records/s, MB/s and this process's CPU (user + system, GC included) per record for
// both, and the SDK's overhead in throughput: raw and SDK runs alternate in pairs
// (BENCH_PRODUCE_REPEATS, default 5), and the figure is the median of the pairs' ratios, which
// a shared machine's noise moves far less than a ratio of two separate medians.
import { Brook } from "../brook.js";
import { BrokerConnection } from "../connection.js";
import { encodeBatch } from "../records/record_batch.js";
import { runBench } from "./support/local_cluster.js";

const RECORDS = Number(process.env.BENCH_PRODUCE_RECORDS ?? 200_000);
const REPEATS = Number(process.env.BENCH_PRODUCE_REPEATS ?? 5);
const PARTITIONS = 6;
const VALUE = Buffer.alloc(1024, 0x61);
// Records per raw batch: as many as the SDK's default batch.size (1 MiB) holds, so the
// overhead compares the two at equal batching (64 was the figure before batch.size grew).
const PER_BATCH = Number(process.env.BENCH_PRODUCE_RAW_PER_BATCH ?? 1_000);
// BENCH_PRODUCE_BATCH_SIZE overrides the SDK's batch.size (default: the producer's default).
const BATCH_SIZE = process.env.BENCH_PRODUCE_BATCH_SIZE === undefined ? undefined : Number(process.env.BENCH_PRODUCE_BATCH_SIZE);
// BENCH_PRODUCE_MAX_REQUEST_SIZE overrides the SDK's max.request.size (default: the producer's).
const MAX_REQUEST_SIZE = process.env.BENCH_PRODUCE_MAX_REQUEST_SIZE === undefined ? undefined : Number(process.env.BENCH_PRODUCE_MAX_REQUEST_SIZE);
// "sdk" or "raw" runs only that side (for `node --cpu-prof` of one side); default both.
const ONLY = process.env.BENCH_PRODUCE_ONLY ?? "";

interface Figure {
  readonly recPerSec: number;
  readonly usPerRecord: number;
  /** Share of the CPU spent in the kernel (page faults of fresh buffers, socket writes). */
  readonly systemShare: number;
}

async function raw(brokers: Map<number, string>, leaders: number[], topic: string): Promise<Figure> {
  const batch = encodeBatch(
    Array.from({ length: PER_BATCH }, () => ({ key: null, value: VALUE, headers: [], timestamp: Date.now() })),
    { producerId: -1, producerEpoch: -1, baseSequence: -1, compression: "none" },
  );
  const conns = new Map([...brokers].map(([id, address]) => [id, new BrokerConnection(address, "bench-raw")]));
  let sent = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const worker = async (id: number, led: number[]) => {
    while (sent < RECORDS) {
      sent += PER_BATCH * led.length;
      const res = await conns.get(id)!.produce({ acks: -1, timeoutMs: 30_000, transactionalId: "", topics: [{ topic, partitions: led.map((partition) => ({ partition, records: batch })) }] }, 35_000);
      for (const p of res.topics[0]!.partitions) if (p.errorCode !== 0) throw new Error(`raw produce: error ${p.errorCode} ${p.errorMessage}`);
    }
  };
  const work: Promise<void>[] = [];
  for (const id of brokers.keys()) {
    const led = leaders.flatMap((l, p) => (l === id ? [p] : []));
    // The SDK keeps up to 5 requests per partition in flight; give raw calls as many.
    if (led.length > 0) for (let i = 0; i < 5; i++) work.push(worker(id, led));
  }
  await Promise.all(work);
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const c of conns.values()) c.close();
  return { recPerSec: sent / secs, usPerRecord: (cpu.user + cpu.system) / sent, systemShare: cpu.system / (cpu.user + cpu.system) };
}

async function sdk(brook: Brook, topic: string): Promise<Figure> {
  const producer = brook.producer({ ...(BATCH_SIZE === undefined ? {} : { batchSize: BATCH_SIZE }), ...(MAX_REQUEST_SIZE === undefined ? {} : { maxRequestSize: MAX_REQUEST_SIZE }) });
  const perSend = 100;
  const messages = Array.from({ length: perSend }, () => ({ value: VALUE }));
  const inflight: Promise<unknown>[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  for (let i = 0; i < RECORDS; i += perSend) {
    inflight.push(producer.send({ topic, messages }));
    // 20,000 records outstanding: enough to fill every partition's 5 in-flight batches.
    if (inflight.length >= 20_000 / perSend) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  return { recPerSec: RECORDS / secs, usPerRecord: (cpu.user + cpu.system) / RECORDS, systemShare: cpu.system / (cpu.user + cpu.system) };
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
};

/** "lo-hi (median m)": one busy neighbour can skew a run, so the median is shown as well. */
const range = (xs: number[], digits: number) => {
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo}-${hi} (median ${median(xs).toFixed(digits)})`;
};

await runBench(async (bootstrap) => {
    const brook = new Brook({ brokers: bootstrap, clientId: "bench-produce" });
    const admin = brook.admin();
    const topic = `bench-produce-${Date.now()}`;
    await admin.createTopics([{ topic, numPartitions: PARTITIONS, replicationFactor: 3, configs: { "min.insync.replicas": "2" } }]);
    // Warm up (leaders elected, connections open, JIT) before measuring.
    const warm = brook.producer({});
    await warm.send({ topic, messages: Array.from({ length: 600 }, () => ({ value: VALUE })) });
    await warm.close();
    const probe = new BrokerConnection(bootstrap[0]!, "bench-meta");
    const md = await probe.call((c) => c.metadata, { topics: [topic], allowAutoTopicCreation: false }, 10_000, "Metadata");
    probe.close();
    const brokers = new Map(md.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
    const leaders = [...md.topics[0]!.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.leader);
    const raws: Figure[] = [];
    const sdks: Figure[] = [];
    // Raw and SDK runs alternate, and which goes first alternates too, so a busy neighbour
    // (the machine is shared) or a growing log slows both sides of a pair alike.
    for (let i = 0; i < REPEATS; i++) {
      const sides = i % 2 === 0 ? (["raw", "sdk"] as const) : (["sdk", "raw"] as const);
      for (const side of sides) {
        if (side === "raw" && ONLY !== "sdk") raws.push(await raw(brokers, leaders, topic));
        if (side === "sdk" && ONLY !== "raw") sdks.push(await sdk(brook, topic));
      }
    }
    const load = (await import("node:os")).loadavg()[0]!.toFixed(1);
    console.log(`produce 1 KiB acks=all RF 3 (${PARTITIONS} partitions, ${RECORDS} records per run, ${REPEATS} runs, load average ${load}):`);
    if (raws.length > 0) console.log(`  raw ProduceStream calls: ${range(raws.map((f) => f.recPerSec), 0)} records/s, client ${range(raws.map((f) => f.usPerRecord), 2)} us CPU/record, ${range(raws.map((f) => 100 * f.systemShare), 0)}% system`);
    if (sdks.length > 0) console.log(`  SDK Producer.send:       ${range(sdks.map((f) => f.recPerSec), 0)} records/s, client ${range(sdks.map((f) => f.usPerRecord), 2)} us CPU/record (target <= 3), ${range(sdks.map((f) => 100 * f.systemShare), 0)}% system`);
    if (raws.length > 0 && sdks.length > 0) {
      const overhead = raws.map((r, i) => 100 * (1 - sdks[i]!.recPerSec / r.recPerSec));
      console.log(
        `  SDK throughput below raw, pair by pair: ${overhead.map((o) => `${o.toFixed(0)}%`).join(", ")}; median of the pairs ${median(overhead).toFixed(1)}% (target <= 10%)`,
      );
    }
    await brook.close();
});
