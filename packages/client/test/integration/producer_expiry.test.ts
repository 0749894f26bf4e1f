// An idempotent producer that stays idle past the brokers' producer.id.expiration.ms: the
// partition leader drops its state and refuses its next batch (a non-zero sequence from a
// producer it does not know). The SDK must resend that batch under a new producer id, so the
// application's send succeeds and every record is in the log exactly once, in order.
// Three real nodes with a short expiration and a fast retention check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Brook, stringSerde } from "../../src/index.js";
import { TestCluster } from "../support/cluster.js";

const EXPIRATION_MS = 1_000;

describe("idempotent producer across producer-state expiry", () => {
  const cluster = new TestCluster([`--producer.id.expiration.ms=${EXPIRATION_MS}`, "--log.retention.check.interval.ms=100"]);
  let brook: Brook;

  beforeAll(async () => {
    await cluster.start();
    brook = new Brook({ brokers: cluster.bootstrap(), clientId: "expiry", retries: 20, requestTimeoutMs: 5_000 });
  }, 180_000);

  afterAll(async () => {
    await brook?.close();
    await cluster.stop();
  });

  it("resends the refused batch under a new producer id: the send succeeds, nothing lost or duplicated", async () => {
    await cluster.createTopic("idle", 1, { "min.insync.replicas": "2" });
    const producer = brook.producer({ valueSerializer: stringSerde });
    const offsets: number[] = [];
    for (let i = 0; i < 5; i++) offsets.push(...(await producer.send({ topic: "idle", messages: [{ value: `a${i}` }] })).map((r) => r.offset));
    // Idle well past the expiration and several retention checks.
    await new Promise((r) => setTimeout(r, EXPIRATION_MS * 4));
    for (let i = 0; i < 5; i++) offsets.push(...(await producer.send({ topic: "idle", messages: [{ value: `b${i}` }] })).map((r) => r.offset));
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const consumer = brook.consumer({ valueDeserializer: stringSerde, maxWaitMs: 100 });
    await consumer.assign([{ topic: "idle", partition: 0 }]);
    const values: string[] = [];
    for await (const m of consumer) {
      values.push(m.value!);
      if (values.length === 10) break;
    }
    await consumer.close();
    expect(values).toEqual(["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"]);
  }, 120_000);
});
