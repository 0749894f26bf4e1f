// SDK benchmark.
//  1. Client CPU per 1 KiB record on the produce path (serialize, partition, accumulate,
//     encode each batch once, protobuf-encode the Produce request) and on the consume path
//     (protobuf-decode the Fetch response, decode batches, deserialize). No network: this is
//     the CPU the SDK takes from a shared machine, against the 3 µs / 2 µs per record targets.
//  2. With BROOK_BROKERS=host:port[,...] (a running cluster with topic creation), end-to-end
//     producer and consumer throughput through the SDK with acks=all, and the client's CPU
//     per record measured with process.cpuUsage.
// Prints figures and exits; bounded to well under a minute.
import { FetchResponse, ProduceRequest } from "@brook/protocol/gen/brook/v1/broker";
import { Brook } from "../brook.js";
import { Accumulator } from "../producer/accumulator.js";
import { stickyPartitioner } from "../producer/partitioner.js";
import { indexBatches, RecordCursor } from "../consumer/record_cursor.js";
import { encodeBatch, recordSize, type BatchRecord } from "../records/record_batch.js";
import { bytesSerde } from "../serde.js";

const RECORDS = 200_000;
const VALUE = Buffer.alloc(1024, 0x61);
const BATCH_SIZE = 64 * 1024;

function cpuMicros(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

function producePath(): { perRecordUs: number; batches: Buffer[] } {
  const acc = new Accumulator<number>({ batchSize: BATCH_SIZE, lingerMs: 0, bufferMemory: 1 << 30 });
  const partitioner = stickyPartitioner(() => 0.3);
  const batches: Buffer[] = [];
  const flush = (): void => {
    for (const b of acc.drain(Number.MAX_SAFE_INTEGER, () => true)) {
      const bytes = encodeBatch(
        b.records.map((r) => r.record),
        { producerId: 1, producerEpoch: 0, baseSequence: 0, compression: "none" },
      );
      ProduceRequest.encode({ acks: -1, timeoutMs: 30_000, transactionalId: "", topics: [{ topic: "bench", partitions: [{ partition: b.partition, records: bytes }] }] }).finish();
      batches.push(bytes);
      for (const r of b.records) acc.release(r.size);
      partitioner.onNewBatch?.(b.topic, b.partition);
    }
  };
  const us = cpuMicros(() => {
    const now = Date.now();
    for (let i = 0; i < RECORDS; i++) {
      const value = bytesSerde.serialize(VALUE, "bench");
      const record: BatchRecord = { key: null, value, headers: [], timestamp: now };
      const size = recordSize(record, 0, 0) + 8;
      const partition = partitioner.partition({ topic: "bench", key: null, partitionCount: 6, availablePartitions: [0, 1, 2, 3, 4, 5] });
      acc.reserve(size);
      acc.append("bench", partition, { record, size, handle: i }, now);
      if (i % 64 === 63) flush();
    }
    flush();
  });
  return { perRecordUs: us / RECORDS, batches };
}

async function consumePath(batches: Buffer[]): Promise<number> {
  // Fetch responses of ~1 MiB each, as a broker would send them.
  const responses: Uint8Array[] = [];
  for (let i = 0; i < batches.length; i += 16) {
    const records = Buffer.concat(batches.slice(i, i + 16));
    responses.push(
      FetchResponse.encode({
        errorCode: 0,
        throttleTimeMs: 0,
        topics: [{ topic: "bench", partitions: [{ partition: 0, errorCode: 0, errorMessage: "", highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, records, currentLeader: 1, currentLeaderEpoch: 0 }] }],
      }).finish(),
    );
  }
  let n = 0;
  const start = process.cpuUsage();
  for (const r of responses) {
    const res = FetchResponse.decode(r);
    // What the consumer does: index (CRC-check) the batches once, then walk records in place.
    const cursor = new RecordCursor((await indexBatches(res.topics[0]!.partitions[0]!.records)).runs, 0);
    while (cursor.next()) {
      bytesSerde.deserialize(cursor.value(), "bench");
      n++;
    }
  }
  const d = process.cpuUsage(start);
  return (d.user + d.system) / n;
}

async function endToEnd(brokers: string[]): Promise<void> {
  const brook = new Brook({ brokers, clientId: "bench" });
  const admin = brook.admin();
  // BENCH_TOPIC: an existing 6-partition topic (for clusters without CreateTopics).
  const topic = process.env.BENCH_TOPIC ?? `bench-${Date.now()}`;
  if (process.env.BENCH_TOPIC === undefined) await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 3 }]);
  const producer = brook.producer({ lingerMs: 5, batchSize: BATCH_SIZE, maxInFlight: Number(process.env.BENCH_MAX_IN_FLIGHT ?? 1) });
  const n = Number(process.env.BENCH_CLIENT_RECORDS ?? 100_000);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const inflight: Promise<unknown>[] = [];
  // 100 records per send() call, up to 5,000 records outstanding.
  const perSend = 100;
  const messages = Array.from({ length: perSend }, () => ({ value: VALUE }));
  for (let i = 0; i < n; i += perSend) {
    inflight.push(producer.send({ topic, messages }));
    if (inflight.length >= 5_000 / perSend) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
  const secs = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(`e2e produce acks=all 1 KiB: ${(n / secs).toFixed(0)} rec/s, ${((n * 1024) / secs / 1e6).toFixed(1)} MB/s, client CPU ${((cpu.user + cpu.system) / n).toFixed(2)} us/record`);
  const consumer = brook.consumer({ maxWaitMs: 100 });
  await consumer.assign(Array.from({ length: 6 }, (_, partition) => ({ topic, partition })));
  const c0 = process.cpuUsage();
  const t1 = Date.now();
  let got = 0;
  for await (const _ of consumer) if (++got >= n) break;
  const csecs = (Date.now() - t1) / 1000;
  const ccpu = process.cpuUsage(c0);
  console.log(`e2e consume 1 KiB: ${(n / csecs).toFixed(0)} rec/s, client CPU ${((ccpu.user + ccpu.system) / n).toFixed(2)} us/record`);
  await consumer.close();
  await rebalanceOnJoin(brook, topic);
  await brook.close();
}

/** Time from a member joining until every partition moved to it is consumed again. */
async function rebalanceOnJoin(brook: Brook, topic: string): Promise<void> {
  const group = `bench-g-${Date.now()}`;
  const lastSeen = new Map<string, Map<number, number>>();
  const start = (name: string) => {
    const c = brook.consumer({ groupId: group, maxWaitMs: 50, autoOffsetReset: "latest" });
    c.subscribe([topic]);
    const seen = new Map<number, number>();
    lastSeen.set(name, seen);
    void c.run({ eachMessage: (m) => void seen.set(m.partition, Date.now()) });
    return c;
  };
  const producer = brook.producer({ lingerMs: 1 });
  let producing = true;
  const feed = (async () => {
    while (producing) {
      await producer.send({ topic, messages: Array.from({ length: 6 }, (_, partition) => ({ value: VALUE, partition })) });
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const a = start("a");
  const b = start("b");
  const wait = async (what: string, cond: () => boolean) => {
    const deadline = Date.now() + 60_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`rebalance bench timed out waiting for ${what} (${[a, b].map((x) => x.assignment().length).join()})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await wait("2 members", () => a.assignment().length + b.assignment().length === 6 && a.assignment().length > 0 && b.assignment().length > 0);
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  const c = start("c");
  await wait("join", () => c.assignment().length === 2);
  const moved = c.assignment().map((tp) => tp.partition);
  await wait("moved consumed", () => moved.every((p) => (lastSeen.get("c")!.get(p) ?? 0) >= t0));
  console.log(`rebalance on join (2 -> 3 members, 6 partitions): moved partitions consumed again after ${Date.now() - t0} ms (target <= 500)`);
  producing = false;
  await feed;
  await Promise.all([a.close(), b.close(), c.close()]);
}

const produce = producePath();
console.log(`client produce path, 1 KiB records, ${RECORDS} records: ${produce.perRecordUs.toFixed(2)} us CPU/record (target <= 3)`);
const consume = await consumePath(produce.batches);
console.log(`client consume path, 1 KiB records: ${consume.toFixed(2)} us CPU/record (target <= 2)`);
const brokers = process.env.BROOK_BROKERS;
if (brokers !== undefined && brokers !== "") await endToEnd(brokers.split(","));
else console.log("end-to-end figures: set BROOK_BROKERS=host:port[,...] to a running cluster (npm run cluster)");
process.exit(0);
