// Raft benchmark: three raft-node processes on loopback, real gRPC, level with synced writes.
//   1. commit throughput: 100 B proposals/s, and MB/s at 64 KiB (load generated inside the
//      leader process, many proposals in flight, so group commit is what is measured)
//   2. commit latency p50/p99 at a fixed 1,000 proposals/s (propose -> committed and applied)
//   3. failover: SIGKILL the leader, time until a proposal commits on the new leader, N times
// Bounded to a few minutes. Figures only; no assertions (tests never assert timings).
import { ProcessCluster } from "../bin/cluster_harness.js";

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
  p99: number;
  max: number;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const cluster = new ProcessCluster({ basePort: 4160, snapshotEvery: 5_000, logLevel: "error" });
  await cluster.start();
  try {
    const lead = await cluster.leader();
    const termBefore = (await cluster.status(lead)).term;
    await cluster.request<LoadResult>(lead, "load", { count: 5_000, size: 100, concurrency: 1_000 }, 120_000); // warm-up

    const small = await cluster.request<LoadResult>(lead, "load", { count: 100_000, size: 100, concurrency: 4_000 }, 180_000);
    console.log(
      `throughput 100 B: ${Math.round((small.committed / small.ms) * 1000)} proposals/s ` +
        `(${small.committed} committed, ${small.failed} failed, ${(small.ms / 1000).toFixed(2)} s)`,
    );

    const big = await cluster.request<LoadResult>(lead, "load", { count: 2_000, size: 64 * 1024, concurrency: 128 }, 180_000);
    console.log(
      `throughput 64 KiB: ${((big.committed * 64) / 1024 / (big.ms / 1000)).toFixed(1)} MB/s ` +
        `(${Math.round((big.committed / big.ms) * 1000)} proposals/s, ${big.failed} failed)`,
    );

    const rate = await cluster.request<RateResult>(lead, "rate", { rate: 1_000, durationMs: 10_000, size: 100 }, 120_000);
    console.log(
      `latency at 1,000 proposals/s (100 B): p50 ${rate.p50.toFixed(2)} ms, p99 ${rate.p99.toFixed(2)} ms, ` +
        `max ${rate.max.toFixed(2)} ms (${rate.issued} issued, ${rate.failed} failed)`,
    );
    const termAfter = (await cluster.status(await cluster.leader())).term;
    console.log(`elections during load: ${termAfter - termBefore} (term ${termBefore} -> ${termAfter})`);

    // Reference: the same rate on a single node, where commit = one local fsync. On a shared
    // machine its tail shows how much of the 3-node tail is the disk and the scheduler.
    const solo = new ProcessCluster({ size: 1, basePort: 4165, logLevel: "error" });
    await solo.start();
    try {
      const one = await solo.request<RateResult>(1, "rate", { rate: 1_000, durationMs: 5_000, size: 100 }, 60_000);
      console.log(`reference, 1 node at 1,000 proposals/s: p50 ${one.p50.toFixed(2)} ms, p99 ${one.p99.toFixed(2)} ms`);
    } finally {
      await solo.stop();
    }

    const failovers: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const old = await cluster.leader();
      // Let the survivors hear a few heartbeats from this leader first, as in steady state.
      await cluster.propose(`before-kill-${k}`);
      await new Promise((r) => setTimeout(r, 200));
      const t0 = performance.now();
      await cluster.kill(old);
      await cluster.proposeAnywhere(`after-kill-${k}`, 30_000);
      failovers.push(performance.now() - t0);
      await cluster.startNode(old);
      // Let the restarted node catch up before the next kill, so every round starts healthy.
      const target = (await cluster.status(await cluster.leader())).commit;
      for (;;) {
        const s = await cluster.status(old);
        if (s.applied >= target) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    failovers.sort((a, b) => a - b);
    console.log(
      `failover (SIGKILL leader -> next commit) over ${failovers.length} kills: ` +
        `median ${quantile(failovers, 0.5).toFixed(0)} ms, max ${failovers.at(-1)!.toFixed(0)} ms, ` +
        `min ${failovers[0]!.toFixed(0)} ms`,
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
