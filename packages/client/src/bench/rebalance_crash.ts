// Consumer-group rebalance benchmark, crash case: a group of 3 members on a 12-partition
// topic under steady produce; one member runs in a child process and is SIGKILLed; the
// figure is the time from the kill until every partition it owned has delivered a record,
// after the kill, to a surviving member. Target:
// session timeout + <= 500 ms (the coordinator only learns of the crash by the missing
// heartbeats). Uses BROOK_BROKERS=host:port[,...] if set, else starts three local nodes
// from packages/server's build. Several trials, each with a fresh group; bounded to well
// under 2 minutes. Prints every trial, the median and the max.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Brook } from "../brook.js";
import { fedTopic, sleep, until } from "./support/group_bench.js";
import { runBench } from "./support/local_cluster.js";

const SESSION_TIMEOUT_MS = Number(process.env.BENCH_SESSION_TIMEOUT_MS ?? 3_000);
const TRIALS = Number(process.env.BENCH_CRASH_TRIALS ?? 5);
const PARTITIONS = 12;
const BUDGET_MS = 110_000; // the whole program, cluster start included
const CHILD = join(dirname(fileURLToPath(import.meta.url)), "support/crash_member.js");

const began = Date.now();
/** The child's stdout, parsed: its latest assignment and the partitions seen under it. */
class ChildMember {
  readonly proc: ChildProcess;
  assigned: number[] = [];
  readonly seen = new Set<number>();
  private buf = "";

  constructor(bootstrap: string[], group: string, topic: string) {
    this.proc = spawn(process.execPath, [CHILD, bootstrap.join(","), group, topic, String(SESSION_TIMEOUT_MS)], { stdio: ["ignore", "pipe", "inherit"] });
    this.proc.stdout!.on("data", (d: Buffer) => {
      this.buf += d.toString();
      const lines = this.buf.split("\n");
      this.buf = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ASSIGNED ")) {
          const list = line.slice(9);
          this.assigned = list === "" ? [] : list.split(",").map(Number);
          this.seen.clear();
        } else if (line.startsWith("SEEN ")) this.seen.add(Number(line.slice(5)));
      }
    });
  }

  kill(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      this.proc.once("exit", () => resolve());
      this.proc.kill("SIGKILL");
    });
  }
}

async function trial(brook: Brook, brokers: string[], topic: string, n: number): Promise<number> {
  const group = `bench-crash-${Date.now()}-${n}`;
  const lastSeen = new Map<number, number>(); // partition -> last delivery to a survivor
  const survivors = [0, 1].map(() => {
    const c = brook.consumer({ groupId: group, sessionTimeoutMs: SESSION_TIMEOUT_MS, maxWaitMs: 50, autoOffsetReset: "latest" });
    c.subscribe([topic]);
    void c.run({ eachMessage: (m) => void lastSeen.set(m.partition, Date.now()) });
    return c;
  });
  const child = new ChildMember(brokers, group, topic);
  try {
    await until(
      "3 members with 4 partitions each, the child consuming all of its",
      () => child.assigned.length === 4 && child.seen.size === 4 && survivors.every((c) => c.assignment().length === 4),
      40_000,
      () => `(child assigned [${child.assigned}] seen [${[...child.seen]}], survivors ${survivors.map((c) => c.assignment().length)})`,
    );
    await sleep(300); // let an auto-commit land, as in a service that has been running
    const owned = [...child.assigned];
    const t0 = Date.now();
    await child.kill();
    await until("the crashed member's partitions consumed again", () => owned.every((p) => (lastSeen.get(p) ?? 0) >= t0), SESSION_TIMEOUT_MS + 30_000);
    return Date.now() - t0;
  } finally {
    await child.kill();
    await Promise.all(survivors.map((c) => c.close()));
  }
}

await runBench(async (brokers) => {
    const brook = new Brook({ brokers, clientId: "bench-crash", retries: 20, requestTimeoutMs: 5_000 });
    const { topic, stop: stopFeed } = await fedTopic(brook, "bench-crash", PARTITIONS);
    const times: number[] = [];
    // A trial needs ~session timeout plus a few seconds of joining; stop early rather than overrun.
    for (let i = 0; i < TRIALS && Date.now() - began < BUDGET_MS - (SESSION_TIMEOUT_MS + 15_000); i++) {
      const ms = await trial(brook, brokers, topic, i);
      times.push(ms);
      console.log(`crash trial ${i + 1}: partitions of the SIGKILLed member consumed again after ${ms} ms`);
    }
    await stopFeed();
    await brook.close();
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const max = sorted[sorted.length - 1]!;
    console.log(
      `rebalance on crash (3 members, ${PARTITIONS} partitions, 1 SIGKILLed, session timeout ${SESSION_TIMEOUT_MS} ms, ${times.length} trials): ` +
        `median ${median} ms (timeout + ${median - SESSION_TIMEOUT_MS}), max ${max} ms (timeout + ${max - SESSION_TIMEOUT_MS}); target timeout + <= 500`,
    );
});
