// The command tree end to end against a fake of the CLI's own ClusterClient seam: argument
// parsing, --json output and error paths. The SDK adapter is exercised by the e2e suite.
import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ClusterUnreachableError, type ClusterClient, type OutRecord } from "../src/cluster/cluster-client.js";
import { buildProgram, UsageError, type CliDeps } from "../src/program.js";

function harness(client: Partial<ClusterClient>, stdinText = "") {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const connected: string[][] = [];
  const deps: CliDeps = {
    connect: (bootstrap) => {
      connected.push([...bootstrap]);
      return { close: async () => {}, ...client } as ClusterClient;
    },
    stdout,
    stderr,
    stdin: Readable.from([stdinText]),
    env: {},
    nowMs: () => 0,
    monotonicMs: () => 0,
  };
  const run = (...args: string[]) => buildProgram(deps).parseAsync(["node", "brook", ...args]);
  return { run, out: () => out, err: () => err, connected };
}

describe("brook CLI", () => {
  it("lists topics as a table or JSON, using the bootstrap given", async () => {
    const h = harness({ listTopics: async () => [{ name: "b", partitions: 3, replicationFactor: 3, internal: false }, { name: "a", partitions: 1, replicationFactor: 1, internal: false }] });
    await h.run("-b", "h1:1,h2:2", "topics", "list");
    expect(h.connected).toEqual([["h1:1", "h2:2"]]);
    expect(h.out()).toBe("TOPIC  PARTITIONS  RF\na               1   1\nb               3   3\n");
    const j = harness({ listTopics: async () => [{ name: "a", partitions: 1, replicationFactor: 1, internal: false }] });
    await j.run("topics", "list", "--json");
    expect(JSON.parse(j.out())).toEqual([{ name: "a", partitions: 1, replicationFactor: 1, internal: false }]);
    expect(j.connected).toEqual([["127.0.0.1:19092", "127.0.0.1:29092", "127.0.0.1:39092"]]);
  });

  it("creates a topic with partitions, replication factor and configs", async () => {
    const calls: unknown[] = [];
    const h = harness({ createTopic: async (...args) => void calls.push(args) });
    await h.run("topics", "create", "orders", "-p", "6", "-r", "3", "-c", "retention.ms=1000", "-c", "min.insync.replicas=2");
    expect(calls).toEqual([["orders", { partitions: 6, replicationFactor: 3, configs: { "retention.ms": "1000", "min.insync.replicas": "2" } }]]);
    await expect(h.run("topics", "create", "x", "-c", "bad")).rejects.toThrow(UsageError);
  });

  it("alters a topic: sets configs, deletes overrides back to the default, refuses both on one key", async () => {
    const calls: unknown[] = [];
    const h = harness({ alterTopic: async (...args) => void calls.push(args) });
    await h.run("topics", "alter", "orders", "-c", "retention.ms=1000", "--delete-config", "segment.ms", "--delete-config", "max.message.bytes");
    expect(calls).toEqual([["orders", { configs: { "retention.ms": "1000", "segment.ms": null, "max.message.bytes": null } }]]);
    await expect(h.run("topics", "alter", "orders", "-c", "retention.ms=1", "--delete-config", "retention.ms")).rejects.toThrow(/both set.*and deleted/);
    await expect(h.run("topics", "alter", "orders")).rejects.toThrow(/--delete-config/);
  });

  it("produces stdin lines as key/value records in batches", async () => {
    const sent: OutRecord[][] = [];
    const h = harness({ produce: async (_t, records) => (sent.push([...records]), records.map((_, i) => ({ partition: 0, offset: i }))) }, "k1=v1\nk2=v2\n\nk3=v3\n");
    await h.run("produce", "t", "-k", "=", "--batch", "2", "-H", "src=cli");
    expect(sent).toEqual([
      [{ key: "k1", value: "v1", headers: { src: "cli" } }, { key: "k2", value: "v2", headers: { src: "cli" } }],
      [{ key: "k3", value: "v3", headers: { src: "cli" } }],
    ]);
    expect(h.err()).toBe("produced 3 record(s) to t\n");
  });

  it("consumes to the end in JSON", async () => {
    const h = harness({
      consume: async function* (o) {
        expect(o).toMatchObject({ topic: "t", groupId: "g", startAt: { kind: "earliest" }, toEnd: true });
        yield { topic: "t", partition: 0, offset: 0, timestamp: 0, key: null, value: "v", headers: {} };
      },
    });
    await h.run("consume", "t", "-g", "g", "--from-beginning", "--to-end", "--format", "json");
    expect(JSON.parse(h.out())).toMatchObject({ partition: 0, offset: 0, value: "v" });
  });

  it("rejects unknown commands and bad numbers as usage errors", async () => {
    const h = harness({});
    await expect(h.run("topics", "frobnicate")).rejects.toMatchObject({ exitCode: 1 });
    await expect(h.run("topics", "create", "x", "-p", "zero")).rejects.toMatchObject({ code: "commander.invalidArgument" });
    await expect(h.run("groups", "reset-offsets", "g", "-t", "t")).rejects.toThrow(/choose exactly one of/);
  });

  it("names every address tried when the cluster is unreachable", () => {
    const e = new ClusterUnreachableError(["127.0.0.1:19092", "127.0.0.1:29092"], ["127.0.0.1:19092: ECONNREFUSED", "127.0.0.1:29092: ECONNREFUSED"]);
    expect(e.message).toMatch(/^could not reach the cluster at 127.0.0.1:19092, 127.0.0.1:29092 \(127.0.0.1:19092: ECONNREFUSED; 127.0.0.1:29092: ECONNREFUSED\)\. Is it running/);
  });
});
