// Kafka's listener rule on two real processes (the built dist/bin/brook.js) on loopback:
// node 1 (controller + broker) has INTERNAL advertised as 127.0.0.1 and EXTERNAL advertised
// as localhost; node 2 (broker only) has INTERNAL alone. A Metadata, DescribeCluster or
// FindCoordinator request answers with the endpoints of the listener it arrived on, a broker
// without that listener is left out (a coordinator without it is not available there), and
// replication runs over the inter-broker listener (INTERNAL):
// acks=all with min.insync.replicas=2 only succeeds if node 2 can fetch from node 1 and back.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, Metadata } from "@grpc/grpc-js";
import { BrokerClient, type DescribeClusterResponse, type FindCoordinatorResponse, type MetadataResponse } from "@brook/protocol/gen/brook/v1/broker";
import { Brook, stringSerde } from "@brook/client";
import { pickFreePorts } from "@brook/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin", "brook.js");
const children: ChildProcess[] = [];
let dir = "";
let out = "";
let ports: { internal1: number; external1: number; controller: number; http1: number; internal2: number; http2: number };

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(args: string[]): void {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env["PATH"] ?? "", BROOK_LOG_FORMAT: "json" }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  children.push(child);
}

function call<T>(address: string, method: "metadata" | "describeCluster" | "findCoordinator", groupId = ""): Promise<T> {
  const client = new BrokerClient(address, credentials.createInsecure());
  const deadline = { deadline: new Date(Date.now() + 10_000) };
  return new Promise<T>((resolve, reject) => {
    const done = (e: Error | null, r: T) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    };
    if (method === "metadata") client.metadata({ topics: [], allowAutoTopicCreation: false }, new Metadata(), deadline, (e, r) => done(e, r as T));
    else if (method === "describeCluster") client.describeCluster({}, new Metadata(), deadline, (e, r) => done(e, r as T));
    else client.findCoordinator({ groupId }, new Metadata(), deadline, (e, r) => done(e, r as T));
  });
}

const endpoints = (brokers: readonly { nodeId: number; host: string; port: number }[]): string[] =>
  [...brokers].sort((a, b) => a.nodeId - b.nodeId).map((b) => `${b.nodeId}@${b.host}:${b.port}`);

beforeAll(async () => {
  const [internal1, external1, controller, http1, internal2, http2] = await pickFreePorts(6);
  ports = { internal1: internal1!, external1: external1!, controller: controller!, http1: http1!, internal2: internal2!, http2: http2! };
  dir = await mkdtemp(join(tmpdir(), "brook-listeners-"));
  const common = [
    `--controller.quorum.voters=1@127.0.0.1:${ports.controller}`,
    "--inter.broker.listener.name=INTERNAL",
    "--listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "--default.replication.factor=2",
    "--min.insync.replicas=2",
    "--offsets.topic.replication.factor=1",
  ];
  start([
    ...common,
    "--node.id=1",
    "--process.roles=broker,controller",
    `--listeners=INTERNAL://127.0.0.1:${ports.internal1},EXTERNAL://127.0.0.1:${ports.external1},CONTROLLER://127.0.0.1:${ports.controller}`,
    `--advertised.listeners=INTERNAL://127.0.0.1:${ports.internal1},EXTERNAL://localhost:${ports.external1}`,
    `--http.listener=127.0.0.1:${ports.http1}`,
    `--log.dirs=${dir}/n1`,
  ]);
  start([
    ...common,
    "--node.id=2",
    "--process.roles=broker",
    `--listeners=INTERNAL://127.0.0.1:${ports.internal2}`,
    `--advertised.listeners=INTERNAL://127.0.0.1:${ports.internal2}`,
    `--http.listener=127.0.0.1:${ports.http2}`,
    `--log.dirs=${dir}/n2`,
  ]);
  for (const http of [ports.http1, ports.http2])
    await until(`node on HTTP ${http} to be ready`, async () => ((await (await fetch(`http://127.0.0.1:${http}/readyz`)).json()) as { ready: boolean }).ready);
  // Both brokers unfenced in the committed metadata node 1 serves.
  await until("both brokers in metadata", async () => (await call<MetadataResponse>(`127.0.0.1:${ports.internal1}`, "metadata")).brokers.length === 2);
}, 120_000);

afterAll(async () => {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }),
  );
  await rm(dir, { recursive: true, force: true });
});

describe("listeners and advertised.listeners", () => {
  it("answers Metadata with the endpoints of the listener the request came in on", async () => {
    const internal = [`1@127.0.0.1:${ports.internal1}`, `2@127.0.0.1:${ports.internal2}`];
    expect(endpoints((await call<MetadataResponse>(`127.0.0.1:${ports.internal1}`, "metadata")).brokers)).toEqual(internal);
    expect(endpoints((await call<MetadataResponse>(`127.0.0.1:${ports.internal2}`, "metadata")).brokers)).toEqual(internal);
    // EXTERNAL: node 1 as localhost; node 2 has no EXTERNAL listener and is left out (Kafka's rule).
    expect(endpoints((await call<MetadataResponse>(`127.0.0.1:${ports.external1}`, "metadata")).brokers)).toEqual([`1@localhost:${ports.external1}`]);
  });

  it("answers DescribeCluster the same way", async () => {
    const external = await call<DescribeClusterResponse>(`127.0.0.1:${ports.external1}`, "describeCluster");
    expect(endpoints(external.brokers)).toEqual([`1@localhost:${ports.external1}`]);
    const internal = await call<DescribeClusterResponse>(`127.0.0.1:${ports.internal1}`, "describeCluster");
    expect(endpoints(internal.brokers)).toEqual([`1@127.0.0.1:${ports.internal1}`, `2@127.0.0.1:${ports.internal2}`]);
  });

  it("answers FindCoordinator on the listener, and a coordinator without it is not available there", async () => {
    // The first FindCoordinator creates __consumer_offsets (12 partitions over both brokers).
    const coordinator = (groupId: string, address: string) => call<FindCoordinatorResponse>(address, "findCoordinator", groupId);
    const internal = `127.0.0.1:${ports.internal1}`;
    const byNode = new Map<number, string>();
    for (let i = 0; byNode.size < 2 && i < 200; i++) {
      const group = `g${i}`;
      const r = await until(`a coordinator for ${group}`, async () => {
        const res = await coordinator(group, internal);
        return res.error?.code === 0 ? res : undefined;
      });
      expect(`${r.host}:${r.port}`).toBe(`127.0.0.1:${r.nodeId === 1 ? ports.internal1 : ports.internal2}`);
      if (!byNode.has(r.nodeId)) byNode.set(r.nodeId, group);
    }
    expect([...byNode.keys()].sort()).toEqual([1, 2]);
    const onOne = await coordinator(byNode.get(1)!, `127.0.0.1:${ports.external1}`);
    expect(onOne).toMatchObject({ error: { code: 0 }, nodeId: 1, host: "localhost", port: ports.external1 });
    const onTwo = await coordinator(byNode.get(2)!, `127.0.0.1:${ports.external1}`);
    expect(onTwo.error?.code).toBe(15); // COORDINATOR_NOT_AVAILABLE: node 2 has no EXTERNAL listener
    expect(onTwo.nodeId).toBe(-1);
  });

  it("replicates over the inter-broker listener: acks=all with min.insync.replicas=2 succeeds", async () => {
    const brook = new Brook({ brokers: [`127.0.0.1:${ports.internal1}`], clientId: "listeners-test", requestTimeoutMs: 10_000 });
    try {
      await brook.admin().createTopics([{ topic: "two-replicas", numPartitions: 2, replicationFactor: 2 }]);
      const producer = brook.producer({ keySerializer: stringSerde, valueSerializer: stringSerde, acks: "all", requestTimeoutMs: 10_000, deliveryTimeoutMs: 30_000 });
      const acked = new Set<number>();
      for (let i = 0; i < 20; i++) {
        const [at] = await producer.send({ topic: "two-replicas", messages: [{ key: `k${i}`, value: `v${i}` }] });
        acked.add(at!.partition);
      }
      expect(acked.size).toBe(2); // both partitions, so both brokers led one and followed the other
      const md = await call<MetadataResponse>(`127.0.0.1:${ports.internal1}`, "metadata");
      const topic = md.topics.find((t) => t.name === "two-replicas")!;
      for (const p of topic.partitions) expect([...p.isr].sort()).toEqual([1, 2]);
    } finally {
      await brook.close();
    }
  });
});
