// The suite's only contact with the SDK (@brook/client), kept to the few calls the tests
// need so that an SDK API change touches this file alone.

import { Brook, stringSerde, type Producer } from "@brook/client";

export interface Sent {
  readonly partition: number;
  readonly offset: number;
}

export interface Received {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
}

export interface E2eClient {
  createTopic(topic: string, partitions: number, replicationFactor: number): Promise<void>;
  /** Sends one record (acks=all, idempotent) and resolves with where it was acknowledged. */
  send(topic: string, key: string, value: string): Promise<Sent>;
  /** Reads every partition from the beginning until `done(received)` holds (group id reserved for group reads). */
  consumeFromStart(topic: string, groupId: string, done: (received: readonly Received[]) => boolean, timeoutMs: number): Promise<Received[]>;
  close(): Promise<void>;
}

export function connect(brokers: readonly string[]): E2eClient {
  const brook = new Brook({ brokers, clientId: "brook-e2e", requestTimeoutMs: 10_000 });
  let producer: Producer<string | null, string | null> | undefined;
  return {
    async createTopic(topic, partitions, replicationFactor) {
      await brook.admin().createTopics([{ topic, numPartitions: partitions, replicationFactor }]);
    },
    async send(topic, key, value) {
      producer ??= brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, acks: "all", requestTimeoutMs: 10_000, deliveryTimeoutMs: 30_000 });
      const [at] = await producer.send({ topic, messages: [{ key, value }] });
      return { partition: at!.partition, offset: at!.offset };
    },
    async consumeFromStart(topic, _groupId, done, timeoutMs) {
      // A standalone consumer over every partition: the checker needs each partition read
      // from its start, independent of group assignment.
      const partitions = (await brook.admin().describeTopics([topic]))[0]!.partitions.map((p) => p.partition);
      const consumer = brook.consumer({ autoOffsetReset: "earliest", keyDeserializer: stringSerde, valueDeserializer: stringSerde });
      await consumer.assign(partitions.map((partition) => ({ topic, partition })));
      const received: Received[] = [];
      const timer = setTimeout(() => void consumer.close(), timeoutMs);
      try {
        for await (const m of consumer) {
          received.push({ partition: m.partition, offset: m.offset, key: m.key, value: m.value ?? "" });
          if (done(received)) break;
        }
        if (!done(received)) throw new Error(`consumed ${received.length} records in ${timeoutMs / 1000}s without reaching the end condition`);
      } finally {
        clearTimeout(timer);
        await consumer.close();
      }
      return received;
    },
    close: () => brook.close(),
  };
}
