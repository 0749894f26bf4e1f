// The suite's only contact with the SDK (@brook/client), kept to the few calls the tests
// need so that an SDK API change touches this file alone.

import * as client from "@brook/client";

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
  /** Sends one record (acks=all) and resolves with where it was acknowledged. */
  send(topic: string, key: string, value: string): Promise<Sent>;
  /** Reads every partition from the beginning in a consumer group until `done(received)` holds. */
  consumeFromStart(topic: string, groupId: string, done: (received: readonly Received[]) => boolean, timeoutMs: number): Promise<Received[]>;
  close(): Promise<void>;
}

interface BrookLike {
  admin(): { createTopics(request: { topics: { topic: string; numPartitions: number; replicationFactor: number }[] }): Promise<unknown> };
  producer(options?: Record<string, unknown>): { send(request: { topic: string; messages: { key: string; value: string }[] }): Promise<{ partition: number; offset: number | bigint | string }[]>; close?(): Promise<void> };
  consumer(options: { groupId: string; [k: string]: unknown }): {
    subscribe(request: { topics: string[]; fromBeginning?: boolean }): Promise<void>;
    run(request: { eachMessage(payload: { partition: number; message: { offset: number | bigint | string; key: Buffer | string | null; value: Buffer | string | null } }): Promise<void> }): Promise<void> | void;
    close?(): Promise<void>;
    disconnect?(): Promise<void>;
  };
  close(): Promise<void>;
}

export function connect(brokers: readonly string[]): E2eClient {
  const Brook = (client as Record<string, unknown>)["Brook"] as (new (options: { brokers: string[]; clientId: string }) => BrookLike) | undefined;
  if (typeof Brook !== "function") throw new Error("@brook/client does not export Brook yet (new Brook({ brokers, clientId })): the SDK has not landed");
  const brook = new Brook({ brokers: [...brokers], clientId: "brook-e2e" });
  const producer = brook.producer();
  const text = (v: Buffer | string | null): string | null => (v === null ? null : typeof v === "string" ? v : v.toString("utf8"));
  return {
    async createTopic(topic, partitions, replicationFactor) {
      await brook.admin().createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }] });
    },
    async send(topic, key, value) {
      const [result] = await producer.send({ topic, messages: [{ key, value }] });
      return { partition: result!.partition, offset: Number(result!.offset) };
    },
    async consumeFromStart(topic, groupId, done, timeoutMs) {
      const consumer = brook.consumer({ groupId });
      const received: Received[] = [];
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${received.length} records in ${timeoutMs / 1000}s without reaching the end condition`)), timeoutMs);
        void Promise.resolve(
          consumer.run({
            async eachMessage({ partition, message }) {
              received.push({ partition, offset: Number(message.offset), key: text(message.key), value: text(message.value) ?? "" });
              if (done(received)) {
                clearTimeout(timer);
                resolve();
              }
            },
          }),
        ).catch(reject);
      });
      await (consumer.close ?? consumer.disconnect)?.call(consumer);
      return received;
    },
    close: () => brook.close(),
  };
}
