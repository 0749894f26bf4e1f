// The ClusterClient over the SDK (@brook/client): one Brook instance per command, an admin
// client for metadata and groups, a producer per acks level, and a consumer per consume.

import { Brook, ClusterUnavailableError, SendError, stringSerde, type Consumer, type Logger, type Producer } from "@brook/client";
import { ClusterUnreachableError, type ClusterClient, type ConsumeOptions, type InRecord, type StartAt } from "./cluster-client.js";

export function connectCluster(bootstrap: readonly string[], clientId: string): ClusterClient {
  if (bootstrap.length === 0) throw new ClusterUnreachableError([], ["no bootstrap address given"]);
  const brook = new Brook({ brokers: bootstrap, clientId, logger: stderrLogger });
  const admin = brook.admin();
  const producers = new Map<number, Producer<string | null, string | null>>();
  // Every SDK call goes through here so "nobody answered" becomes the CLI's error that names
  // the addresses tried (the SDK's message already lists them).
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ClusterUnavailableError) throw new ClusterUnreachableError(bootstrap, [error.message]);
      // A send that failed only because no broker answered says the same, not "1 of 1 records failed".
      const unreachable = error instanceof SendError ? error.results.find((r) => r instanceof ClusterUnavailableError) : undefined;
      if (unreachable !== undefined) throw new ClusterUnreachableError(bootstrap, [unreachable.message]);
      throw error;
    }
  };
  // A time with no record after it in some partition starts that partition at its end.
  const offsetsAt = (topic: string, to: StartAt): Promise<Map<number, number>> =>
    to.kind === "timestamp" ? admin.offsetsForTime(topic, to.timestampMs) : admin.listOffsets(topic, to.kind === "earliest" ? -2 : -1);

  const client: ClusterClient = {
    listTopics: (includeInternal) =>
      call(async () => {
        const names = await admin.listTopics();
        const described = names.length === 0 ? [] : await admin.describeTopics(names);
        return described
          .filter((t) => includeInternal || !t.internal)
          .map((t) => ({ name: t.name, partitions: t.partitions.length, replicationFactor: t.partitions[0]?.replicas.length ?? 0, internal: t.internal }));
      }),
    describeTopics: (names) =>
      call(async () => {
        const described = await admin.describeTopics(names);
        return Promise.all(
          described.map(async (t) => {
            const entries = await admin.describeConfigEntries(t.name);
            return {
              name: t.name,
              partitions: t.partitions.length,
              replicationFactor: t.partitions[0]?.replicas.length ?? 0,
              internal: t.internal,
              configs: Object.fromEntries(entries.map((e) => [e.name, e.value])),
              overrides: entries.filter((e) => !e.isDefault).map((e) => e.name),
              partitionDetails: [...t.partitions].sort((a, b) => a.partition - b.partition).map((p) => ({ partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr })),
            };
          }),
        );
      }),
    createTopic: (name, o) =>
      call(() => admin.createTopics([{ topic: name, ...(o.partitions ? { numPartitions: o.partitions } : {}), ...(o.replicationFactor ? { replicationFactor: o.replicationFactor } : {}), configs: o.configs }])),
    deleteTopics: (names) => call(() => admin.deleteTopics(names)),
    alterTopic: (name, o) =>
      call(async () => {
        if (o.partitions !== undefined) await admin.createPartitions(name, o.partitions);
        if (Object.keys(o.configs).length > 0) await admin.alterConfigs(name, o.configs);
      }),
    produce: (topic, records, acks) =>
      call(async () => {
        let producer = producers.get(acks);
        if (producer === undefined) {
          producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, acks, idempotent: acks === -1 });
          producers.set(acks, producer);
        }
        const sent = await producer.send({ topic, messages: records.map((r) => ({ key: r.key ?? null, value: r.value, ...(r.headers ? { headers: r.headers } : {}), ...(r.partition !== undefined ? { partition: r.partition } : {}) })) });
        return sent.map((m) => ({ partition: m.partition, offset: m.offset }));
      }),
    consume: (options) => consumeRecords(brook, admin, options, offsetsAt, call),
    listGroups: () =>
      call(async () => {
        const groups = await admin.listGroups();
        return Promise.all(groups.map(async (g) => ({ groupId: g.groupId, state: g.state, members: (await admin.describeGroup(g.groupId).catch(() => undefined))?.members.length ?? 0 })));
      }),
    describeGroups: (ids) =>
      call(() =>
        Promise.all(
          ids.map(async (id) => {
            const g = await admin.describeGroup(id);
            const memberTopics = new Set(g.members.flatMap((m) => [...m.subscribedTopicNames, ...m.assignment.map((a) => a.topic)]));
            // An empty group (its consumers stopped) still has commits, as kafka-consumer-groups
            // shows: look at every topic then, keeping those with a committed offset.
            // A subscription may name a topic deleted since: it has no offsets to show.
            const existing = await admin.listTopics();
            const topics = memberTopics.size > 0 ? existing.filter((t) => memberTopics.has(t)) : existing.filter((t) => !t.startsWith("__"));
            const perTopic = await Promise.all(topics.map(async (topic) => (await admin.groupOffsets(id, topic)).map((o) => ({ topic, partition: o.partition, committed: o.committed, logEnd: o.logEndOffset, lag: o.lag }))));
            const offsets = perTopic.filter((os) => memberTopics.size > 0 || os.some((o) => o.committed >= 0)).flat();
            return {
              groupId: g.groupId,
              state: g.state,
              members: g.members.length,
              epoch: g.groupEpoch,
              memberDetails: g.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignment: m.assignment.flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition }))) })),
              offsets,
            };
          }),
        ),
      ),
    deleteGroups: (ids) => call(async () => void (await Promise.all(ids.map((id) => admin.deleteGroup(id))))),
    resetOffsets: (groupId, topic, to, dryRun) =>
      call(async () => {
        const targets = to.kind === "offset" ? new Map((await admin.describeTopics([topic]))[0]!.partitions.map((p) => [p.partition, to.offset] as const)) : await offsetsAt(topic, to);
        const plan = [...targets].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ topic, partition, offset }));
        if (!dryRun) {
          const consumer = brook.consumer({ groupId, keyDeserializer: stringSerde, valueDeserializer: stringSerde });
          try {
            await consumer.commit(plan);
          } finally {
            await consumer.close();
          }
        }
        return plan;
      }),
    describeCluster: () =>
      call(async () => {
        const d = await admin.describeCluster();
        return {
          clusterId: d.clusterId,
          controllerId: d.controllerId,
          quorum: {
            leaderId: d.controllerId,
            term: d.leaderEpoch,
            voters: d.voters.map((v) => ({ id: v.nodeId, logEndOffset: v.logEndOffset, caughtUpMsAgo: v.lastCaughtUpMsAgo })),
            observers: d.observers.map((v) => ({ id: v.nodeId, logEndOffset: v.logEndOffset, caughtUpMsAgo: v.lastCaughtUpMsAgo })),
          },
          brokers: d.brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port, ...(b.rack ? { rack: b.rack } : {}), fenced: b.fenced })),
          underReplicatedPartitions: d.underReplicatedPartitions,
          offlinePartitions: d.offlinePartitions,
        };
      }),
    close: () => brook.close(),
  };
  return client;
}

/**
 * The SDK's warnings and errors on stderr, in words: a produce that keeps retrying
 * NOT_ENOUGH_REPLICAS, or a consumer reset to another offset, says so while it happens
 * instead of looking like a hang. Info and debug stay quiet; stdout carries only records.
 */
const stderrLogger: Logger = {
  info: () => {},
  warn: (fields, msg) => void process.stderr.write(`brook: warning: ${msg}${describeFields(fields, msg)}\n`),
  error: (fields, msg) => void process.stderr.write(`brook: error: ${msg}${describeFields(fields, msg)}\n`),
};

/** The fields the message does not already say, as "(k=v, ...)". */
function describeFields(fields: object, msg: string): string {
  const parts = Object.entries(fields)
    .map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as const)
    .filter(([, v]) => !msg.includes(v))
    .map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? "" : ` (${parts.join(", ")})`;
}

async function* consumeRecords(
  brook: Brook,
  admin: ReturnType<Brook["admin"]>,
  o: ConsumeOptions,
  offsetsAt: (topic: string, to: StartAt) => Promise<Map<number, number>>,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
): AsyncGenerator<InRecord> {
  const ends = o.toEnd ? await call(() => offsetsAt(o.topic, { kind: "latest" })) : undefined;
  const reset = o.startAt.kind === "earliest" ? "earliest" : o.startAt.kind === "timestamp" ? { timestamp: o.startAt.timestampMs } : "latest";
  const consumer: Consumer<string | null, string | null> = brook.consumer({ ...(o.groupId ? { groupId: o.groupId } : {}), autoOffsetReset: reset, keyDeserializer: stringSerde, valueDeserializer: stringSerde });
  const onAbort = (): void => void consumer.close();
  o.signal.addEventListener("abort", onAbort);
  try {
    const partitions = o.partition !== undefined ? [o.partition] : (await call(() => admin.describeTopics([o.topic])))[0]!.partitions.map((p) => p.partition);
    const remaining = new Set(partitions.filter((p) => ends === undefined || (ends.get(p) ?? 0) > 0));
    if (o.groupId && o.partition === undefined) {
      consumer.subscribe([o.topic]);
    } else {
      await consumer.assign(partitions.map((partition) => ({ topic: o.topic, partition })));
      const starts = o.startAt.kind === "offset" ? new Map(partitions.map((p) => [p, (o.startAt as { offset: number }).offset] as const)) : await call(() => offsetsAt(o.topic, o.startAt));
      for (const p of partitions) consumer.seek(o.topic, p, starts.get(p) ?? 0);
      // Partitions already at their end have nothing to wait for.
      for (const p of partitions) if (ends !== undefined && (starts.get(p) ?? 0) >= (ends.get(p) ?? 0)) remaining.delete(p);
    }
    if (ends !== undefined && remaining.size === 0) return;
    for await (const m of consumer) {
      yield { topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value, headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v === null ? "" : v.toString("utf8")])) };
      if (ends !== undefined && m.offset + 1 >= (ends.get(m.partition) ?? 0)) {
        remaining.delete(m.partition);
        if (remaining.size === 0) break;
      }
    }
    if (o.groupId) await consumer.commit().catch(() => {});
  } finally {
    o.signal.removeEventListener("abort", onAbort);
    await consumer.close();
  }
}
