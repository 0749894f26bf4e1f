// A group consumer in its own process, so a test can SIGKILL it like a crashed service.
// Prints one line per record it processed: "<partition> <offset> <value>", and
// "ASSIGNED <n>" after each assignment change. Auto-commit every 200 ms.
//   node consumer_process.mjs <bootstrap> <groupId> <topic> <sessionTimeoutMs>
import { Brook, stringSerde } from "../../dist/index.js";

const [bootstrap, groupId, topic, sessionTimeoutMs] = process.argv.slice(2);
const brook = new Brook({ brokers: [bootstrap], clientId: "child" });
const consumer = brook.consumer({
  keyDeserializer: stringSerde,
  valueDeserializer: stringSerde,
  groupId,
  sessionTimeoutMs: Number(sessionTimeoutMs),
  autoCommitIntervalMs: 200,
  maxWaitMs: 100,
});
const report = () => process.stdout.write(`ASSIGNED ${consumer.assignment().length}\n`);
consumer.subscribe([topic], { onPartitionsAssigned: report, onPartitionsRevoked: report });
await consumer.run({
  eachMessage: (m) => {
    process.stdout.write(`${m.partition} ${m.offset} ${m.value}\n`);
  },
});
