// A consumer group across the loss of its coordinator, on three real brook node processes:
// the node leading the group's __consumer_offsets partition is SIGKILLed while two members
// consume under steady produce. The new coordinator rebuilds the group from the records in
// __consumer_offsets, so the members keep their ids and partitions (no revocation, no
// rejoin), no record is skipped, and the commits made before the crash are kept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Brook, type Consumer, stringSerde } from "../../src/index.js";
import { TestCluster, until } from "../support/cluster.js";

describe("consumer group across a coordinator SIGKILL", () => {
  const cluster = new TestCluster();
  let brook: Brook;

  beforeAll(async () => {
    await cluster.start();
    brook = new Brook({ brokers: cluster.bootstrap(), clientId: "failover-it", retries: 30, requestTimeoutMs: 5_000 });
  }, 180_000);

  afterAll(async () => {
    await brook?.close();
    await cluster.stop();
  });

  it("keeps the members and their partitions, skips no record and keeps the commits", async () => {
    const topic = "fo";
    const P = 6;
    await cluster.createTopic(topic, P);
    const admin = brook.admin();
    await until("topic visible", () =>
      admin.describeTopics([topic]).then(
        (t) => t[0]?.partitions.length === P && t[0].partitions.every((p) => p.leader >= 0),
        () => false,
      ),
    );
    // One record per partition every 20 ms; values count up per partition.
    const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, lingerMs: 1 });
    const produced = new Array<number>(P).fill(0);
    let producing = true;
    const feeding = (async () => {
      while (producing) {
        await producer.send({ topic, messages: Array.from({ length: P }, (_, p) => ({ value: String(produced[p]), partition: p })) });
        for (let p = 0; p < P; p++) produced[p]!++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const consumed = Array.from({ length: P }, () => [] as number[]);
    const revocations: string[] = [];
    const start = (name: string): Consumer<string | null, string | null> => {
      const c = brook.consumer({
        keyDeserializer: stringSerde,
        valueDeserializer: stringSerde,
        groupId: "gfo",
        sessionTimeoutMs: 30_000,
        autoCommitIntervalMs: 200,
        maxWaitMs: 100,
      });
      c.subscribe([topic], {
        onPartitionsRevoked: (tps) => {
          if (tps.length > 0) revocations.push(`${name}: ${tps.map((tp) => tp.partition).join(",")}`);
        },
      });
      void c.run({ eachMessage: (m) => void consumed[m.partition]!.push(Number(m.value)) });
      return c;
    };
    const members = [start("a"), start("b")];
    try {
      await until("two members with 3 partitions each, all consuming", () => members.every((c) => c.assignment().length === 3) && consumed.every((l) => l.length > 0));
      // Stable, and an auto-commit of every partition landed (polled: on a busy machine a
      // replicated commit can take longer than any fixed wait).
      await until("auto-commits of every partition", async () => (await admin.groupOffsets("gfo", topic)).every((o) => o.committed > 0));
      const revokedBefore = revocations.length;
      const ids = members.map((c) => c.member.memberId);
      const owned = members.map((c) => c.assignment().map((tp) => tp.partition).sort());
      const committedBefore = new Map((await admin.groupOffsets("gfo", topic)).map((o) => [o.partition, o.committed]));
      expect([...committedBefore.values()].every((o) => o > 0)).toBe(true);
      const coordinator = (await admin.listGroups()).find((g) => g.groupId === "gfo")!.coordinator;

      await cluster.kill(coordinator);
      const producedAtKill = [...produced];
      await until(
        "another node coordinates the group",
        async () => (await admin.listGroups().catch(() => [])).some((g) => g.groupId === "gfo" && g.coordinator !== coordinator),
        60_000,
      );
      // Every partition delivers records produced after the kill.
      await until("every partition consumed past the kill", () => consumed.every((l, p) => l.length > 0 && l[l.length - 1]! > producedAtKill[p]! + 20), 60_000);
      producing = false;
      await feeding;
      await until("everything produced consumed", () => consumed.every((l, p) => new Set(l).size >= produced[p]!), 60_000);

      // Same members, same partitions, nothing revoked.
      expect(members.map((c) => c.member.memberId)).toEqual(ids);
      expect(members.map((c) => c.assignment().map((tp) => tp.partition).sort())).toEqual(owned);
      expect(revocations.slice(revokedBefore)).toEqual([]);
      // No record skipped (and none out of order) on any partition.
      for (let p = 0; p < P; p++) {
        const distinct = [...new Set(consumed[p])];
        expect(distinct, `partition ${p}`).toEqual([...Array(produced[p]).keys()]);
      }
      // Commits kept and moving on at the new coordinator.
      await Promise.all(members.map((c) => c.close())); // commits what was consumed
      const after = await admin.groupOffsets("gfo", topic);
      for (const o of after) {
        expect(o.committed).toBeGreaterThanOrEqual(committedBefore.get(o.partition)!);
        expect(o.committed).toBe(o.logEndOffset);
      }
    } finally {
      producing = false;
      await feeding.catch(() => undefined);
      await Promise.all(members.map((c) => c.close().catch(() => undefined)));
    }
  }, 240_000);
});
