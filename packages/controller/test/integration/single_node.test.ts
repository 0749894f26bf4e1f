// One QuorumController in-process on a real RaftNode (level dir in a temp dir, real gRPC
// server): pipelined requests, session-timeout fencing by the periodic task, FetchMetadata
// tail streaming, and a restart from the stored snapshot with the same image.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Codes } from "../../src/errors.js";
import { imageDigest, imageRecords } from "../../src/image/records.js";
import { NotControllerError, QuorumController } from "../../src/server/quorum_controller.js";
import type { CommittedBatch } from "../../src/server/metadata_state_machine.js";
import { eventually } from "./support.js";

const topic = (name: string, numPartitions = 2, replicationFactor = 2) => ({ name, numPartitions, replicationFactor, configs: [], assignments: [] });

describe("QuorumController on a single-voter RaftNode", () => {
  let dir: string;
  let server: grpc.Server;
  let qc: QuorumController;

  async function open(sessionTimeoutMs = 800): Promise<QuorumController> {
    server = new grpc.Server();
    const c = await QuorumController.open({
      id: 1,
      voters: new Map([[1, "127.0.0.1:4290"]]),
      dataDir: dir,
      logger: pino({ level: "silent" }),
      server,
      logic: { sessionTimeoutMs },
      sessionCheckIntervalMs: 100,
      snapshotEveryEntries: 20,
    });
    await eventually(async () => (c.isActive ? true : undefined), 20_000, "the single controller becoming active");
    return c;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "brook-qc-"));
    qc = await open();
  });
  afterAll(async () => {
    await qc?.close();
    server?.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("pipelines concurrent requests, each answered after commit, with a consistent image", async () => {
    const epochs: number[] = [];
    for (const id of [1, 2, 3]) {
      const r = await qc.write((img) => qc.logic.registerBroker(img, { brokerId: id, incarnationId: `inc-${id}`, endpoints: [{ name: "C", host: "127.0.0.1", port: 1000 + id }], rack: "" }));
      epochs.push(r.brokerEpoch);
      const hb = await qc.write((img) => qc.logic.heartbeat(img, { brokerId: id, brokerEpoch: r.brokerEpoch, currentMetadataOffset: qc.image.offset, wantFence: false, wantShutDown: false, offlineLogDirs: [] }));
      expect(hb.isFenced).toBe(false);
    }
    expect(new Set(epochs).size).toBe(3);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => qc.write((img) => qc.logic.createTopics(img, { topics: [topic(`p-${i % 50}`)], timeoutMs: 0, validateOnly: false }))),
    );
    const codes = results.map((r) => r.topics[0]?.error?.code);
    // 50 distinct names succeed; the 10 repeats see the earlier (pipelined, uncommitted) create.
    expect(codes.filter((c) => c === 0)).toHaveLength(50);
    expect(codes.filter((c) => c === Codes.TOPIC_ALREADY_EXISTS)).toHaveLength(10);
    for (let i = 0; i < 50; i++) expect(qc.image.topics.byName.has(`p-${i}`)).toBe(true);
  });

  it("streams committed batches from its tail to a listener, in order", async () => {
    const from = qc.image.offset + 1;
    const seen: CommittedBatch[] = [];
    const stop = qc.stateMachine.listen((e) => {
      if (e.kind === "batches") seen.push(...e.batches);
    });
    await qc.write((img) => qc.logic.createTopics(img, { topics: [topic("tail-a")], timeoutMs: 0, validateOnly: false }));
    await qc.write((img) => qc.logic.createTopics(img, { topics: [topic("tail-b")], timeoutMs: 0, validateOnly: false }));
    stop();
    const tail = qc.stateMachine.batchesFrom(from) ?? [];
    expect(tail.map((b) => b.offset)).toEqual(seen.map((b) => b.offset));
    const names = tail.flatMap((b) => b.records.flatMap((r) => (r.record?.$case === "topic" ? [r.record.topic.name] : [])));
    expect(names).toEqual(["tail-a", "tail-b"]);
  });

  it("fences a broker that stops heartbeating and moves its leaderships", async () => {
    const alive = setInterval(() => {
      for (const id of [1, 2]) {
        const b = qc.image.cluster.brokers.get(id);
        if (b !== undefined) void qc.write((img) => qc.logic.heartbeat(img, { brokerId: id, brokerEpoch: b.epoch, currentMetadataOffset: qc.image.offset, wantFence: false, wantShutDown: false, offlineLogDirs: [] })).catch(() => undefined);
      }
    }, 100);
    try {
      await eventually(async () => (qc.image.cluster.brokers.get(3)?.fenced === true ? true : undefined), 20_000, "broker 3 fenced after its session timeout");
      for (const t of qc.image.topics.byId.values()) for (const p of t.partitions.values()) expect(p.leader).not.toBe(3);
      expect(qc.image.cluster.brokers.get(1)?.fenced).toBe(false);
    } finally {
      clearInterval(alive);
    }
  });

  it("restarts from its snapshot and log to the same image, and refuses requests once closed", async () => {
    const before = imageRecords(qc.image);
    const offset = qc.image.offset;
    await qc.close();
    server.forceShutdown();
    await expect(qc.write((img) => qc.logic.deleteTopics(img, { names: ["p-1"], timeoutMs: 0 }))).rejects.toBeInstanceOf(NotControllerError);
    // A long session this time, so no fencing changes the image while we compare.
    qc = await open(600_000);
    // The new term's activation no-op comes after everything that was there; content is equal.
    expect(qc.image.offset).toBeGreaterThan(offset);
    expect(imageRecords(qc.image)).toEqual(before);
    expect(imageDigest(qc.image)).not.toBe(imageDigest({ ...qc.image, offset }));
  });
});
