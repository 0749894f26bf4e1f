// A group member in its own process, so the crash benchmark can SIGKILL it like a crashed
// service. Reports on stdout: "ASSIGNED p,p,..." after every assignment change and
// "SEEN p" the first time a partition delivers a record under the current assignment.
// The assignment is polled rather than read in the rebalance listeners: a revocation
// listener runs before the partitions are taken away, so it would report the old list.
// Auto-commit every 200 ms, as a real service would.
//   node crash_member.js <bootstrap,...> <groupId> <topic> <sessionTimeoutMs>
import { Brook } from "../../brook.js";

const [bootstrap = "", groupId = "", topic = "", sessionTimeoutMs = "3000"] = process.argv.slice(2);
const brook = new Brook({ brokers: bootstrap.split(","), clientId: "crash-member" });
const consumer = brook.consumer({
  groupId,
  sessionTimeoutMs: Number(sessionTimeoutMs),
  autoCommitIntervalMs: 200,
  maxWaitMs: 50,
  autoOffsetReset: "latest",
});
const seen = new Set<number>();
let reported = "";
const report = (): void => {
  const parts = consumer.assignment().map((tp) => tp.partition).sort((a, b) => a - b).join(",");
  if (parts === reported) return;
  reported = parts;
  seen.clear();
  process.stdout.write(`ASSIGNED ${parts}\n`);
};
setInterval(report, 10);
consumer.subscribe([topic]);
await consumer.run({
  eachMessage: (m) => {
    report();
    if (seen.has(m.partition)) return;
    seen.add(m.partition);
    process.stdout.write(`SEEN ${m.partition}\n`);
  },
});
