// How the producer packs records into batches and batches into Produce requests, against
// three real nodes: keyless sends stay on one partition per batch (sticky, KIP-480), each
// record's answer comes back in send order, and no request passes max.request.size unless
// it carries a single batch that alone is larger. Requests are observed on their way into the
// real connection (a pass-through wrapper, not a stand-in).
import { ProduceRequest } from "@brook/protocol/gen/brook/v1/broker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Brook, stringSerde } from "../../src/index.js";
import { BrokerConnection } from "../../src/connection.js";
import { BufferPool } from "../../src/producer/buffer_pool.js";
import { TestCluster } from "../support/cluster.js";

describe("producer batching against three real brook nodes", () => {
  const cluster = new TestCluster();
  let brook: Brook;
  const realProduce = BrokerConnection.prototype.produce;
  let seen: ProduceRequest[] = [];

  beforeAll(async () => {
    await cluster.start();
    brook = new Brook({ brokers: cluster.bootstrap(), clientId: "batching", retries: 20, requestTimeoutMs: 5_000 });
    BrokerConnection.prototype.produce = function (this: BrokerConnection, req, timeoutMs) {
      seen.push(req);
      return realProduce.call(this, req, timeoutMs);
    };
  }, 180_000);

  afterEach(() => {
    seen = [];
  });

  afterAll(async () => {
    BrokerConnection.prototype.produce = realProduce;
    await brook?.close();
    await cluster.stop();
  });


  const batchesIn = (r: ProduceRequest): number => r.topics.reduce((n, t) => n + t.partitions.length, 0);

  it("keeps each keyless send on one partition (sticky) and answers each record's partition and offset in send order", async () => {
    await cluster.createTopic("sticky", 6);
    // Linger well past the time to admit 100 records, even on a busy machine.
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, lingerMs: 100 });
    // The first send waits for metadata record by record; the second takes the at-once path.
    for (const round of [0, 1]) {
      const res = await producer.send({ topic: "sticky", messages: Array.from({ length: 100 }, (_, i) => ({ value: `r${round}-${i}` })) });
      expect(new Set(res.map((r) => r.partition)).size, `round ${round}: one batch, one partition`).toBe(1);
      expect(res.map((r) => r.offset)).toEqual(res.map((_, i) => res[0]!.offset + i));
    }
    const mixed = await producer.send({ topic: "sticky", messages: Array.from({ length: 12 }, (_, i) => ({ value: `m${i}`, partition: i % 6 })) });
    expect(mixed.map((r) => r.partition)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]);
    for (let i = 6; i < 12; i++) expect(mixed[i]!.offset).toBe(mixed[i - 6]!.offset + 1);
    await producer.close();
  });

  it("splits a leader's ready batches into requests of at most max.request.size", async () => {
    await cluster.createTopic("split", 6); // 6 partitions on 3 nodes: some node leads two or more
    const maxRequestSize = 16_000;
    // Two ready batches of ~12 KB for one leader would make a 24 KB request: they must go apart.
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, batchSize: 12_000, maxRequestSize, lingerMs: 200 });
    const value = "v".repeat(1_000);
    const res = await producer.send({ topic: "split", messages: Array.from({ length: 6 * 11 }, (_, i) => ({ value, partition: i % 6 })) });
    expect(res.length).toBe(66);
    const split = seen.filter((r) => r.topics.some((t) => t.topic === "split"));
    expect(split.length).toBeGreaterThanOrEqual(6);
    for (const r of split) {
      expect(batchesIn(r)).toBe(1);
      expect(ProduceRequest.encode(r).finish().length).toBeLessThanOrEqual(maxRequestSize);
    }
    await producer.close();
  });

  it("still sends a single batch larger than max.request.size, alone", async () => {
    await cluster.createTopic("big", 1);
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, batchSize: 64 * 1024, maxRequestSize: 16_000, lingerMs: 200 });
    const value = "w".repeat(1_000);
    const res = await producer.send({ topic: "big", messages: Array.from({ length: 40 }, () => ({ value })) });
    expect(res.map((r) => r.offset)).toEqual(res.map((_, i) => i));
    const big = seen.filter((r) => r.topics.some((t) => t.topic === "big"));
    for (const r of big) expect(batchesIn(r)).toBe(1);
    expect(Math.max(...big.map((r) => ProduceRequest.encode(r).finish().length))).toBeGreaterThan(16_000);
    await producer.close();
  });

  it("lends the memory of acknowledged batches and requests again without mixing their bytes", async () => {
    await cluster.createTopic("reuse", 6);
    // Count takes served by an idle slab, through a pass-through wrapper of the real pool.
    const realTake = BufferPool.prototype.take;
    let reused = 0;
    BufferPool.prototype.take = function (this: BufferPool, size) {
      if (this.idle > 0 && size <= this.slabSize && size * 2 >= this.slabSize) reused++;
      return realTake.call(this, size);
    };
    try {
      // ~300 KB batches: pooled batch slabs, and a leader's two batches make a pooled request.
      const producer = brook.producer({ valueSerializer: stringSerde, batchSize: 300_000, lingerMs: 50 });
      const sent: string[][] = [[], [], [], [], [], []];
      for (let round = 0; round < 4; round++) {
        const messages = Array.from({ length: 6 * 280 }, (_, i) => ({ value: `${round}:${i}:`.padEnd(1_000, String.fromCharCode(97 + ((round * 7 + i) % 26))), partition: i % 6 }));
        for (const m of messages) sent[m.partition]!.push(m.value);
        await producer.send({ topic: "reuse", messages });
      }
      await producer.close();
      expect(reused).toBeGreaterThan(4);
      const consumer = brook.consumer({ valueDeserializer: stringSerde, maxWaitMs: 100 });
      await consumer.assign([0, 1, 2, 3, 4, 5].map((partition) => ({ topic: "reuse", partition })));
      const got: string[][] = [[], [], [], [], [], []];
      let n = 0;
      for await (const m of consumer) {
        got[m.partition]!.push(m.value!);
        if (++n === 4 * 6 * 280) break;
      }
      await consumer.close();
      for (let p = 0; p < 6; p++) expect(got[p], `partition ${p}`).toEqual(sent[p]);
    } finally {
      BufferPool.prototype.take = realTake;
    }
  }, 120_000);

  it("splits a batch the topic's max.message.bytes refuses (KIP-126): every record lands once, in order; one record over the limit fails alone", async () => {
    await cluster.createTopic("small-messages", 1, { "max.message.bytes": "20000" });
    // Idempotent, default batch.size (1 MiB): the first batch is ~15 times the topic's limit.
    const producer = brook.producer({ valueSerializer: stringSerde, lingerMs: 200 });
    const values = Array.from({ length: 300 }, (_, i) => `${i}-`.padEnd(1_000, "x"));
    const res = await producer.send({ topic: "small-messages", messages: values.map((value) => ({ value })) });
    expect(res.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    const consumer = brook.consumer({ valueDeserializer: stringSerde, maxWaitMs: 100 });
    await consumer.assign([{ topic: "small-messages", partition: 0 }]);
    const got: string[] = [];
    for await (const m of consumer) {
      got.push(m.value!);
      if (got.length === values.length) break;
    }
    await consumer.close();
    expect(got).toEqual(values);
    await expect(producer.send({ topic: "small-messages", messages: [{ value: "y".repeat(30_000) }] })).rejects.toThrow(/max\.message\.bytes/);
    // The producer carries on after that record's failure.
    const after = await producer.send({ topic: "small-messages", messages: [{ value: "after" }] });
    expect(after[0]!.offset).toBe(values.length);
    await producer.close();
  }, 120_000);
});
