// The SDK against three real `brook` node processes (see test/support/cluster.ts): idempotent
// ordering across a leader SIGKILL with the default 5 batches in flight, a group of three
// sharing twelve partitions, a crashed member's partitions resumed from committed offsets by
// the others, and bounded memory while the cluster is down. Requires the built server
// binary (npm test builds).
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Brook, type Consumer, InvalidRequestError, SendError, stringSerde, TimeoutError, UnknownTopicError } from "../../src/index.js";
import { TestCluster, until } from "../support/cluster.js";

const here = dirname(fileURLToPath(import.meta.url));

describe("SDK against three real brook nodes", () => {
  const cluster = new TestCluster();
  let brook: Brook;

  beforeAll(async () => {
    await cluster.start();
    brook = new Brook({ brokers: cluster.bootstrap(), clientId: "it", retries: 20, requestTimeoutMs: 5_000 });
  });


  afterAll(async () => {
    await brook?.close();
    await cluster.stop();
  });

  it("keeps per-key order with no duplicates across a leader SIGKILL (idempotent producer, default 5 batches in flight)", async () => {
    await cluster.createTopic("orders", 3, { "min.insync.replicas": "2" });
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, lingerMs: 2 });
    const N = 3_000;
    const sends: Promise<unknown>[] = [];
    let victim = -1;
    for (let i = 0; i < N; i++) {
      sends.push(producer.send({ topic: "orders", messages: [{ key: `k${i % 7}`, value: String(i) }] }));
      if (i === 1_000) {
        await Promise.allSettled(sends.slice(0, 500));
        victim = await cluster.leaderOf("orders", 0);
        await cluster.kill(victim);
      }
      if (i % 200 === 0) await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.allSettled(sends);
    const acked = results.filter((r) => r.status === "fulfilled").length;
    expect(acked).toBe(N); // retries ride over the election; nothing is dropped

    const consumer = brook.consumer({ keyDeserializer: stringSerde, valueDeserializer: stringSerde, maxWaitMs: 100 });
    await consumer.assign([0, 1, 2].map((partition) => ({ topic: "orders", partition })));
    const last = new Map<string, number>();
    const seen = new Set<number>();
    for await (const m of consumer) {
      const i = Number(m.value);
      expect(seen.has(i), `duplicate ${i}`).toBe(false);
      expect(i, `reordered key ${m.key}`).toBeGreaterThan(last.get(m.key!) ?? -1);
      seen.add(i);
      last.set(m.key!, i);
      if (seen.size === N) break;
    }
    await consumer.close();
    expect(seen.size).toBe(N);
    await cluster.restart(victim); // later tests use all three brokers
  });

  it("gives a group of 3 consumers on 12 partitions 4 each, and keeps unmoved partitions flowing", async () => {
    await cluster.createTopic("events", 12);
    const consumers: Consumer<string | null, string | null>[] = [];
    const counts = new Map<number, number>();
    let consumedTotal = 0;
    let producedTotal = 0;
    const start = (i: number) => {
      const c = brook.consumer({ keyDeserializer: stringSerde, valueDeserializer: stringSerde, groupId: "g3", sessionTimeoutMs: 6_000, maxWaitMs: 100 });
      // A slow revocation keeps the rebalance open for three seconds (the join itself takes
      // far less), long enough, even on a busy machine, to see whether partitions that do not
      // move keep flowing.
      c.subscribe(["events"], { onPartitionsRevoked: (tps) => (tps.length > 0 ? new Promise((r) => setTimeout(r, 3_000)) : undefined) });
      void c.run({
        eachMessage: (m) => {
          counts.set(m.partition, (counts.get(m.partition) ?? 0) + 1);
          consumedTotal++;
        },
      });
      consumers[i] = c;
    };
    start(0);
    start(1);
    await until("two members own 12", () => consumers.every((c) => c.assignment().length === 6));
    const before = new Map(consumers.map((c, i) => [i, new Set(c.assignment().map((tp) => tp.partition))]));
    // While a third member joins, keep producing: partitions that stay put must keep being consumed.
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, lingerMs: 1 });
    let producing = true;
    const feeding = (async () => {
      while (producing) {
        await producer.send({ topic: "events", messages: Array.from({ length: 12 }, (_, p) => ({ value: "x", partition: p })) });
        producedTotal += 12;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await until("feeding", () => counts.size === 12);
    const duringJoin = new Map<number, number>();
    const countsAtJoin = new Map(counts);
    start(2);
    await until("4 each", () => consumers.map((c) => c.assignment().length).join() === "4,4,4");
    for (const [p, n] of counts) duringJoin.set(p, n - (countsAtJoin.get(p) ?? 0));
    // Each of the first two kept 4 of its 6 (only moved partitions changed hands).
    for (const i of [0, 1]) {
      const now = consumers[i]!.assignment().map((tp) => tp.partition);
      expect(now.every((p) => before.get(i)!.has(p))).toBe(true);
    }
    // Partitions that did not move kept being consumed while the member joined.
    const unmoved = [0, 1].flatMap((i) => consumers[i]!.assignment().map((tp) => tp.partition));
    expect(unmoved.length).toBe(8);
    for (const p of unmoved) expect(duringJoin.get(p) ?? 0, `partition ${p} paused during the join`).toBeGreaterThan(0);
    const all = consumers.flatMap((c) => c.assignment().map((tp) => tp.partition));
    expect(new Set(all).size).toBe(12);
    // Every partition is consumed after the rebalance.
    counts.clear();
    await until("every partition consumed again", () => counts.size === 12, 30_000);
    producing = false;
    await feeding;
    // Admin sees the group, its members and per-partition lag.
    const admin = brook.admin();
    const described = await admin.describeGroup("g3");
    expect(described.members.length).toBe(3);
    expect(described.members.flatMap((m) => m.assignment.flatMap((t) => t.partitions)).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    expect((await admin.listGroups()).map((g) => g.groupId)).toContain("g3");
    await until("everything produced consumed", () => consumedTotal >= producedTotal);
    await Promise.all(consumers.map((c) => c.close())); // commits what was consumed
    const lag = await admin.groupOffsets("g3", "events");
    expect(lag.length).toBe(12);
    for (const p of lag) {
      expect(p.committed).toBeGreaterThan(0);
      expect(p.lag).toBe(p.logEndOffset - p.committed);
    }
    expect(lag.reduce((n, p) => n + p.lag, 0)).toBe(0); // everything produced was consumed and committed
    await expect(admin.deleteGroup("g3")).resolves.toBeUndefined();
  });

  it("moves a SIGKILLed member's partitions to the others after the session timeout, resuming from commits", async () => {
    await cluster.createTopic("jobs", 6);
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde });
    const N = 600;
    for (let i = 0; i < N; i += 100) {
      await producer.send({ topic: "jobs", messages: Array.from({ length: 100 }, (_, k) => ({ value: String(i + k), partition: (i + k) % 6 })) });
    }
    // The victim runs in its own process and is SIGKILLed once it consumed something.
    const child: ChildProcess = spawn(process.execPath, [join(here, "../support/consumer_process.mjs"), cluster.bootstrap()[0]!, "gk", "jobs", "3000"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let childOut = "";
    child.stdout!.on("data", (d: Buffer) => (childOut += d.toString()));
    await until("child owns all partitions and consumed", () => /ASSIGNED 6/.test(childOut) && childOut.split("\n").length > 50);
    // Give auto-commit a moment so some progress is committed, then crash the process.
    await new Promise((r) => setTimeout(r, 600));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const childSeen = new Set(
      childOut
        .split("\n")
        .filter((l) => /^\d+ \d+ \d+$/.test(l))
        .map((l) => Number(l.split(" ")[2])),
    );

    const seen = new Set<number>();
    const survivors = [0, 1].map(() => {
      const c = brook.consumer({ keyDeserializer: stringSerde, valueDeserializer: stringSerde, groupId: "gk", sessionTimeoutMs: 3_000, maxWaitMs: 100 });
      c.subscribe(["jobs"]);
      void c.run({ eachMessage: (m) => void seen.add(Number(m.value)) });
      return c;
    });
    await until("survivors own all 6 after the victim's session expired", () => survivors.map((c) => c.assignment().length).join() === "3,3", 30_000);
    await until("every record consumed by someone", () => {
      for (let i = 0; i < N; i++) if (!seen.has(i) && !childSeen.has(i)) return false;
      return true;
    });
    // Resumed from committed offsets, not from the start: some records were not re-read.
    expect(seen.size).toBeLessThan(N);
    await Promise.all(survivors.map((c) => c.close()));
  });

  it("lets a static member restart and get its partitions back without moving the others", async () => {
    await cluster.createTopic("static", 4);
    const revokedFromOther: number[] = [];
    const make = (instance: string, onRevoked?: (tps: { partition: number }[]) => void) => {
      const c = brook.consumer({ groupId: "gs", groupInstanceId: instance, sessionTimeoutMs: 20_000, maxWaitMs: 100 });
      c.subscribe(["static"], onRevoked === undefined ? {} : { onPartitionsRevoked: onRevoked });
      void c.run({ eachMessage: () => {} });
      return c;
    };
    const a = make("inst-a");
    const b = make("inst-b", (tps) => revokedFromOther.push(...tps.map((tp) => tp.partition)));
    await until("2 each", () => a.assignment().length === 2 && b.assignment().length === 2);
    const owned = a.assignment().map((tp) => tp.partition).sort();
    const revokedBefore = revokedFromOther.length;
    await a.close(); // a static member leaves temporarily (epoch -2)
    const a2 = make("inst-a");
    await until("restarted member owns its partitions", () => a2.assignment().length === 2);
    expect(a2.assignment().map((tp) => tp.partition).sort()).toEqual(owned);
    expect(revokedFromOther.length).toBe(revokedBefore);
    expect(b.assignment().length).toBe(2);
    await Promise.all([a2.close(), b.close()]);
  });

  // Every codec of @brook/protocol, produced by the SDK, stored as sent, inflated by the SDK's consumer.
  for (const compression of ["gzip", "snappy", "lz4", "zstd"] as const) {
    it(`round-trips ${compression} batches with keys, headers and timestamps`, async () => {
      const topic = `zipped-${compression}`;
      await cluster.createTopic(topic, 2);
      const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, compression });
      const sent = await producer.send({
        topic,
        messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}`.repeat(20), headers: { n: String(i) }, timestamp: 1_700_000_000_000 + i })),
      });
      await producer.close();
      const consumer = brook.consumer({ keyDeserializer: stringSerde, valueDeserializer: stringSerde, maxWaitMs: 100 });
      await consumer.assign([0, 1].map((partition) => ({ topic, partition })));
      const got = new Map<string, { value: string | null; n: string | undefined; ts: number; offset: number; partition: number }>();
      for await (const m of consumer) {
        got.set(m.key!, { value: m.value, n: m.headers["n"]?.toString(), ts: m.timestamp, offset: m.offset, partition: m.partition });
        if (got.size === 50) break;
      }
      await consumer.close();
      sent.forEach((meta, i) => {
        const g = got.get(`k${i}`)!;
        expect(g).toEqual({ value: `v${i}`.repeat(20), n: String(i), ts: 1_700_000_000_000 + i, offset: meta.offset, partition: meta.partition });
      });
    });
  }

  it("hands records out through the async iterator in order; after a break, the next iterator starts right after the last one handed out", async () => {
    await cluster.createTopic("iterated", 1);
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde });
    const N = 30;
    await producer.send({
      topic: "iterated",
      messages: Array.from({ length: N }, (_, i) => ({ key: i % 3 === 0 ? null : `k${i}`, value: i % 5 === 0 ? null : `v${i}`, headers: i % 2 === 0 ? { i: String(i) } : {} })),
    });
    const consumer = brook.consumer({ keyDeserializer: stringSerde, valueDeserializer: stringSerde, maxWaitMs: 100 });
    await consumer.assign([{ topic: "iterated", partition: 0 }]);
    const got: { offset: number; key: string | null; value: string | null; i: string | undefined }[] = [];
    const take = async (n: number): Promise<void> => {
      for await (const m of consumer) {
        got.push({ offset: m.offset, key: m.key, value: m.value, i: m.headers["i"]?.toString() });
        if (--n === 0) break;
      }
    };
    await take(10); // the first fetch holds all 30: 20 are left in the chunk at the break
    await take(N - 10);
    await consumer.close();
    expect(got).toEqual(
      Array.from({ length: N }, (_, i) => ({ offset: i, key: i % 3 === 0 ? null : `k${i}`, value: i % 5 === 0 ? null : `v${i}`, i: i % 2 === 0 ? String(i) : undefined })),
    );
    // next() called again before the first call settled (while it waits for a fetch) answers in order.
    const other = brook.consumer({ keyDeserializer: stringSerde, valueDeserializer: stringSerde, maxWaitMs: 100 });
    await other.assign([{ topic: "iterated", partition: 0 }]);
    const it = other[Symbol.asyncIterator]();
    const answers = await Promise.all([it.next(), it.next(), it.next()]);
    expect(answers.map((r) => (r.done === true ? "done" : r.value.offset))).toEqual([0, 1, 2]);
    await it.return?.();
    await other.close();
    expect((await it.next()).done).toBe(true);
  });

  it("subscribes with a RegExp as JavaScript matches it (/^rx-/ takes rx-a and rx-b), a topic created later included", async () => {
    await cluster.createTopic("rx-a", 2);
    await cluster.createTopic("rx-b", 1);
    await cluster.createTopic("not-rx", 1);
    const producer = brook.producer({ valueSerializer: stringSerde });
    await producer.send({ topic: "rx-a", messages: [{ value: "a1" }, { value: "a2" }] });
    await producer.send({ topic: "rx-b", messages: [{ value: "b1" }] });
    await producer.send({ topic: "not-rx", messages: [{ value: "n1" }] });
    const consumer = brook.consumer({ groupId: "regex", valueDeserializer: stringSerde, maxWaitMs: 100 });
    consumer.subscribe(/^rx-/);
    const got: string[] = [];
    void consumer.run({ eachMessage: (m) => void got.push(`${m.topic}:${m.value}`) });
    try {
      await until("the rx- topics consumed", () => got.length >= 3, 30_000);
      await cluster.createTopic("rx-c", 1);
      await producer.send({ topic: "rx-c", messages: [{ value: "c1" }] });
      await until("the new rx- topic consumed", () => got.includes("rx-c:c1"), 30_000);
      expect(got.sort()).toEqual(["rx-a:a1", "rx-a:a2", "rx-b:b1", "rx-c:c1"]);
    } finally {
      await consumer.close();
    }
  });

  it("looks up two topics at once from a fresh client: neither is reported unknown", async () => {
    await cluster.createTopic("meta-a", 1);
    await cluster.createTopic("meta-b", 2);
    const fresh = new Brook({ brokers: cluster.bootstrap(), clientId: "fresh" });
    try {
      // Both need metadata the client does not have yet; the second asks while the first's request is in flight.
      const admin = fresh.admin();
      const [a, b] = await Promise.all([admin.groupOffsets("nobody", "meta-a"), admin.groupOffsets("nobody", "meta-b")]);
      expect(a.map((o) => o.partition)).toEqual([0]);
      expect(b.map((o) => o.partition)).toEqual([0, 1]);
    } finally {
      await fresh.close();
    }
  });

  it("a second close() waits for the first: when either resolves, the member has left its group", async () => {
    await cluster.createTopic("closing", 1);
    const consumer = brook.consumer({ groupId: "closing", maxWaitMs: 100 });
    consumer.subscribe(["closing"]);
    void consumer.run({ eachMessage: () => undefined });
    const admin = brook.admin();
    // The group exists once the first heartbeat reached its coordinator.
    await until("the member joined", async () => (await admin.describeGroup("closing").catch(() => undefined))?.members.length === 1, 30_000);
    // DescribeGroups names the member's client.id and host, as kafka-consumer-groups does.
    expect((await admin.describeGroup("closing")).members[0]).toMatchObject({ clientId: "it", clientHost: "/127.0.0.1" });
    void consumer.close(); // e.g. a signal handler
    await consumer.close(); // e.g. the main path's finally, right before the process exits
    expect((await admin.describeGroup("closing")).members).toEqual([]);
  });

  it("auto-commits what an idle async iterator handed out, while it waits for more", async () => {
    await cluster.createTopic("iterated-idle", 1);
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde });
    await producer.send({ topic: "iterated-idle", messages: Array.from({ length: 5 }, (_, i) => ({ key: null, value: `v${i}` })) });
    const consumer = brook.consumer({ groupId: "idle-iterator", keyDeserializer: stringSerde, valueDeserializer: stringSerde, autoCommitIntervalMs: 200, maxWaitMs: 100 });
    consumer.subscribe(["iterated-idle"]);
    const iterator = consumer[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) expect((await iterator.next()).value?.value).toBe(`v${i}`);
    // The application now waits for a sixth record that never comes; the five are committed meanwhile.
    const waiting = iterator.next();
    const admin = brook.admin();
    await until("the idle iterator's records committed", async () => (await admin.groupOffsets("idle-iterator", "iterated-idle"))[0]?.committed === 5, 20_000);
    await consumer.close();
    expect((await waiting).done).toBe(true);
  });

  it("refuses an unknown topic and an invalid topic name with typed errors, the invalid name without retries", async () => {
    const producer = brook.producer({ valueSerializer: stringSerde });
    const failure = (topic: string) =>
      producer.send({ topic, messages: [{ value: "x" }] }).then(
        () => undefined,
        (e: unknown) => (e as SendError).results[0],
      );
    const unknown = await failure("no-such-topic");
    expect(unknown).toBeInstanceOf(UnknownTopicError);
    const invalid = await failure("bad name!");
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect((invalid as InvalidRequestError).code).toBe(17);
    expect((invalid as InvalidRequestError).message).toMatch(/"bad name!" is not a valid topic name/);
    // Retried as unknown it said "gave up after 9 attempts" instead.
    expect((invalid as InvalidRequestError).message).not.toMatch(/attempts/);
  });

  it("assign() refuses a partition the topic does not have; seek() on an unassigned partition says to assign it", async () => {
    await cluster.createTopic("assign-check", 2);
    const consumer = brook.consumer({ valueDeserializer: stringSerde });
    try {
      await expect(consumer.assign([{ topic: "assign-check", partition: 0 }, { topic: "assign-check", partition: 7 }])).rejects.toThrow(/partition 7 is not in \[0, 1\]/);
      expect(() => consumer.seek("assign-check", 1, 0)).toThrow(/not assigned to this consumer; assign\(\) it first/);
      await consumer.assign([{ topic: "assign-check", partition: 1 }]);
      consumer.seek("assign-check", 1, 0);
    } finally {
      await consumer.close();
    }
  });

  it("says why it retried: a send that never reaches min.insync.replicas warns while retrying, then fails with NOT_ENOUGH_REPLICAS", async () => {
    await cluster.createTopic("isr3", 1, { "min.insync.replicas": "3" });
    const leader = await cluster.leaderOf("isr3", 0);
    const follower = [...cluster.nodes.keys()].find((id) => id !== leader)!;
    await cluster.kill(follower);
    const admin = brook.admin();
    await until("ISR without the killed follower", async () => (await admin.describeTopics(["isr3"]))[0]?.partitions[0]?.isr.length === 2, 30_000);
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (_: object, msg: string) => void warnings.push(msg), error: () => {} };
    const own = new Brook({ brokers: cluster.bootstrap(), clientId: "isr3", logger });
    try {
      const producer = own.producer({ valueSerializer: stringSerde, deliveryTimeoutMs: 3_000, requestTimeoutMs: 1_000, lingerMs: 0 });
      const err = await producer.send({ topic: "isr3", messages: [{ value: "x" }] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SendError);
      const cause = (err as SendError).results[0];
      expect(cause).toBeInstanceOf(TimeoutError);
      // The broker's reason, not only "timed out": it names what to fix.
      expect((cause as TimeoutError).code).toBe(19);
      expect((cause as TimeoutError).message).toMatch(/NOT_ENOUGH_REPLICAS.*gave up after \d+ retries in delivery\.timeout\.ms \(3000 ms\)/);
      expect(warnings.some((w) => /retry \d+ of a produce to isr3-0 .*NOT_ENOUGH_REPLICAS/.test(w))).toBe(true);
    } finally {
      await own.close();
      await cluster.restart(follower);
    }
  });

  it("an acks=all send to a SIGSTOPped leader completes on the new leader well before request.timeout.ms", async () => {
    await cluster.createTopic("paused", 1);
    const producer = brook.producer({ valueSerializer: stringSerde });
    await producer.send({ topic: "paused", messages: [{ value: "before" }] });
    const leader = await cluster.leaderOf("paused", 0);
    const proc = cluster.nodes.get(leader)!.proc;
    proc.kill("SIGSTOP");
    try {
      const t0 = performance.now();
      const [sent] = await producer.send({ topic: "paused", messages: [{ value: "during" }] });
      const ms = performance.now() - t0;
      expect(sent!.offset).toBeGreaterThanOrEqual(1);
      // The request to the paused leader is given up when its connection stops answering
      // pings (10 + 5 s), and the retry goes to the leader the cluster elected meanwhile.
      // It used to wait out request.timeout.ms (30 s) and then try the paused broker again: 50 s.
      expect(ms).toBeLessThan(28_000);
    } finally {
      proc.kill("SIGCONT");
    }
    await until("the resumed broker back in the ISR", async () => (await brook.admin().describeTopics(["paused"]))[0]?.partitions[0]?.isr.length === 3, 60_000);
  });

  it("holds memory under buffer.memory while the cluster is down, then fails with a clear error", async () => {
    await cluster.createTopic("down", 1);
    const producer = brook.producer({
      keySerializer: stringSerde,
      valueSerializer: stringSerde,
      bufferMemory: 64 * 1024,
      batchSize: 16 * 1024,
      maxBlockMs: 3_000,
      maxRequestSize: 32 * 1024,
      deliveryTimeoutMs: 8_000,
      requestTimeoutMs: 2_000,
      lingerMs: 0,
    });
    await producer.send({ topic: "down", messages: [{ value: "warm" }] });
    for (const id of [...cluster.nodes.keys()]) await cluster.kill(id);
    const value = "v".repeat(1_000);
    const sends = Array.from({ length: 500 }, () => producer.send({ topic: "down", messages: [{ value }] }));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, producer.bufferedBytes)), 5);
    const results = await Promise.allSettled(sends);
    clearInterval(sampler);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(64 * 1024);
    const reasons = results.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"));
    expect(reasons.every((m) => m !== "ok")).toBe(true);
    expect(reasons.some((m) => /buffer\.memory|delivery\.timeout\.ms/.test(m))).toBe(true);
    expect(producer.bufferedBytes).toBe(0);
  });
});
