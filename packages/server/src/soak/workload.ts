// The soak's workload through the real SDK (@brook/client, built dist): N idempotent acks=all
// producers, each with its own client (its own producer id and connections), keeping many
// sends in flight, keyed records whose values are unique (`p<producer>-<seq>`); every
// acknowledged record is recorded with its partition, offset, producer and per-producer seq,
// the history that history.ts judges. And the final read-back: every partition from offset 0
// to its end offset, in the order each partition delivered it.
//
// Contract: `start()` once; `stop()` stops issuing sends and resolves when every send in
// flight has settled (acknowledged or failed) and the clients are closed.
import { Brook, stringSerde, type Producer } from "@brook/client";
import type { AckedRecord, ReadRecord } from "./history.js";

export interface WorkloadOptions {
  readonly bootstrap: readonly string[];
  readonly topic: string;
  readonly producers: number;
  /** Sends in flight per producer. */
  readonly inflight: number;
  /** Records per second over all producers (0: as fast as the window allows). */
  readonly rate: number;
}

export interface ErrorTally {
  readonly count: number;
  /** Count per error class name. */
  readonly byKind: ReadonlyMap<string, number>;
  /** The first few messages, for the report. */
  readonly samples: readonly string[];
}

class ProducerLoop {
  readonly #brook: Brook;
  readonly #producer: Producer<string | null, string | null>;
  readonly #name: string;
  #seq = 0;
  #inflight = 0;
  #stopping = false;
  #wake: (() => void) | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(
    index: number,
    private readonly opts: WorkloadOptions,
    private readonly sink: Workload,
  ) {
    this.#name = `p${index}`;
    this.#brook = new Brook({ brokers: [...opts.bootstrap], clientId: `brook-soak-${this.#name}` });
    this.#producer = this.#brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, acks: "all", idempotent: true });
  }

  start(): void {
    this.#done = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#done;
    await this.#brook.close().catch(() => {});
  }

  async #loop(): Promise<void> {
    const perProducerRate = this.opts.rate / this.opts.producers;
    const started = Date.now();
    while (!this.#stopping) {
      if (this.#inflight >= this.opts.inflight) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      if (perProducerRate > 0) {
        const dueMs = started + (this.#seq * 1000) / perProducerRate - Date.now();
        if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, dueMs));
        if (this.#stopping) break;
      }
      const seq = this.#seq++;
      const value = `${this.#name}-${seq}`;
      const key = `k${(seq * 7919) % 1000}`;
      this.#inflight++;
      this.#producer.send({ topic: this.opts.topic, messages: [{ key, value }] }).then(
        ([at]) => {
          if (at !== undefined) this.sink.onAck({ partition: at.partition, offset: at.offset, value, producer: this.#name, seq });
          this.#settled();
        },
        (error: unknown) => {
          this.sink.onError(error);
          this.#settled();
        },
      );
    }
    while (this.#inflight > 0) await new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #settled(): void {
    this.#inflight--;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

export class Workload {
  readonly acked: AckedRecord[] = [];
  #errors = 0;
  readonly #errorKinds = new Map<string, number>();
  readonly #errorSamples: string[] = [];
  readonly #loops: ProducerLoop[];

  constructor(readonly opts: WorkloadOptions) {
    this.#loops = Array.from({ length: opts.producers }, (_, i) => new ProducerLoop(i, opts, this));
  }

  start(): void {
    for (const loop of this.#loops) loop.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#loops.map((loop) => loop.stop()));
  }

  onAck(record: AckedRecord): void {
    this.acked.push(record);
  }

  onError(error: unknown): void {
    this.#errors++;
    const kind = error instanceof Error ? error.name : typeof error;
    this.#errorKinds.set(kind, (this.#errorKinds.get(kind) ?? 0) + 1);
    if (this.#errorSamples.length < 5) this.#errorSamples.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  }

  get errors(): ErrorTally {
    return { count: this.#errors, byKind: this.#errorKinds, samples: this.#errorSamples };
  }
}

export interface ReadBack {
  readonly records: ReadRecord[];
  /** End offset (high watermark) per partition when the read began. */
  readonly endOffsets: ReadonlyMap<number, number>;
}

/**
 * Reads every partition of `topic` from offset 0 to the end offset it had when the read
 * began. Records come back grouped by partition, each partition in delivery order (not
 * sorted: the checker must see any reordering). `onProgress` is called every few seconds.
 */
export async function readBack(bootstrap: readonly string[], topic: string, timeoutMs: number, onProgress: (read: number, total: number) => void): Promise<ReadBack> {
  const brook = new Brook({ brokers: [...bootstrap], clientId: "brook-soak-reader" });
  try {
    const admin = brook.admin();
    const partitions = (await admin.describeTopics([topic]))[0]!.partitions.map((p) => p.partition);
    const endOffsets = await admin.listOffsets(topic, -1);
    const total = [...endOffsets.values()].reduce((a, b) => a + b, 0);
    const byPartition = new Map<number, ReadRecord[]>(partitions.map((p) => [p, []]));
    const next = new Map<number, number>(partitions.map((p) => [p, 0]));
    const finished = (): boolean => partitions.every((p) => next.get(p)! >= (endOffsets.get(p) ?? 0));
    let read = 0;
    if (!finished()) {
      const consumer = brook.consumer({ autoOffsetReset: "earliest", keyDeserializer: stringSerde, valueDeserializer: stringSerde });
      await consumer.assign(partitions.map((partition) => ({ topic, partition })));
      for (const p of partitions) consumer.seek(topic, p, 0);
      const deadline = Date.now() + timeoutMs;
      const timer = setTimeout(() => void consumer.close(), timeoutMs);
      const progress = setInterval(() => onProgress(read, total), 5_000);
      try {
        for await (const m of consumer) {
          if (m.offset < (endOffsets.get(m.partition) ?? 0)) {
            byPartition.get(m.partition)?.push({ partition: m.partition, offset: m.offset, value: m.value ?? "" });
            read++;
          }
          next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
          if (finished()) break;
        }
      } finally {
        clearTimeout(timer);
        clearInterval(progress);
        await consumer.close().catch(() => {});
      }
      if (!finished()) {
        const behind = partitions.filter((p) => next.get(p)! < (endOffsets.get(p) ?? 0)).map((p) => `${p} at ${next.get(p)} of ${endOffsets.get(p)}`);
        throw new Error(`read-back incomplete after ${Math.round((timeoutMs - Math.max(0, deadline - Date.now())) / 1000)}s: partitions ${behind.join(", ")}`);
      }
    }
    return { records: partitions.flatMap((p) => byPartition.get(p)!), endOffsets };
  } finally {
    await brook.close().catch(() => {});
  }
}
