// Consumer CPU through the SDK, end to end: 1 KiB records are produced first, then read back
// by a Consumer (real gRPC Fetch, prefetch buffer, delivery loop, deserializers) with
// eachMessage, eachBatch and the async iterator. The figure is this process's CPU
// (process.cpuUsage: user + system, GC included) per record during the consume phase only,
// against the <= 2 µs target; the brokers' CPU is not counted. Uses BROOK_BROKERS if set,
// else three local nodes from packages/server's build. Repeats each mode after an unmeasured
// warm-up run and prints the range and each run.
// BENCH_CONSUME_PROFILE=<dir> writes a V8 CPU profile of the consume phases only (the produce
// phase and cluster start-up would otherwise bury them) to <dir>/consume-<mode>.cpuprofile.
import { mkdir, writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { Brook } from "../brook.js";
import { runBench } from "./support/local_cluster.js";

const RECORDS = Number(process.env.BENCH_CONSUME_RECORDS ?? 100_000);
const REPEATS = Number(process.env.BENCH_CONSUME_REPEATS ?? 3);
/** Unmeasured runs before each mode's measured ones (BENCH_CONSUME_WARMUP, default 1). */
const WARMUP = Number(process.env.BENCH_CONSUME_WARMUP ?? 1);
const PARTITIONS = 6;
/** BENCH_CHECK_CRCS=false: the same without the consumer's CRC-32C check (check.crcs). */
const CHECK_CRCS = process.env.BENCH_CHECK_CRCS !== "false";
const VALUE = Buffer.alloc(1024, 0x61);
const PROFILE_DIR = process.env.BENCH_CONSUME_PROFILE;
/** Consumer settings to compare (unset: the consumer's defaults). */
const BUFFERED = process.env.BENCH_CONSUME_BUFFERED;
const PARTITION_BYTES = process.env.BENCH_CONSUME_PARTITION_BYTES;

type Mode = "eachMessage" | "eachBatch" | "iterator";

interface Run {
  readonly us: number;
  readonly sysUs: number;
  readonly faults: number;
  readonly recPerSec: number;
}

async function consumeOnce(brook: Brook, topic: string, mode: Mode): Promise<Run> {
  const consumer = brook.consumer({
    maxWaitMs: 100,
    checkCrcs: CHECK_CRCS,
    ...(BUFFERED !== undefined ? { maxBufferedRecords: Number(BUFFERED) } : {}),
    ...(PARTITION_BYTES !== undefined ? { maxPartitionBytes: Number(PARTITION_BYTES) } : {}),
  });
  await consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
  let got = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const faults0 = process.resourceUsage().minorPageFault;
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
  const faults = process.resourceUsage().minorPageFault - faults0;
  const secs = (Date.now() - t0) / 1000;
  await consumer.close();
  if (bytes < RECORDS * VALUE.length) throw new Error(`read ${bytes} bytes, expected ${RECORDS * VALUE.length}`);
  return { us: (cpu.user + cpu.system) / got, sysUs: cpu.system / got, faults: faults / got, recPerSec: got / secs };
}

await runBench(async (brokers) => {
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
    const session = PROFILE_DIR !== undefined ? new Session() : undefined;
    session?.connect();
    for (const mode of modes) {
      const runs: Run[] = [];
      // Unmeasured first: the first pass of a mode compiles its delivery path (the first
      // eachMessage run cost 3.5-3.7 us/record where the next ones cost 2.0-2.8).
      for (let i = 0; i < WARMUP; i++) await consumeOnce(brook, topic, mode);
      await session?.post("Profiler.enable");
      await session?.post("Profiler.start");
      for (let i = 0; i < REPEATS; i++) runs.push(await consumeOnce(brook, topic, mode));
      if (session !== undefined) {
        const { profile } = await session.post("Profiler.stop");
        await mkdir(PROFILE_DIR!, { recursive: true });
        await writeFile(join(PROFILE_DIR!, `consume-${mode}.cpuprofile`), JSON.stringify(profile));
      }
      const range = (f: (r: Run) => number, digits: number): string => {
        const xs = runs.map(f).sort((a, b) => a - b);
        return `${xs[0]!.toFixed(digits)}-${xs[xs.length - 1]!.toFixed(digits)}`;
      };
      // System time and page faults per record show how much of the CPU is the kernel handing
      // out fresh memory (large fetch buffers) rather than the SDK's own work.
      console.log(
        `consume ${RECORDS} x 1 KiB (${mode}, check.crcs=${CHECK_CRCS}, ${REPEATS} runs): client CPU ${range((r) => r.us, 2)} us/record (target <= 2), ` +
          `of which system ${range((r) => r.sysUs, 2)}, minor page faults ${range((r) => r.faults, 3)}/record, ${range((r) => r.recPerSec, 0)} rec/s; ` +
          `run by run ${runs.map((r) => r.us.toFixed(2)).join(", ")} us`,
      );
    }
    await brook.close();
});
