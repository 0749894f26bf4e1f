// Controller benchmarks, against three controller-node processes on loopback (ports
// 4211-4213) with real level dirs, plus an in-process measurement of image memory:
//   1. failover: SIGKILL the active controller until a CreateTopics succeeds at the new one
//      (>= 20 trials; median, max)
//   2. creating 10,000 partitions as 1,000 topics x 10 (RF 3), 64 requests in flight
//   3. time from a CreateTopics being sent until a FetchMetadata reader (on the leader and on a
//      follower) sees the committed batch: an upper bound on commit-to-broker latency
//   4. heap bytes per partition of the MetadataImage (100,000 partitions)
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { FetchMetadataResponse } from "@brook/protocol/gen/brook/v1/controller";
import { ControllerCluster } from "../bin/cluster_harness.js";
import { applyRecords } from "../image/delta.js";
import { EMPTY_IMAGE, type MetadataImage } from "../image/image.js";
import { ControllerLogic, DEFAULT_LOGIC_CONFIG } from "../logic/controller_logic.js";
import { randomBytes, randomUUID } from "node:crypto";

const TRIALS = Number(process.env["BENCH_FAILOVER_TRIALS"] ?? 20);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const ms = (x: number) => `${x.toFixed(1)} ms`;
const topic = (name: string, numPartitions: number, replicationFactor: number) => ({ name, numPartitions, replicationFactor, configs: [], assignments: [] });

async function registerBrokers(cluster: ControllerCluster, n: number): Promise<void> {
  for (let id = 1; id <= n; id++) {
    const { res } = await cluster.call((c) => c.brokerRegistration, { brokerId: id, incarnationId: randomUUID(), endpoints: [{ name: "CLIENT", host: "127.0.0.1", port: 9000 + id }], rack: `r${id}` });
    await cluster.call((c) => c.brokerHeartbeat, { brokerId: id, brokerEpoch: res.brokerEpoch, currentMetadataOffset: Number.MAX_SAFE_INTEGER, wantFence: false, wantShutDown: false, offlineLogDirs: [] });
  }
}

async function failover(cluster: ControllerCluster): Promise<void> {
  const times: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const { node: active } = await cluster.call((c) => c.describeCluster, {});
    await cluster.kill(active);
    const t0 = performance.now();
    const { res } = await cluster.call((c) => c.createTopics, { topics: [topic(`failover-${t}`, 1, 1)], timeoutMs: 0, validateOnly: false }, 60_000);
    const dt = performance.now() - t0;
    if (res.response?.topics[0]?.error?.code !== 0) throw new Error(`trial ${t}: ${JSON.stringify(res.response?.topics[0]?.error)}`);
    times.push(dt);
    await cluster.startNode(active);
    // Let the restarted node rejoin before the next kill, so a quorum always remains.
    const until = Date.now() + 30_000;
    for (;;) {
      const q = await cluster.describeQuorum(active).catch(() => undefined);
      const lead = await cluster.call((c) => c.describeQuorum, {}).catch(() => undefined);
      if (q !== undefined && lead !== undefined && q.leaderId > 0 && q.appliedOffset >= lead.res.appliedOffset) break;
      if (Date.now() > until) throw new Error(`controller ${active} did not catch up after restart`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  console.log(`failover (SIGKILL active -> CreateTopics ok), ${TRIALS} trials: median ${ms(pct(times, 50))}, max ${ms(Math.max(...times))}, min ${ms(Math.min(...times))}  [target <= 1000 ms median, <= 2000 ms max]`);
}

async function manyPartitions(cluster: ControllerCluster): Promise<void> {
  const topics = 1000;
  const inflight = 64;
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < topics) {
      const i = next++;
      const { res } = await cluster.call((c) => c.createTopics, { topics: [topic(`bulk-${i}`, 10, 3)], timeoutMs: 0, validateOnly: false });
      if (res.response?.topics[0]?.error?.code !== 0) throw new Error(`bulk-${i}: ${JSON.stringify(res.error)} ${JSON.stringify(res.response?.topics[0]?.error)}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const dt = performance.now() - t0;
  console.log(`create 10,000 partitions (1,000 CreateTopics of 10 partitions, RF 3, ${inflight} in flight): ${ms(dt)} (${((topics * 10) / (dt / 1000)).toFixed(0)} partitions/s)  [target <= 10000 ms]`);
  const t1 = performance.now();
  const { res } = await cluster.call((c) => c.createTopics, { topics: Array.from({ length: 1000 }, (_, i) => topic(`batch-${i}`, 10, 3)), timeoutMs: 0, validateOnly: false }, 60_000);
  const bad = res.response?.topics.filter((t) => t.error?.code !== 0).length;
  console.log(`create 10,000 partitions in one CreateTopics of 1,000 topics: ${ms(performance.now() - t1)} (${bad} failed)`);
}

async function observeLatency(cluster: ControllerCluster): Promise<void> {
  const { node: leader } = await cluster.call((c) => c.describeCluster, {});
  const follower = cluster.ids.find((id) => id !== leader) ?? leader;
  const seen = new Map<string, Map<number, number>>();
  const from = new Map<number, number>();
  for (const node of [leader, follower]) from.set(node, (await cluster.describeQuorum(node)).appliedOffset + 1);
  const streams = [leader, follower].map((node) => {
    // From the next offset on: only new commits, as a broker that is caught up would read.
    const s = cluster.client(node).fetchMetadata({ fromOffset: from.get(node) ?? 0, brokerId: 0 });
    s.on("data", (m: FetchMetadataResponse) => {
      const now = performance.now();
      for (const r of m.records) if (r.record?.$case === "topic") {
        const by = seen.get(r.record.topic.name) ?? new Map<number, number>();
        by.set(node, now);
        seen.set(r.record.topic.name, by);
      }
    });
    s.on("error", () => undefined);
    return s;
  });
  await new Promise((r) => setTimeout(r, 300));
  const lat = { leader: [] as number[], follower: [] as number[], ack: [] as number[] };
  for (let i = 0; i < 200; i++) {
    const name = `observe-${i}`;
    const t0 = performance.now();
    await cluster.call((c) => c.createTopics, { topics: [topic(name, 1, 3)], timeoutMs: 0, validateOnly: false });
    lat.ack.push(performance.now() - t0);
    const until = Date.now() + 5_000;
    while ((seen.get(name)?.size ?? 0) < 2 && Date.now() < until) await new Promise((r) => setImmediate(r));
    const by = seen.get(name);
    if (by?.get(leader) !== undefined) lat.leader.push((by.get(leader) as number) - t0);
    if (by?.get(follower) !== undefined) lat.follower.push((by.get(follower) as number) - t0);
  }
  for (const s of streams) s.cancel();
  console.log(`CreateTopics round trip (commit + ack): median ${ms(pct(lat.ack, 50))}, p99 ${ms(pct(lat.ack, 99))}`);
  console.log(`request sent -> FetchMetadata reader on the leader sees it: median ${ms(pct(lat.leader, 50))}, p99 ${ms(pct(lat.leader, 99))} (${lat.leader.length} samples)  [target commit->broker <= 50 ms median]`);
  console.log(`request sent -> FetchMetadata reader on a follower sees it: median ${ms(pct(lat.follower, 50))}, p99 ${ms(pct(lat.follower, 99))} (${lat.follower.length} samples)`);
}

function imageMemory(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const logic = new ControllerLogic({ ...DEFAULT_LOGIC_CONFIG, maxPartitionsPerRequest: 1e9, maxTopicsPerRequest: 1e9 }, { now: () => 0 }, () => randomBytes(16));
  let image: MetadataImage = EMPTY_IMAGE;
  let offset = 0;
  const commit = (recs: ReturnType<ControllerLogic["createTopics"]>["records"]) => (image = applyRecords(image, recs, ++offset, 1));
  for (let id = 1; id <= 6; id++) {
    const r = logic.registerBroker(image, { brokerId: id, incarnationId: `i${id}`, endpoints: [{ name: "C", host: "h", port: id }], rack: "" });
    commit(r.records);
    commit(logic.heartbeat(image, { brokerId: id, brokerEpoch: r.response.brokerEpoch, currentMetadataOffset: 1e9, wantFence: false, wantShutDown: false, offlineLogDirs: [] }).records);
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) commit(logic.createTopics(image, { topics: Array.from({ length: 100 }, (_, k) => topic(`m-${i}-${k}`, 10, 3)), timeoutMs: 0, validateOnly: false }).records);
  const buildMs = performance.now() - t0;
  gc();
  const after = process.memoryUsage().heapUsed;
  let n = 0;
  for (const t of image.topics.byId.values()) n += t.partitions.size;
  console.log(`image memory: ${((after - before) / n).toFixed(0)} bytes per partition (${n} partitions in 10,000 topics, RF 3; built in ${ms(buildMs)} in-process)`);
}

async function main(): Promise<void> {
  imageMemory();
  const cluster = await ControllerCluster.start({ basePort: 4211, sessionTimeoutMs: 3_600_000, snapshotEvery: 5_000 });
  try {
    await registerBrokers(cluster, 3);
    await failover(cluster);
    await observeLatency(cluster);
    await manyPartitions(cluster);
  } finally {
    await cluster.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
