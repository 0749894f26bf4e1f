// Consumer CPU through the SDK, end to end: 1 KiB records are produced first, then read back
// by a Consumer (real gRPC Fetch, prefetch buffer, delivery loop, deserializers) with
// eachMessage, eachBatch and the async iterator. The figure is this process's CPU
// (process.cpuUsage: user + system, GC included) per record during the consume phase only,
// against the <= 2 µs target; the brokers' CPU is not counted. Uses BROOK_BROKERS if set,
// else three local nodes from packages/server's build. Repeats each mode and prints the range.
import { Brook } from "../brook.js";
import { LocalCluster } from "./support/local_cluster.js";

const RECORDS = Number(process.env.BENCH_CONSUME_RECORDS ?? 100_000);
const REPEATS = Number(process.env.BENCH_CONSUME_REPEATS ?? 3);
const PARTITIONS = 6;
/** BENCH_CHECK_CRCS=false: the same without the consumer's CRC-32C check (check.crcs). */
const CHECK_CRCS = process.env.BENCH_CHECK_CRCS !== "false";
const VALUE = Buffer.alloc(1024, 0x61);

type Mode = "eachMessage" | "eachBatch" | "iterator";

async function consumeOnce(brook: Brook, topic: string, mode: Mode): Promise<{ us: number; recPerSec: number }> {
  const consumer = brook.consumer({ maxWaitMs: 100, checkCrcs: CHECK_CRCS });
  await consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
  let got = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  if (mode === "iterator") {
    for await (const m of consumer) {
      bytes += m.value?.length ?? 0;
      if (++got >= RECORDS) break;
    }
  } else {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        if (got >= RECORDS) resolve();
      };
      void consumer.run(
        mode === "eachMessage"
          ? {
              eachMessage: (m) => {
                bytes += m.value?.length ?? 0;
                got++;
                done();
              },
            }
          : {
              eachBatch: (b) => {
                for (const m of b.messages) bytes += m.value?.length ?? 0;
                got += b.messages.length;
                done();
              },
            },
      );
    });
  }
  const cpu = process.cpuUsage(cpu0);
  const secs = (Date.now() - t0) / 1000;
  await consumer.close();
  if (bytes < RECORDS * VALUE.length) throw new Error(`read ${bytes} bytes, expected ${RECORDS * VALUE.length}`);
  return { us: (cpu.user + cpu.system) / got, recPerSec: got / secs };
}

const external = process.env.BROOK_BROKERS;
const cluster = external === undefined || external === "" ? new LocalCluster() : undefined;
let exitCode = 0;
try {
  const brokers = cluster !== undefined ? await cluster.start() : external!.split(",");
  const brook = new Brook({ brokers, clientId: "bench-consume" });
  const topic = `bench-consume-${Date.now()}`;
  await brook.admin().createTopics([{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }]);
  const producer = brook.producer({ lingerMs: 5, batchSize: 64 * 1024 });
  const messages = Array.from({ length: 100 }, () => ({ value: VALUE }));
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < RECORDS; i += messages.length) {
    pending.push(producer.send({ topic, messages }));
    if (pending.length >= 50) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await producer.flush();
  const modes = (process.env.BENCH_CONSUME_MODES ?? "eachMessage,eachBatch,iterator").split(",") as Mode[];
  for (const mode of modes) {
    const runs = [];
    for (let i = 0; i < REPEATS; i++) runs.push(await consumeOnce(brook, topic, mode));
    const us = runs.map((r) => r.us).sort((a, b) => a - b);
    const rate = runs.map((r) => r.recPerSec).sort((a, b) => a - b);
    console.log(
      `consume ${RECORDS} x 1 KiB (${mode}, check.crcs=${CHECK_CRCS}, ${REPEATS} runs): client CPU ${us[0]!.toFixed(2)}-${us[us.length - 1]!.toFixed(2)} us/record (target <= 2), ` +
        `${rate[0]!.toFixed(0)}-${rate[rate.length - 1]!.toFixed(0)} rec/s`,
    );
  }
  await brook.close();
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await cluster?.stop();
}
process.exit(exitCode);
