// Consumer-group rebalance benchmark, join case: a group of 2 members on a 12-partition topic
// under steady produce (one record per partition every 10 ms); a 3rd member joins; the figure
// is the time from the join call until every partition moved to the new member has delivered
// a record to it. Target <= 500 ms. Also checks what the protocol promises: partitions that
// did not move keep being consumed during the rebalance (their longest gap is printed).
// Uses BROOK_BROKERS=host:port[,...] if set, else starts three local nodes from
// packages/server's build. Several trials, each with a fresh group; bounded to well under two
// minutes. Prints every trial, the median and the max, and the bench process's CPU.
import { Brook } from "../brook.js";
import type { Consumer } from "../consumer/consumer.js";
import { fedTopic, sleep, until } from "./support/group_bench.js";
import { runBench } from "./support/local_cluster.js";

const TRIALS = Number(process.env.BENCH_JOIN_TRIALS ?? 8);
const PARTITIONS = 12;
const BUDGET_MS = 100_000;

const began = Date.now();
interface Trial {
  readonly ms: number;
  /** Phases, ms after the join: revocation started at the old owners (first, last), the new member owned all 4. */
  readonly revokeStartMs: number;
  readonly revokeLastMs: number;
  readonly ownedMs: number;
  readonly moved: number;
  /** Longest gap between deliveries of a partition that did not move, during the trial. */
  readonly unmovedGapMs: number;
}

async function trial(brook: Brook, topic: string, n: number): Promise<Trial> {
  const group = `bench-join-${Date.now()}-${n}`;
  // Per member: partition -> deliveries' times (first after t0 is what counts for the new one).
  const seen = new Map<string, Map<number, number[]>>();
  const revokedAt: number[] = [];
  const start = (name: string): Consumer => {
    const c = brook.consumer({ groupId: group, maxWaitMs: 50, autoOffsetReset: "latest", sessionTimeoutMs: 10_000 });
    c.subscribe([topic], { onPartitionsRevoked: (tps) => void (tps.length > 0 && revokedAt.push(Date.now())) });
    const mine = new Map<number, number[]>();
    seen.set(name, mine);
    void c.run({
      eachMessage: (m) => {
        let l = mine.get(m.partition);
        if (l === undefined) mine.set(m.partition, (l = []));
        l.push(Date.now());
      },
    });
    return c;
  };
  const a = start("a");
  const b = start("b");
  let c: Consumer | undefined;
  try {
    await until(
      "2 members with 6 partitions each",
      () => a.assignment().length === 6 && b.assignment().length === 6,
      40_000,
      () => `(${a.assignment().length}, ${b.assignment().length})`,
    );
    await sleep(500); // steady state: both consuming, an auto-commit or two behind them
    const before = new Map<number, string>();
    for (const tp of a.assignment()) before.set(tp.partition, "a");
    for (const tp of b.assignment()) before.set(tp.partition, "b");
    const t0 = Date.now();
    c = start("c");
    const cc = c;
    await until("the new member's 4 partitions", () => cc.assignment().length === 4, 30_000, () => `(${a.assignment().length}, ${b.assignment().length}, ${cc.assignment().length})`);
    const ownedMs = Date.now() - t0;
    const moved = cc.assignment().map((tp) => tp.partition);
    const firstAfter = (p: number): number | undefined => seen.get("c")!.get(p)?.find((t) => t >= t0);
    await until("moved partitions consumed by the new member", () => moved.every((p) => firstAfter(p) !== undefined), 30_000);
    const ms = Math.max(...moved.map((p) => firstAfter(p)! - t0));
    // Unmoved partitions: the largest gap between consecutive deliveries from t0 - 100 ms to now.
    const tEnd = Date.now();
    let unmovedGapMs = 0;
    for (const [p, owner] of before) {
      if (moved.includes(p)) continue;
      const times = (seen.get(owner)!.get(p) ?? []).filter((t) => t >= t0 - 100);
      let prev = t0 - 100;
      for (const t of [...times, tEnd]) {
        unmovedGapMs = Math.max(unmovedGapMs, t - prev);
        prev = t;
      }
    }
    const revokes = revokedAt.filter((t) => t >= t0).map((t) => t - t0);
    return { ms, moved: moved.length, unmovedGapMs, revokeStartMs: Math.min(...revokes), revokeLastMs: Math.max(...revokes), ownedMs };
  } finally {
    await Promise.all([a.close(), b.close(), c?.close()]);
  }
}

await runBench(async (brokers) => {
    const brook = new Brook({ brokers, clientId: "bench-join", retries: 20, requestTimeoutMs: 5_000 });
    const { topic, stop: stopFeed } = await fedTopic(brook, "bench-join", PARTITIONS);
    const results: Trial[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    for (let i = 0; i < TRIALS && Date.now() - began < BUDGET_MS - 15_000; i++) {
      const r = await trial(brook, topic, i);
      results.push(r);
      console.log(
        `join trial ${i + 1}: ${r.moved} moved partitions consumed again by the new member after ${r.ms} ms ` +
          `(old owners began revoking at ${r.revokeStartMs}/${r.revokeLastMs} ms, new member owned all at ~${r.ownedMs} ms); unmoved partitions' longest gap ${r.unmovedGapMs} ms`,
      );
    }
    const cpu = process.cpuUsage(cpu0);
    await stopFeed();
    await brook.close();
    const sorted = results.map((r) => r.ms).sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const max = sorted[sorted.length - 1]!;
    const gap = Math.max(...results.map((r) => r.unmovedGapMs));
    console.log(
      `rebalance on join (2 -> 3 members, ${PARTITIONS} partitions, ${results.length} trials): median ${median} ms, max ${max} ms (target <= 500); ` +
        `unmoved partitions' longest gap ${gap} ms; bench process CPU ${(((cpu.user + cpu.system) / 1000 / (Date.now() - t0)) * 100).toFixed(0)}% of a core`,
    );
});
