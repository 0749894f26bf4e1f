// The Controller gRPC service (proto/brook/v1/controller.proto) over a QuorumController:
// decodes requests, runs them through the controller's event queue, and turns failures into
// the response's typed Error (NOT_CONTROLLER with the active controller's id and address).
// FetchMetadata is served by every controller from its own committed log.
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ControllerServer, ControllerHint, FetchMetadataResponse } from "@brook/protocol/gen/brook/v1/controller";
import { Codes, ControllerError, OK, type ApiError } from "../errors.js";
import { imageDigest, imageRecords } from "../image/records.js";
import type { MetadataImage } from "../image/image.js";
import { NotControllerError, type QuorumController } from "./quorum_controller.js";
import type { CommittedBatch } from "./metadata_state_machine.js";

const NO_HINT: ControllerHint = { id: -1, address: "" };
const MAX_BUFFERED_MESSAGES = 100_000; // object-mode stream: counts messages; the tail is 20,000

export function failure(err: unknown, log: Logger): { error: ApiError; controller: ControllerHint } {
  if (err instanceof NotControllerError) return { error: { code: Codes.NOT_CONTROLLER, message: err.message }, controller: { id: err.leaderId, address: err.leaderAddress } };
  if (err instanceof ControllerError) return { error: err.toApi(), controller: NO_HINT };
  const code = (err as { code?: unknown }).code;
  if (code === "REQUEST_TIMED_OUT") return { error: { code: Codes.REQUEST_TIMED_OUT, message: (err as Error).message }, controller: NO_HINT };
  log.error({ err }, "controller request failed unexpectedly");
  return { error: { code: Codes.UNKNOWN_SERVER_ERROR, message: `internal error: ${(err as Error).message}` }, controller: NO_HINT };
}

/** Runs `f` and answers through `cb`, folding any failure into `fail(error, hint)`. */
function unary<Req, Res>(log: Logger, f: (req: Req) => Promise<Res>, fail: (e: { error: ApiError; controller: ControllerHint }) => Res): grpc.handleUnaryCall<Req, Res> {
  return (call, cb) => {
    f(call.request).then(
      (res) => cb(null, res),
      (err: unknown) => cb(null, fail(failure(err, log))),
    );
  };
}

export function controllerService(qc: QuorumController, logger: Logger): ControllerServer {
  const log = logger.child({ component: "controller-service" });
  const logic = qc.logic;
  const ok = { error: OK, controller: NO_HINT };
  return {
    brokerRegistration: unary(log, (req) => qc.write((img) => logic.registerBroker(img, req)).then((r) => ({ ...ok, brokerEpoch: r.brokerEpoch })), (f) => ({ ...f, brokerEpoch: -1 })),
    brokerHeartbeat: unary(log, (req) => qc.write((img) => logic.heartbeat(img, req)).then((r) => ({ ...ok, ...r })), (f) => ({ ...f, isCaughtUp: false, isFenced: true, shouldShutDown: false })),
    createTopics: unary(log, (req) => qc.write((img) => logic.createTopics(img, req)).then((response) => ({ ...ok, response })), (f) => f),
    deleteTopics: unary(log, (req) => qc.write((img) => logic.deleteTopics(img, req)).then((response) => ({ ...ok, response })), (f) => f),
    createPartitions: unary(log, (req) => qc.write((img) => logic.createPartitions(img, req)).then((response) => ({ ...ok, response })), (f) => f),
    alterPartition: unary(
      log,
      (req) => qc.write((img) => logic.alterPartition(img, req)).then((r) => ({ controller: NO_HINT, error: r.error, leader: r.leader, leaderEpoch: r.leaderEpoch, partitionEpoch: r.partitionEpoch, isr: [...r.isr] })),
      (f) => ({ ...f, leader: -1, leaderEpoch: -1, partitionEpoch: -1, isr: [] }),
    ),
    electLeaders: unary(log, (req) => qc.write((img) => logic.electLeaders(img, req)).then((results) => ({ ...ok, results })), (f) => ({ ...f, results: [] })),
    allocateProducerIds: unary(
      log,
      (req) => qc.write((img) => logic.allocateProducerIds(img, req.brokerId, req.brokerEpoch)).then((b) => ({ ...ok, ...b })),
      (f) => ({ ...f, firstProducerId: -1, size: 0 }),
    ),
    describeCluster: unary(
      log,
      () =>
        qc.read((img) => {
          const response = logic.describeCluster(img, qc.id);
          const status = qc.raft.status();
          response.leaderEpoch = status.term;
          // Served by the active controller, which leads the Raft log: its view of every member.
          const replication = qc.raft.replication();
          const member = (id: number) => {
            const r = replication.get(id);
            return { nodeId: id, logEndOffset: r?.match ?? -1, lastCaughtUpMsAgo: r?.lastCaughtUpMsAgo ?? -1 };
          };
          response.voters = qcVoters(qc).map(member);
          response.observers = [...replication].filter(([, r]) => r.observer).map(([id]) => member(id));
          return { ...ok, response };
        }),
      (f) => f,
    ),
    describeQuorum: unary(
      log,
      async () => {
        // Served by every controller: its own view, for operators and tests.
        const img = qc.image;
        const h = qc.leaderHint();
        return {
          ...ok,
          leaderId: h.id,
          leaderEpoch: qc.raft.term,
          highWatermark: qc.raft.commitIndex,
          voters: [...qcVoters(qc)],
          appliedOffset: img.offset,
          imageDigest: imageDigest(img),
        };
      },
      (f) => ({ ...f, leaderId: -1, leaderEpoch: -1, highWatermark: -1, voters: [], appliedOffset: -1, imageDigest: "" }),
    ),
    incrementalAlterConfigs: unary(log, (req) => qc.write((img) => logic.alterConfigs(img, req)).then((response) => ({ ...ok, response })), (f) => f),
    describeConfigs: unary(log, (req) => qc.read((img) => ({ ...ok, response: logic.describeConfigs(img, req) })), (f) => f),
    fetchMetadata: (call) => serveFetchMetadata(qc, call, log),
  };
}

function qcVoters(qc: QuorumController): number[] {
  return qc.voterIds;
}

function snapshotMessage(img: MetadataImage): FetchMetadataResponse {
  return { snapshot: { offset: img.offset, epoch: img.epoch, records: imageRecords(img) }, offset: img.offset, epoch: img.epoch, records: [], highWatermark: img.offset };
}

function batchMessage(b: CommittedBatch, hw: number): FetchMetadataResponse {
  return { offset: b.offset, epoch: b.epoch, records: [...b.records], highWatermark: hw };
}

function serveFetchMetadata(qc: QuorumController, call: grpc.ServerWritableStream<{ fromOffset: number; brokerId: number }, FetchMetadataResponse>, log: Logger): void {
  const from = call.request.fromOffset;
  if (!Number.isInteger(from) || from < 0) {
    call.write({ error: { code: Codes.INVALID_REQUEST, message: `from_offset ${from} is invalid; use 0 or a positive offset` }, offset: -1, epoch: -1, records: [], highWatermark: qc.image.offset });
    call.end();
    return;
  }
  const sm = qc.stateMachine;
  let position = from - 1;
  let stopped = false;
  let stop: () => void = () => undefined;
  const end = () => stop();
  const send = (m: FetchMetadataResponse, offset: number) => {
    if (stopped || offset <= position) return;
    position = offset;
    call.write(m);
    // A reader that does not keep up is cut off rather than buffered without bound; it
    // reconnects from its own offset (and gets a snapshot if that is gone).
    if (call.writableLength > MAX_BUFFERED_MESSAGES) {
      stopped = true;
      log.warn({ brokerId: call.request.brokerId, buffered: call.writableLength }, "FetchMetadata reader too slow; ending its stream");
      call.end();
      end();
    }
  };
  const initial = sm.batchesFrom(Math.max(from, 1));
  if (initial === undefined) send(snapshotMessage(sm.image), sm.image.offset);
  else for (const b of initial) send(batchMessage(b, sm.image.offset), b.offset);
  stop = sm.listen((e) => {
    if (e.kind === "restored") send(snapshotMessage(e.image), e.image.offset);
    else for (const b of e.batches) send(batchMessage(b, sm.image.offset), b.offset);
  });
  call.on("cancelled", end);
  call.on("close", end);
  call.on("error", (err) => {
    log.debug({ err: err.message }, "FetchMetadata stream error");
    end();
  });
}
