import { describe, expect, it } from "vitest";
import { backoffDelay } from "../src/backoff.js";
import { Brook } from "../src/brook.js";
import {
  ClusterUnavailableError,
  ConfigError,
  errorFromCode,
  errorName,
  GroupMembershipError,
  NotLeaderError,
  RecordTooLargeError,
  UnknownTopicError,
} from "../src/errors.js";
import { producerSettings } from "../src/producer/producer.js";
import { bytesSerde, jsonSerde } from "../src/serde.js";

describe("backoff", () => {
  it("grows exponentially, is capped, and is jittered by the injected random", () => {
    const p = { initialMs: 100, maxMs: 1_000 };
    expect(backoffDelay(p, 0, () => 1)).toBe(100);
    expect(backoffDelay(p, 3, () => 1)).toBe(800);
    expect(backoffDelay(p, 10, () => 1)).toBe(1_000);
    expect(backoffDelay(p, 10, () => 0)).toBe(50);
    expect(backoffDelay(p, 2, () => 0.5)).toBe(225);
  });
});

describe("errors", () => {
  it("maps broker codes to classes that say whether a retry helps", () => {
    const e = errorFromCode(6, "leader is 2", "Produce to t-0");
    expect(e).toBeInstanceOf(NotLeaderError);
    expect(e.retriable).toBe(true);
    expect(e.staleMetadata).toBe(true);
    expect(e.code).toBe(6);
    expect(e.message).toContain("NOT_LEADER_OR_FOLLOWER");
    const big = errorFromCode(10, "", "Produce");
    expect(big).toBeInstanceOf(RecordTooLargeError);
    expect(big.retriable).toBe(false);
    expect(errorFromCode(3, "", "x")).toBeInstanceOf(UnknownTopicError);
    expect(errorFromCode(110, "", "x")).toBeInstanceOf(GroupMembershipError);
    expect(errorFromCode(9999, "odd", "x").message).toContain("9999");
    const config = errorFromCode(40, 'unknown config "nope"', "Altering configs of t");
    expect(config).toBeInstanceOf(ConfigError);
    expect(config.message).toBe('Altering configs of t failed with INVALID_CONFIG: unknown config "nope" (the config key or value is not accepted; the message names what is allowed)');
    // A code the SDK has no class for is still named, from the protocol's table.
    const policy = errorFromCode(44, "", "Creating topic t");
    expect(policy.message).toBe("Creating topic t failed with POLICY_VIOLATION");
    expect(errorName(44)).toBe("POLICY_VIOLATION");
  });
});

describe("config validation", () => {
  const base = { keySerializer: bytesSerde, valueSerializer: bytesSerde };
  it("rejects bad producer configs naming the key and allowed range", () => {
    expect(() => producerSettings({ ...base, lingerMs: -1 })).toThrow(/linger\.ms must be an integer in \[0, 60000\]/);
    expect(() => producerSettings({ ...base, batchSize: 0 })).toThrow(/batch\.size/);
    expect(() => producerSettings({ ...base, acks: 2 as never })).toThrow(/acks must be one of 0, 1, -1/);
    expect(() => producerSettings({ ...base, idempotent: true, acks: 1 })).toThrow(ConfigError);
    expect(() => producerSettings({ ...base, maxInFlight: 6 })).toThrow(/max\.in\.flight.*\[1, 5\]/);
    expect(() => producerSettings({ ...base, compression: "brotli" as never })).toThrow(/compression\.type/);
    expect(() => producerSettings({ ...base, deliveryTimeoutMs: 10 })).toThrow(/delivery\.timeout\.ms/);
  });

  it("defaults to idempotent acks=all, and turns idempotence off for acks=1", () => {
    expect(producerSettings(base)).toMatchObject({ acks: -1, idempotent: true, maxInFlight: 5 });
    expect(producerSettings({ ...base, acks: 1 })).toMatchObject({ acks: 1, idempotent: false });
  });

  it("rejects bad client options at construction", () => {
    expect(() => new Brook({ brokers: [] })).toThrow(/brokers must be a non-empty list/);
    expect(() => new Brook({ brokers: ["nohost"] })).toThrow(/host:port/);
    expect(() => new Brook({ brokers: ["h:99999"] })).toThrow(/port 1-65535/);
    expect(() => new Brook({ brokers: ["h:1"], clientId: "bad id" })).toThrow(/clientId/);
    expect(() => new Brook({ brokers: ["h:1"], requestTimeoutMs: 5 })).toThrow(/request\.timeout\.ms/);
    const b = new Brook({ brokers: ["h:1"] });
    expect(() => b.consumer({ autoOffsetReset: "middle" as never })).toThrow(/auto\.offset\.reset/);
    expect(() => b.consumer({ sessionTimeoutMs: 10 })).toThrow(/session\.timeout\.ms/);
    // A serde factory passed uncalled (plain JavaScript): refused at construction, with the fix.
    expect(() => b.producer({ valueSerializer: jsonSerde as never })).toThrow(/valueSerializer must be an object with a serialize\(\) method.*call it: jsonSerde\(\)/);
    expect(() => b.consumer({ keyDeserializer: {} as never })).toThrow(/keyDeserializer must be an object with a deserialize\(\) method, got object/);
    expect(b.producer({ valueSerializer: jsonSerde<{ a: number }>() })).toBeDefined();
    void b.close();
  });
});

describe("a cluster that is down", () => {
  it("fails sends after bounded retries with a clear error; serializer failures are per record", async () => {
    // Port 4501 is in this package's reserved range and nothing listens there.
    const brook = new Brook({ brokers: ["127.0.0.1:4501"], retries: 1, retryBackoffMs: 10, requestTimeoutMs: 2_000 });
    const producer = brook.producer({
      keySerializer: bytesSerde,
      valueSerializer: {
        serialize: (v: string) => {
          if (v === "bad") throw new Error("cannot encode");
          return Buffer.from(v);
        },
      },
    });
    const err = await producer.send({ topic: "t", messages: [{ value: "bad" }, { value: "good" }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "SendError" });
    const results = (err as { results: unknown[] }).results;
    expect((results[0] as Error).name).toBe("SerializationError");
    expect(results[1]).toBeInstanceOf(ClusterUnavailableError);
    expect((results[1] as Error).message).toMatch(/no broker answered.*127\.0\.0\.1:4501/);
    expect(producer.bufferedBytes).toBe(0);
    await brook.close();
  });

  it("rejects an oversized record before sending, naming the limit", async () => {
    const brook = new Brook({ brokers: ["127.0.0.1:4501"], retries: 0 });
    const producer = brook.producer({ maxRequestSize: 2048 });
    const err = await producer.send({ topic: "t", messages: [{ value: Buffer.alloc(4096) }] }).catch((e: unknown) => e);
    const first = (err as { results: Error[] }).results[0]!;
    expect(first).toBeInstanceOf(RecordTooLargeError);
    expect(first.message).toContain("max.request.size (2048 bytes)");
    await brook.close();
  });
});
