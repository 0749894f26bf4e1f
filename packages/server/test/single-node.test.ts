// One combined node as a real process (the built dist/bin/brook.js) on ports 4860-4862:
// the process sizes libuv's pool before anything uses it, and the controller writes the
// node's meta.properties cluster id into the metadata log (not a random one of its own), so
// /healthz, the broker's Metadata and DescribeCluster all name the same cluster.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, Metadata } from "@grpc/grpc-js";
import { Brook } from "@brook/client";
import { BrokerClient, type MetadataResponse } from "@brook/protocol/gen/brook/v1/broker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin", "brook.js");
let child: ChildProcess | undefined;
let dir = "";
let out = "";

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-single-"));
  child = spawn(
    process.execPath,
    [BIN, "--node.id=1", "--controller.quorum.voters=1@127.0.0.1:4861", "--listeners=PLAINTEXT://127.0.0.1:4860,CONTROLLER://127.0.0.1:4861", "--http.listener=127.0.0.1:4862", `--log.dirs=${dir}/data`, "--offsets.topic.replication.factor=1", "--log.flush.mode=replicated", "--message.max.bytes=2000000"],
    { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  await until("the node to be ready", async () => ((await (await fetch("http://127.0.0.1:4862/readyz")).json()) as { ready: boolean }).ready);
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

describe("a single combined node", () => {
  it("starts with a 16-thread libuv pool unless the operator set one", () => {
    const start = out.split("\n").find((l) => l.includes('"msg":"starting brook node"'));
    expect(JSON.parse(start!).uvThreadpoolSize).toBe(16);
  });

  it("writes its meta.properties cluster id into the metadata log", async () => {
    const props = await readFile(join(dir, "data", "meta.properties"), "utf8");
    const fromFile = /^cluster\.id=(.+)$/m.exec(props)?.[1];
    expect(fromFile).toBeTruthy();
    const health = (await (await fetch("http://127.0.0.1:4862/healthz")).json()) as { clusterId: string };
    expect(health.clusterId).toBe(fromFile);
    const client = new BrokerClient("127.0.0.1:4860", credentials.createInsecure());
    try {
      const md = await new Promise<MetadataResponse>((resolve, reject) =>
        client.metadata({ topics: [], allowAutoTopicCreation: false }, new Metadata(), { deadline: new Date(Date.now() + 10_000) }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      expect(md.clusterId).toBe(fromFile);
    } finally {
      client.close();
    }
  });

  it("describes a topic's configs with the defaults this node applies (log.flush.mode, message.max.bytes)", async () => {
    const brook = new Brook({ brokers: ["127.0.0.1:4860"], clientId: "single-node-test" });
    try {
      const admin = brook.admin();
      await admin.createTopics([{ topic: "node-defaults", numPartitions: 1, replicationFactor: 1 }]);
      await admin.createTopics([{ topic: "topic-set", numPartitions: 1, replicationFactor: 1, configs: { "flush.mode": "durable" } }]);
      const described = await admin.describeConfigs("node-defaults");
      expect(described["flush.mode"]).toBe("replicated");
      expect(described["max.message.bytes"]).toBe("2000000");
      expect(described["min.insync.replicas"]).toBe("1");
      expect((await admin.describeConfigs("topic-set"))["flush.mode"]).toBe("durable");
    } finally {
      await brook.close();
    }
  });
});
