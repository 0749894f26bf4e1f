// What the consumer-group benchmarks share: polling for a condition, and a topic whose every
// partition always has fresh records (one per partition every 10 ms), so "consumed again"
// can be observed within milliseconds of a partition changing owner.
import type { Brook } from "../../brook.js";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `pollMs` until it holds; past `ms`, throws naming `what` and `state()`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number, state: () => string = () => "", pollMs = 2): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`bench timed out waiting for ${what} ${state()}`);
    await sleep(pollMs);
  }
}

export interface FedTopic {
  readonly topic: string;
  /** Stops the feed and waits for its last send. */
  stop(): Promise<void>;
}

/** Creates `<prefix>-<now>` with `partitions` partitions (RF 3) and feeds it until stopped. */
export async function fedTopic(brook: Brook, prefix: string, partitions: number): Promise<FedTopic> {
  const topic = `${prefix}-${Date.now()}`;
  await brook.admin().createTopics([{ topic, numPartitions: partitions, replicationFactor: 3 }]);
  await until("topic leaders", async () => {
    const [t] = await brook.admin().describeTopics([topic]).catch(() => []);
    return t?.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0);
  }, 30_000);
  const producer = brook.producer({ lingerMs: 1 });
  let producing = true;
  const value = Buffer.alloc(100, 0x62);
  const feed = (async () => {
    while (producing) {
      await producer.send({ topic, messages: Array.from({ length: partitions }, (_, partition) => ({ value, partition })) });
      await sleep(10);
    }
  })();
  return {
    topic,
    async stop() {
      producing = false;
      await feed;
    },
  };
}
