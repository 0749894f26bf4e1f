// Raft benchmark: three raft-node processes on loopback, real gRPC, level with synced writes.
//   1. commit latency p50/p99 at a fixed 1,000 proposals/s (propose -> committed and applied),
//      and the same on a single node (one fsync per commit) as a reference for the machine
//   2. commit throughput: 100 B proposals/s, and MB/s at 64 KiB (load generated inside the
//      leader process, many proposals in flight, so group commit is what is measured)
//   3. failover: SIGKILL the leader, time until a proposal commits on the new leader, N times
// Every phase gets a fresh cluster, so one phase's leftovers (LevelDB compactions, a large
// log mirror) do not bleed into the next. Bounded to a few minutes. Figures only.
import { loadavg } from "node:os";
import { ProcessCluster, type ProcessClusterOptions } from "../bin/cluster_harness.js";

const KILLS = Number(process.env.RAFT_BENCH_KILLS ?? 20);

interface LoadResult {
  ms: number;
  committed: number;
  failed: number;
}
interface RateResult {
  issued: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** The leader process's CPU time per proposal (it also runs the load generator). */
  cpuUsPerProposal: number;
  /** The leader's event-loop delay: how long the machine kept it from running at all. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

let elections = 0;

/** Runs `fn` against a fresh cluster and counts the elections that happened meanwhile. */
async function withCluster<T>(opts: ProcessClusterOptions, fn: (c: ProcessCluster, lead: number) => Promise<T>): Promise<T> {
  const cluster = new ProcessCluster({ logLevel: "error", ...opts });
  await cluster.start();
  try {
    const lead = await cluster.leader();
    const termBefore = (await cluster.status(lead)).term;
    const result = await fn(cluster, lead);
    elections += (await cluster.status(await cluster.leader())).term - termBefore;
    return result;
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const warm = (c: ProcessCluster, lead: number) => c.request<LoadResult>(lead, "load", { count: 2_000, size: 100, concurrency: 200 }, 120_000);

  const rate = await withCluster({}, async (c, lead) => {
    await warm(c, lead);
    return c.request<RateResult>(lead, "rate", { rate: 1_000, durationMs: 10_000, size: 100 }, 120_000);
  });
  console.log(
    `latency at 1,000 proposals/s (100 B): p50 ${rate.p50.toFixed(2)} ms, p90 ${rate.p90.toFixed(2)} ms, p99 ${rate.p99.toFixed(2)} ms, ` +
      `max ${rate.max.toFixed(2)} ms (${rate.issued} issued, ${rate.failed} failed); leader CPU ${rate.cpuUsPerProposal.toFixed(0)} us/proposal, ` +
      `its event-loop delay p99 ${rate.loopDelayP99Ms.toFixed(1)} ms, max ${rate.loopDelayMaxMs.toFixed(1)} ms; load average ${loadavg()[0].toFixed(1)}`,
  );
  const one = await withCluster({ size: 1 }, async (c, lead) => {
    await warm(c, lead);
    return c.request<RateResult>(lead, "rate", { rate: 1_000, durationMs: 5_000, size: 100 }, 60_000);
  });
  console.log(`reference, 1 node at 1,000 proposals/s: p50 ${one.p50.toFixed(2)} ms, p99 ${one.p99.toFixed(2)} ms, event-loop delay max ${one.loopDelayMaxMs.toFixed(1)} ms`);

  const small = await withCluster({ snapshotEvery: 10_000 }, async (c, lead) => {
    await warm(c, lead);
    return c.request<LoadResult>(lead, "load", { count: 100_000, size: 100, concurrency: 4_000 }, 180_000);
  });
  console.log(
    `throughput 100 B: ${Math.round((small.committed / small.ms) * 1000)} proposals/s ` +
      `(${small.committed} committed, ${small.failed} failed, ${(small.ms / 1000).toFixed(2)} s)`,
  );

  // A small snapshot interval bounds the in-memory log mirror (500 x 64 KiB).
  const big = await withCluster({ snapshotEvery: 500 }, async (c, lead) => {
    await warm(c, lead);
    return c.request<LoadResult>(lead, "load", { count: 2_000, size: 64 * 1024, concurrency: 64 }, 180_000);
  });
  console.log(
    `throughput 64 KiB: ${((big.committed * 64) / 1024 / (big.ms / 1000)).toFixed(1)} MB/s ` +
      `(${Math.round((big.committed / big.ms) * 1000)} proposals/s, ${big.failed} failed)`,
  );
  console.log(`elections during the latency and throughput phases: ${elections}`);

  const failovers = await withCluster({}, async (cluster) => {
    const times: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const old = await cluster.leader();
      // Let the survivors hear a few heartbeats from this leader first, as in steady state.
      await cluster.propose(`before-kill-${k}`);
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      await cluster.kill(old);
      await cluster.proposeAnywhere(`after-kill-${k}`, 30_000);
      times.push(performance.now() - t0);
      await cluster.startNode(old);
      // Let the restarted node catch up before the next kill, so every round starts healthy.
      const target = (await cluster.status(await cluster.leader())).commit;
      while ((await cluster.status(old)).applied < target) await new Promise((r) => setTimeout(r, 20));
    }
    return times.sort((a, b) => a - b);
  });
  if (failovers.length === 0) return; // RAFT_BENCH_KILLS=0
  console.log(
    `failover (SIGKILL leader -> next commit) over ${failovers.length} kills: ` +
      `median ${quantile(failovers, 0.5).toFixed(0)} ms, max ${failovers.at(-1)!.toFixed(0)} ms, ` +
      `min ${failovers[0]!.toFixed(0)} ms`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
