// The SDK entry point: `new Brook({ brokers, clientId, logger })` holds the cluster view and
// connections, and creates producers, consumers and the admin client that share them.
// `close()` flushes every producer, stops every consumer and releases every connection.
import { Admin } from "./admin.js";
import { DEFAULT_BACKOFF } from "./backoff.js";
import { Cluster } from "./cluster.js";
import { intInRange, parseBrokers, serdeOption } from "./config.js";
import { Consumer, type ConsumerConfig } from "./consumer/consumer.js";
import { ClosedError, ConfigError } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";
import { Producer, type ProducerConfig } from "./producer/producer.js";
import { bytesSerde, type Deserializer, type Serializer } from "./serde.js";

export interface BrookOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly logger?: Logger;
  readonly requestTimeoutMs?: number;
  /** Retries of retriable failures per call (metadata, admin, group calls). */
  readonly retries?: number;
  readonly retryBackoffMs?: number;
  readonly retryBackoffMaxMs?: number;
  readonly metadataMaxAgeMs?: number;
  readonly allowAutoTopicCreation?: boolean;
}

type WithoutSerde<C> = Omit<C, "keySerializer" | "valueSerializer" | "keyDeserializer" | "valueDeserializer">;

export class Brook {
  private readonly cluster: Cluster;
  private readonly producers = new Set<Producer<never, never>>();
  private readonly consumers = new Set<Consumer<never, never>>();
  private closed = false;

  constructor(options: BrookOptions) {
    if (typeof options !== "object" || options === null) throw new ConfigError("Brook options must be an object with brokers");
    const bootstrap = parseBrokers(options.brokers);
    const clientId = options.clientId ?? "brook-client";
    if (!/^[\w.-]{1,255}$/.test(clientId)) throw new ConfigError(`clientId must be 1-255 of [A-Za-z0-9._-], got "${clientId}"`);
    const initialMs = intInRange("retry.backoff.ms", options.retryBackoffMs, 100, 1, 60_000);
    this.cluster = new Cluster(bootstrap, {
      clientId,
      requestTimeoutMs: intInRange("request.timeout.ms", options.requestTimeoutMs, 30_000, 100, 2 ** 31 - 1),
      retries: intInRange("retries", options.retries, 8, 0, 1_000),
      backoff: { initialMs, maxMs: intInRange("retry.backoff.max.ms", options.retryBackoffMaxMs, Math.max(initialMs, DEFAULT_BACKOFF.maxMs), initialMs, 600_000) },
      metadataMaxAgeMs: intInRange("metadata.max.age.ms", options.metadataMaxAgeMs, 300_000, 0, 2 ** 31 - 1),
      logger: options.logger ?? silentLogger,
      random: Math.random,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw new ClosedError("this Brook client is closed");
  }

  /** A producer of Buffer keys and values. */
  producer(opts?: WithoutSerde<ProducerConfig<Buffer | null, Buffer | null>>): Producer<Buffer | null, Buffer | null>;
  /** A producer with a typed value serializer; keys stay Buffers. */
  producer<V>(opts: WithoutSerde<ProducerConfig<Buffer | null, V>> & { readonly valueSerializer: Serializer<V>; readonly keySerializer?: undefined }): Producer<Buffer | null, V>;
  /** A producer with a typed key serializer; values stay Buffers. */
  producer<K>(opts: WithoutSerde<ProducerConfig<K, Buffer | null>> & { readonly keySerializer: Serializer<K>; readonly valueSerializer?: undefined }): Producer<K, Buffer | null>;
  /** A producer with typed serializers. */
  producer<K, V>(opts: ProducerConfig<K, V>): Producer<K, V>;
  producer(opts: WithoutSerde<Partial<ProducerConfig<unknown, unknown>>> & { readonly keySerializer?: Serializer<unknown> | undefined; readonly valueSerializer?: Serializer<unknown> | undefined } = {}): Producer<unknown, unknown> {
    this.ensureOpen();
    const p = new Producer<unknown, unknown>(this.cluster, {
      ...opts,
      keySerializer: serdeOption("keySerializer", opts.keySerializer, "serialize") ?? (bytesSerde as Serializer<unknown>),
      valueSerializer: serdeOption("valueSerializer", opts.valueSerializer, "serialize") ?? (bytesSerde as Serializer<unknown>),
    });
    this.producers.add(p as Producer<never, never>);
    return p;
  }

  /** A consumer; with `groupId` it joins that group, without it use assign(). */
  consumer(opts?: WithoutSerde<ConsumerConfig<Buffer | null, Buffer | null>>): Consumer<Buffer | null, Buffer | null>;
  /** A consumer with a typed value deserializer; keys stay Buffers. */
  consumer<V>(opts: WithoutSerde<ConsumerConfig<Buffer | null, V>> & { readonly valueDeserializer: Deserializer<V>; readonly keyDeserializer?: undefined }): Consumer<Buffer | null, V>;
  /** A consumer with a typed key deserializer; values stay Buffers. */
  consumer<K>(opts: WithoutSerde<ConsumerConfig<K, Buffer | null>> & { readonly keyDeserializer: Deserializer<K>; readonly valueDeserializer?: undefined }): Consumer<K, Buffer | null>;
  consumer<K, V>(opts: ConsumerConfig<K, V>): Consumer<K, V>;
  consumer(opts: WithoutSerde<Partial<ConsumerConfig<unknown, unknown>>> & { readonly keyDeserializer?: Deserializer<unknown> | undefined; readonly valueDeserializer?: Deserializer<unknown> | undefined } = {}): Consumer<unknown, unknown> {
    this.ensureOpen();
    const c = new Consumer<unknown, unknown>(this.cluster, {
      ...opts,
      keyDeserializer: serdeOption("keyDeserializer", opts.keyDeserializer, "deserialize") ?? (bytesSerde as Deserializer<unknown>),
      valueDeserializer: serdeOption("valueDeserializer", opts.valueDeserializer, "deserialize") ?? (bytesSerde as Deserializer<unknown>),
    });
    this.consumers.add(c as Consumer<never, never>);
    return c;
  }

  admin(): Admin {
    this.ensureOpen();
    return new Admin(this.cluster);
  }

  /** Flushes producers, stops consumers (leaving their groups), closes every connection. */
  /** Flushes producers, closes consumers (final commits, leaving their groups), then the connections; every caller waits for all of it. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await Promise.allSettled([...this.producers].map((p) => p.close()));
      await Promise.allSettled([...this.consumers].map((c) => c.close()));
      this.cluster.close();
    })();
    return this.closing;
  }

  private closing: Promise<void> | null = null;
}
