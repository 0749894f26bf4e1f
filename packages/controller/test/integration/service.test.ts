// The Controller gRPC service end to end in one process: a real RaftNode (single voter, level
// in a temp dir) behind a real gRPC server on a loopback port, called through the generated
// client. Checks the wire form of answers: typed errors, validate-only, configs, producer ids,
// and FetchMetadata's streaming and bad-input answers.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControllerClient, ControllerService, type FetchMetadataResponse } from "@brook/protocol/gen/brook/v1/controller";
import { Codes } from "../../src/errors.js";
import { controllerService } from "../../src/server/controller_service.js";
import { QuorumController } from "../../src/server/quorum_controller.js";
import { eventually } from "./support.js";

// The generated methods' fullest overload: inference of Req and Res needs the exact shape.
type Unary<Req, Res> = (req: Req, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

describe("Controller gRPC service", () => {
  let dir: string;
  let server: grpc.Server;
  let qc: QuorumController;
  let client: ControllerClient;
  const call = <Req, Res>(m: (c: ControllerClient) => Unary<Req, Res>, req: Req) =>
    new Promise<Res>((resolve, reject) => m(client).call(client, req, new grpc.Metadata(), {}, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res))));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "brook-svc-"));
    server = new grpc.Server();
    const logger = pino({ level: "silent" });
    qc = await QuorumController.open({ id: 1, voters: new Map([[1, "127.0.0.1:4292"]]), dataDir: dir, logger, server, logic: { sessionTimeoutMs: 600_000 } });
    server.addService(ControllerService, controllerService(qc, logger));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    client = new ControllerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await eventually(async () => (qc.isActive ? true : undefined), 20_000, "controller active");
  });
  afterAll(async () => {
    client?.close();
    await qc?.close();
    server?.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("registers, unfences, creates topics and answers bad input with typed errors", async () => {
    const reg = await call((c) => c.brokerRegistration, { brokerId: 1, incarnationId: "a", endpoints: [{ name: "CLIENT", host: "127.0.0.1", port: 9092 }], rack: "" });
    expect(reg.error?.code).toBe(0);
    const bad = await call((c) => c.brokerRegistration, { brokerId: 2, incarnationId: "", endpoints: [], rack: "" });
    expect(bad.error?.code).toBe(Codes.INVALID_REQUEST);
    const hb = await call((c) => c.brokerHeartbeat, { brokerId: 1, brokerEpoch: reg.brokerEpoch, currentMetadataOffset: qc.image.offset, wantFence: false, wantShutDown: false, offlineLogDirs: [] });
    expect(hb).toMatchObject({ isCaughtUp: true, isFenced: false });
    const stale = await call((c) => c.brokerHeartbeat, { brokerId: 1, brokerEpoch: reg.brokerEpoch + 100, currentMetadataOffset: 0, wantFence: false, wantShutDown: false, offlineLogDirs: [] });
    expect(stale.error?.code).toBe(Codes.STALE_BROKER_EPOCH);

    const vo = await call((c) => c.createTopics, { topics: [{ name: "orders", numPartitions: 4, replicationFactor: 1, configs: [], assignments: [] }], timeoutMs: 0, validateOnly: true });
    expect(vo.response?.topics[0]?.error?.code).toBe(0);
    expect(qc.image.topics.byName.has("orders")).toBe(false);
    const ct = await call((c) => c.createTopics, {
      topics: [
        { name: "orders", numPartitions: 4, replicationFactor: 1, configs: [{ name: "retention.ms", value: "60000", isDefault: false, readOnly: false }], assignments: [] },
        { name: "bad/name", numPartitions: 1, replicationFactor: 1, configs: [], assignments: [] },
        { name: "too-wide", numPartitions: 1, replicationFactor: 3, configs: [], assignments: [] },
      ],
      timeoutMs: 0,
      validateOnly: false,
    });
    expect(ct.response?.topics.map((t) => t.error?.code)).toEqual([0, Codes.INVALID_TOPIC_EXCEPTION, Codes.INVALID_REPLICATION_FACTOR]);
    expect(ct.response?.topics[0]?.topicId).toHaveLength(16);

    const dc = await call((c) => c.describeConfigs, { resources: [{ type: 2, name: "orders" }] });
    expect(dc.response?.results[0]?.configs.find((c) => c.name === "retention.ms")?.value).toBe("60000");
    const ac = await call((c) => c.incrementalAlterConfigs, { resources: [{ resource: { type: 2, name: "orders" }, ops: [{ name: "min.insync.replicas", value: "-3", delete: false }] }], validateOnly: false });
    expect(ac.response?.results[0]?.error?.code).toBe(Codes.INVALID_CONFIG);

    const pid1 = await call((c) => c.allocateProducerIds, { brokerId: 1, brokerEpoch: reg.brokerEpoch });
    const pid2 = await call((c) => c.allocateProducerIds, { brokerId: 1, brokerEpoch: reg.brokerEpoch });
    expect(pid2.firstProducerId).toBe(pid1.firstProducerId + pid1.size);

    const cluster = await call((c) => c.describeCluster, {});
    expect(cluster.response).toMatchObject({ controllerId: 1, offlinePartitions: 0 });
    expect(cluster.response?.clusterId).not.toBe("");
    const quorum = await call((c) => c.describeQuorum, {});
    expect(quorum).toMatchObject({ leaderId: 1, appliedOffset: qc.image.offset });
  });

  it("FetchMetadata streams new commits and refuses a negative offset", async () => {
    const badStream = client.fetchMetadata({ fromOffset: -5, brokerId: 1 });
    const first = await new Promise<FetchMetadataResponse>((resolve, reject) => {
      badStream.once("data", resolve);
      badStream.once("error", reject);
    });
    expect(first.error?.code).toBe(Codes.INVALID_REQUEST);

    const from = qc.image.offset + 1;
    const s = client.fetchMetadata({ fromOffset: from, brokerId: 1 });
    const got = new Promise<FetchMetadataResponse>((resolve, reject) => {
      s.on("data", (m: FetchMetadataResponse) => {
        if (m.records.some((r) => r.record?.$case === "topic" && r.record.topic.name === "streamed")) resolve(m);
      });
      s.on("error", (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(e)));
    });
    await call((c) => c.createTopics, { topics: [{ name: "streamed", numPartitions: 2, replicationFactor: 1, configs: [], assignments: [] }], timeoutMs: 0, validateOnly: false });
    const m = await got;
    s.cancel();
    expect(m.offset).toBeGreaterThanOrEqual(from);
    expect(m.records.filter((r) => r.record?.$case === "partition")).toHaveLength(2);
  });
});
