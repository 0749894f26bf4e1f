// The client's view of the cluster: bootstrap, the metadata cache (brokers, topics,
// partition leaders), one BrokerConnection per broker, and the retry loop every call goes
// through. Contract: only retriable errors are retried, with exponential backoff and jitter,
// at most `retries` times; an error that says the metadata is stale refreshes it first.
import type { MetadataResponse, TopicMetadata } from "@brook/protocol/gen/brook/v1/broker";
import { type BackoffPolicy, backoffDelay } from "./backoff.js";
import { BrokerConnection, newRequestPool } from "./connection.js";
import { BrookError, ClosedError, ClusterUnavailableError, errorFromCode, isRetriable } from "./errors.js";
import type { Logger } from "./logger.js";

const INVALID_TOPIC_EXCEPTION = 17;

export interface ClusterOptions {
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly backoff: BackoffPolicy;
  readonly metadataMaxAgeMs: number;
  readonly logger: Logger;
  readonly random: () => number;
  readonly allowAutoTopicCreation: boolean;
}

export class Cluster {
  private readonly connections = new Map<string, BrokerConnection>();
  /** One pool of request slabs for every broker: idle memory stays bounded however many there are. */
  private readonly requestPool = newRequestPool();
  private brokers = new Map<number, string>();
  private topics = new Map<string, TopicMetadata>();
  /** Names a broker answered INVALID_TOPIC_EXCEPTION for (they never become topics). */
  private readonly invalidTopics = new Set<string>();
  /** The metadata request in flight and the topics it asks for ("all": every topic). */
  private refreshing: { readonly done: Promise<void>; readonly topics: ReadonlySet<string> | "all" } | null = null;
  private lastRefreshMs = 0;
  private closed = false;
  /** Addresses that timed out or dropped a connection lately, and until when they are tried last. */
  private readonly suspects = new Map<string, number>();
  controllerId = -1;
  clusterId = "";

  constructor(
    private readonly bootstrap: readonly { host: string; port: number }[],
    readonly options: ClusterOptions,
  ) {}

  connectionTo(address: string): BrokerConnection {
    if (this.closed) throw new ClosedError("the client is closed");
    let c = this.connections.get(address);
    if (c === undefined) {
      c = new BrokerConnection(address, this.options.clientId, this.requestPool);
      this.connections.set(address, c);
    }
    return c;
  }

  connection(nodeId: number): BrokerConnection {
    const address = this.brokers.get(nodeId);
    if (address === undefined) {
      throw new ClusterUnavailableError(`broker ${nodeId} is not in the cached metadata`, -1, true, true);
    }
    return this.connectionTo(address);
  }

  brokerIds(): number[] {
    return [...this.brokers.keys()];
  }

  topic(name: string): TopicMetadata | undefined {
    return this.topics.get(name);
  }

  /**
   * Known addresses first (live brokers), then bootstrap ones; addresses that failed lately go
   * last, and among the rest the least loaded (fewest requests unanswered) go first, as Kafka's
   * leastLoadedNode. A paused broker keeps accepting TCP connections: asked first, it held every
   * metadata refresh for a whole request timeout while the cluster had already moved its partitions.
   */
  private candidates(): string[] {
    const known = [...this.brokers.values()];
    const boot = this.bootstrap.map((b) => (b.host.includes(":") ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`));
    const all = [...new Set([...known, ...boot])];
    const now = Date.now();
    for (const [address, until] of this.suspects) if (until <= now) this.suspects.delete(address);
    const load = (a: string): number => (this.suspects.has(a) ? 1e9 : 0) + (this.connections.get(a)?.inFlight ?? 0);
    return all.map((a, i) => ({ a, i, l: load(a) })).sort((x, y) => x.l - y.l || x.i - y.i).map((x) => x.a);
  }

  /** `address` timed out or lost its connection: ask it last for the next 30 s. */
  noteUnresponsive(address: string): void {
    this.suspects.set(address, Date.now() + 30_000);
  }

  /** The address of broker `nodeId` in the cached metadata, if known. */
  addressOf(nodeId: number): string | undefined {
    return this.brokers.get(nodeId);
  }

  /**
   * Refreshes metadata for `topics` (all when empty). A caller shares the request in flight
   * when it asks for every topic the caller wants; otherwise it waits for that one and sends
   * its own (sharing it blindly made a concurrent lookup of another new topic fail as unknown).
   */
  async refresh(topics: readonly string[] = []): Promise<void> {
    for (let cur = this.refreshing; cur !== null; cur = this.refreshing) {
      const covered = cur.topics === "all" || (topics.length > 0 && topics.every((t) => (cur!.topics as ReadonlySet<string>).has(t)));
      if (covered) return cur.done;
      await cur.done.catch(() => undefined);
    }
    // With named topics, the ones already cached are refreshed too (one request for all).
    const wanted = topics.length > 0 ? new Set([...topics, ...this.topics.keys()]) : "all";
    const done: Promise<void> = this.doRefresh(wanted === "all" ? [] : [...wanted]).finally(() => {
      if (this.refreshing?.done === done) this.refreshing = null;
    });
    this.refreshing = { done, topics: wanted };
    return done;
  }

  private async doRefresh(wanted: string[]): Promise<void> {
    const res = await this.anyBroker(
      (c) =>
        c.call((b) => b.metadata, { topics: wanted, allowAutoTopicCreation: this.options.allowAutoTopicCreation }, this.options.requestTimeoutMs, "Metadata"),
      "Metadata",
    );
    this.apply(res);
  }

  private apply(res: MetadataResponse): void {
    const brokers = new Map<number, string>();
    for (const b of res.brokers) if (!b.fenced) brokers.set(b.nodeId, b.host.includes(":") ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`);
    if (brokers.size > 0) this.brokers = brokers;
    for (const t of res.topics) {
      if (t.errorCode === 0) this.topics.set(t.name, t);
      else if (t.errorCode === 3) this.topics.delete(t.name); // transient topic errors keep the old view
      else if (t.errorCode === INVALID_TOPIC_EXCEPTION) {
        if (this.invalidTopics.size >= 1_000) this.invalidTopics.clear(); // a bound, not a cache policy
        this.invalidTopics.add(t.name);
      }
    }
    this.controllerId = res.controllerId;
    this.clusterId = res.clusterId;
    this.lastRefreshMs = Date.now();
  }

  /** Cached metadata of `topic` when known and younger than metadata.max.age.ms, else undefined (no I/O). */
  freshTopicMetadata(topic: string): TopicMetadata | undefined {
    return Date.now() - this.lastRefreshMs > this.options.metadataMaxAgeMs ? undefined : this.topics.get(topic);
  }

  /** Metadata of `topic`, refreshing when unknown or older than metadata.max.age.ms. */
  async topicMetadata(topic: string): Promise<TopicMetadata> {
    let t = this.topics.get(topic);
    if (t === undefined || Date.now() - this.lastRefreshMs > this.options.metadataMaxAgeMs) {
      await this.refresh([topic]);
      t = this.topics.get(topic);
    }
    if (t === undefined) {
      // Not retriable: no amount of waiting makes "bad name" a topic.
      if (this.invalidTopics.has(topic)) throw errorFromCode(INVALID_TOPIC_EXCEPTION, `"${topic}" is not a valid topic name`, `Looking up ${topic}`);
      throw errorFromCode(3, `topic "${topic}" is unknown to the cluster`, `Looking up ${topic}`);
    }
    return t;
  }

  /** Runs `fn` against some live broker, trying each known one before giving up. */
  async anyBroker<T>(fn: (c: BrokerConnection) => Promise<T>, what: string): Promise<T> {
    let last: unknown;
    for (const address of this.candidates()) {
      try {
        return await fn(this.connectionTo(address));
      } catch (err) {
        if (!isRetriable(err)) throw err;
        if (err instanceof BrookError && err.code === -1) this.noteUnresponsive(address);
        last = err;
      }
    }
    throw new ClusterUnavailableError(
      `${what}: no broker answered (tried ${this.candidates().join(", ")}); is the cluster up?`,
      -1,
      true,
      true,
      { cause: last },
    );
  }

  /**
   * Runs `fn` with retries: retriable errors are retried up to `retries` times with backoff,
   * refreshing metadata first when the error says it is stale. `deadline` bounds the whole.
   */
  async withRetry<T>(what: string, fn: (attempt: number) => Promise<T>, deadlineMs = Infinity): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new ClosedError(`${what}: the client is closed`);
      try {
        return await fn(attempt);
      } catch (err) {
        const retriable = isRetriable(err);
        const delay = backoffDelay(this.options.backoff, attempt, this.options.random);
        if (!retriable || attempt >= this.options.retries || Date.now() + delay > deadlineMs) {
          if (retriable && err instanceof BrookError) {
            throw new (err.constructor as typeof BrookError)(`${err.message} (gave up after ${attempt + 1} attempts)`, err.code, false, err.staleMetadata, { cause: err });
          }
          throw err;
        }
        this.options.logger.debug?.({ what, attempt, err: String(err) }, "retrying");
        await sleep(delay);
        if (err instanceof BrookError && err.staleMetadata) await this.refresh().catch(() => undefined);
      }
    }
  }

  private readonly coordinators = new Map<string, string>();

  /** The connection to `groupId`'s coordinator (cached until forgotten). */
  async coordinator(groupId: string): Promise<BrokerConnection> {
    let address = this.coordinators.get(groupId);
    if (address === undefined) {
      const res = await this.anyBroker(
        (c) => c.call((b) => b.findCoordinator, { groupId }, this.options.requestTimeoutMs, "FindCoordinator"),
        "FindCoordinator",
      );
      if (res.error !== undefined && res.error.code !== 0) throw errorFromCode(res.error.code, res.error.message, `Finding the coordinator of ${groupId}`);
      address = res.host.includes(":") ? `[${res.host}]:${res.port}` : `${res.host}:${res.port}`;
      this.coordinators.set(groupId, address);
    }
    return this.connectionTo(address);
  }

  /** Drops the cached coordinator after NOT_COORDINATOR or a transport failure. */
  forgetCoordinator(groupId: string): void {
    this.coordinators.delete(groupId);
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
