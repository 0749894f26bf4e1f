// The client-facing gRPC service (brook.v1.Broker): Metadata, Produce, Fetch, ListOffsets,
// InitProducerId, admin calls forwarded to the controller, and group calls delegated to the
// GroupCoordinatorApi. Contract: every per-partition failure is a Kafka code inside the
// response; a handler never throws into grpc-js and never crashes the process.
import { status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type {
  BrokerServer,
  FetchPartitionResponse,
  FetchRequest,
  FetchResponse,
  InitProducerIdResponse,
  ListOffsetsPartitionResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  MetadataRequest,
  MetadataResponse,
  ProducePartitionResponse,
  ProduceRequest,
  ProduceResponse,
  TopicMetadata,
} from "@brook/protocol/gen/brook/v1/broker";
import { Code, errorCodeOf } from "../errors.js";
import type { MetadataView } from "../metadata/view.js";
import type { Partition } from "../replica/partition.js";
import { type ReplicaManager, SETTLE_WAIT_MAX_MS } from "../replica/replica_manager.js";
import { waitForWake } from "../replica/wait_for_wake.js";
import type { ControllerApi } from "./controller_api.js";
import type { ClientIdentity, GroupCoordinatorApi } from "./group_api.js";
import {
  acksError,
  BATCH_HEADER_BYTES,
  clampFetch,
  clampPartitionMaxBytes,
  produceTimeoutMs,
  topicNameError,
} from "./limits.js";
import { type BrokerMetricsSink, meteredFetch, meteredProduce } from "../metrics.js";
import { produceStreamHandler } from "./produce_stream.js";
import { ProducerIdAllocator } from "./producer_ids.js";

export interface BrokerServiceDeps {
  readonly localId: number;
  readonly replicas: ReplicaManager;
  readonly controller: ControllerApi;
  readonly groups: () => GroupCoordinatorApi | undefined;
  /** True while fenced or shutting down: writes are refused. */
  readonly fenced: () => boolean;
  readonly controllerId: () => number;
  readonly defaultMaxMessageBytes: number;
  readonly logger: Logger;
  readonly metrics?: BrokerMetricsSink;
}

const msgOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Wraps an async handler: any escape becomes an INTERNAL status, never an unhandled rejection. */
function unary<Req, Res>(name: string, logger: Logger, fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        logger.error({ err, rpc: name }, "handler failed");
        callback({ code: status.INTERNAL, details: `${name}: ${msgOf(err)}` });
      },
    );
  };
}

export function brokerServer(deps: BrokerServiceDeps): BrokerServer {
  const { replicas, logger } = deps;
  const pids = new ProducerIdAllocator(() => deps.controller.allocateProducerIds());
  const noGroups = { code: Code.COORDINATOR_NOT_AVAILABLE, message: "the group coordinator is not running on this broker" };

  const metadata = async (req: MetadataRequest): Promise<MetadataResponse> => {
    const view = replicas.metadata;
    if (req.allowAutoTopicCreation) {
      const missing = req.topics.filter((t) => !view.topics.has(t) && topicNameError(t) === null);
      if (missing.length > 0)
        await deps.controller
          .createTopics({ topics: missing.map((name) => ({ name, numPartitions: -1, replicationFactor: -1, configs: [], assignments: [] })), timeoutMs: 10_000, validateOnly: false })
          .catch((err: unknown) => logger.warn({ err }, "auto topic creation failed"));
    }
    return metadataResponse(view, req.topics, deps.controllerId());
  };

  const produce = async (req: ProduceRequest): Promise<ProduceResponse> => {
    const acksCode = acksError(req.acks);
    const timeoutMs = produceTimeoutMs(req.timeoutMs);
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        topic: t.topic,
        partitions: await Promise.all(
          t.partitions.map(async (pd): Promise<ProducePartitionResponse> => {
            const fail = (code: number, message: string, hint?: { leader: number; leaderEpoch: number } | null) => ({
              partition: pd.partition,
              errorCode: code,
              errorMessage: message,
              baseOffset: -1,
              logAppendTimeMs: -1,
              logStartOffset: -1,
              currentLeader: hint?.leader ?? -1,
              currentLeaderEpoch: hint?.leaderEpoch ?? -1,
            });
            if (acksCode !== Code.NONE) return fail(acksCode, `acks must be 0, 1 or -1, got ${req.acks}`);
            if (req.transactionalId !== "") return fail(Code.INVALID_REQUEST, "transactions are not supported yet");
            const nameErr = topicNameError(t.topic);
            if (nameErr !== null) return fail(Code.INVALID_TOPIC_EXCEPTION, nameErr);
            if (pd.records.length < BATCH_HEADER_BYTES)
              return fail(Code.CORRUPT_MESSAGE, `records are ${pd.records.length} bytes, shorter than a batch header`);
            const maxBytes = maxMessageBytes(replicas.metadata, t.topic, deps.defaultMaxMessageBytes);
            if (pd.records.length > maxBytes)
              return fail(Code.MESSAGE_TOO_LARGE, `records are ${pd.records.length} bytes, max.message.bytes is ${maxBytes}`);
            if (deps.fenced()) {
              const v = replicas.metadata.topics.get(t.topic)?.partitions.get(pd.partition);
              return fail(Code.NOT_LEADER_OR_FOLLOWER, `broker ${deps.localId} is fenced or shutting down`, v ? { leader: v.leader, leaderEpoch: v.leaderEpoch } : null);
            }
            if (req.acks === 0) {
              // Kafka's acks=0: the producer learns nothing; the append still happens.
              void replicas.appendRecords(t.topic, pd.partition, pd.records, 0, timeoutMs);
              return fail(Code.NONE, "");
            }
            const out = await replicas.appendRecords(t.topic, pd.partition, pd.records, req.acks, timeoutMs);
            return {
              partition: pd.partition,
              errorCode: out.errorCode,
              errorMessage: out.errorMessage,
              baseOffset: out.errorCode === Code.NONE ? out.baseOffset : -1,
              logAppendTimeMs: out.logAppendTimeMs,
              logStartOffset: out.logStartOffset,
              currentLeader: out.leaderHint?.leader ?? -1,
              currentLeaderEpoch: out.leaderHint?.leaderEpoch ?? -1,
            };
          }),
        ),
      })),
    );
    return { topics, throttleTimeMs: 0 };
  };

  const fetch = async (req: FetchRequest): Promise<FetchResponse> => {
    const lim = clampFetch(req);
    const deadline = Date.now() + lim.maxWaitMs;
    for (;;) {
      let budget = lim.maxBytes;
      let total = 0;
      let anyError = false;
      const touched: { p: Partition; seq: number }[] = [];
      const topics = [];
      for (const t of req.topics) {
        const parts: FetchPartitionResponse[] = [];
        for (const fp of t.partitions) {
          if (replicas.leadershipPending(t.topic, fp.partition, fp.currentLeaderEpoch))
            await replicas.settleLeadership(t.topic, fp.partition, fp.currentLeaderEpoch, Math.min(SETTLE_WAIT_MAX_MS, deadline - Date.now()));
          const r = await fetchOne(replicas, deps.localId, t.topic, fp, budget, touched);
          total += r.records.length;
          budget = Math.max(0, budget - r.records.length);
          if (r.errorCode !== Code.NONE) anyError = true;
          parts.push(r);
        }
        topics.push({ topic: t.topic, partitions: parts });
      }
      if (total >= Math.max(1, lim.minBytes) || anyError || Date.now() >= deadline || touched.length === 0)
        return { errorCode: Code.NONE, topics, throttleTimeMs: 0 };
      await waitForAny(touched, deadline - Date.now());
    }
  };

  const listOffsets = async (req: ListOffsetsRequest): Promise<ListOffsetsResponse> => ({
    topics: await Promise.all(
      req.topics.map(async (t) => ({
        topic: t.topic,
        partitions: await Promise.all(
          t.partitions.map(async (lp): Promise<ListOffsetsPartitionResponse> => {
            const base = { partition: lp.partition, timestamp: -1, offset: -1, leaderEpoch: -1 };
            if (replicas.leadershipPending(t.topic, lp.partition, -1))
              await replicas.settleLeadership(t.topic, lp.partition, -1, SETTLE_WAIT_MAX_MS);
            const p = replicas.partition(t.topic, lp.partition);
            if (p === undefined || p.role.kind !== "leader") {
              const known = replicas.metadata.topics.get(t.topic)?.partitions.has(lp.partition) ?? false;
              return known
                ? { ...base, errorCode: Code.NOT_LEADER_OR_FOLLOWER, errorMessage: replicas.notLeaderMessage(t.topic, lp.partition) }
                : { ...base, errorCode: Code.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic-partition ${t.topic}-${lp.partition}` };
            }
            const epoch = p.role.state.leaderEpoch;
            if (lp.timestamp === -2) return { ...base, errorCode: Code.NONE, errorMessage: "", offset: p.log.logStartOffset(), leaderEpoch: epoch };
            if (lp.timestamp === -1) return { ...base, errorCode: Code.NONE, errorMessage: "", offset: p.log.highWatermark(), leaderEpoch: epoch };
            if (lp.timestamp < 0) return { ...base, errorCode: Code.INVALID_REQUEST, errorMessage: `timestamp ${lp.timestamp} is not -1, -2 or >= 0` };
            try {
              const hit = await p.log.offsetForTimestamp(lp.timestamp);
              if (hit === null || hit.offset >= p.log.highWatermark()) return { ...base, errorCode: Code.NONE, errorMessage: "" };
              return { partition: lp.partition, errorCode: Code.NONE, errorMessage: "", timestamp: hit.timestamp, offset: hit.offset, leaderEpoch: hit.leaderEpoch };
            } catch (err) {
              return { ...base, errorCode: errorCodeOf(err), errorMessage: msgOf(err) };
            }
          }),
        ),
      })),
    ),
  });

  const initProducerId = async (): Promise<InitProducerIdResponse> => {
    try {
      const id = await pids.nextId();
      return { producerId: id, producerEpoch: 0 };
    } catch (err) {
      return { error: { code: errorCodeOf(err) === Code.UNKNOWN_SERVER_ERROR ? Code.COORDINATOR_NOT_AVAILABLE : errorCodeOf(err), message: msgOf(err) }, producerId: -1, producerEpoch: -1 };
    }
  };

  const group = <Req, Res>(name: string, pick: (g: GroupCoordinatorApi, req: Req, client: ClientIdentity) => Promise<Res>, fallback: (req: Req) => NoInfer<Res>) =>
    unary(name, logger, async (req: Req, call: ServerUnaryCall<Req, Res>): Promise<Res> => {
      const g = deps.groups();
      return g === undefined ? fallback(req) : pick(g, req, clientIdentity(call));
    });

  const meteredProduceFn = meteredProduce(produce, deps.metrics);
  return {
    metadata: unary("metadata", logger, metadata),
    produce: unary("produce", logger, meteredProduceFn),
    produceStream: produceStreamHandler(meteredProduceFn, logger),
    fetch: unary("fetch", logger, meteredFetch(fetch, deps.metrics)),
    listOffsets: unary("listOffsets", logger, listOffsets),
    initProducerId: unary("initProducerId", logger, initProducerId),
    createTopics: unary("createTopics", logger, (r) => deps.controller.createTopics(r)),
    deleteTopics: unary("deleteTopics", logger, (r) => deps.controller.deleteTopics(r)),
    createPartitions: unary("createPartitions", logger, (r) => deps.controller.createPartitions(r)),
    describeConfigs: unary("describeConfigs", logger, (r) => deps.controller.describeConfigs(r)),
    alterConfigs: unary("alterConfigs", logger, (r) => deps.controller.alterConfigs(r)),
    describeCluster: unary("describeCluster", logger, () => deps.controller.describeCluster()),
    findCoordinator: group("findCoordinator", (g, r) => g.findCoordinator(r), () => ({ error: noGroups, nodeId: -1, host: "", port: -1 })),
    consumerGroupHeartbeat: group("consumerGroupHeartbeat", (g, r, client) => g.consumerGroupHeartbeat(r, client), () => ({
      error: noGroups,
      memberId: "",
      memberEpoch: -1,
      heartbeatIntervalMs: 0,
    })),
    offsetCommit: group("offsetCommit", (g, r) => g.offsetCommit(r), () => ({ error: noGroups, topics: [] })),
    offsetFetch: group("offsetFetch", (g, r) => g.offsetFetch(r), () => ({ error: noGroups, topics: [] })),
    listGroups: group("listGroups", (g, r) => g.listGroups(r), () => ({ error: noGroups, groups: [] })),
    describeGroups: group("describeGroups", (g, r) => g.describeGroups(r), (r) => ({
      groups: r.groupIds.map((groupId) => ({ error: noGroups, groupId, state: "", groupEpoch: -1, assignmentEpoch: -1, assignor: "", members: [] })),
    })),
    deleteGroups: group("deleteGroups", (g, r) => g.deleteGroups(r), (r) => ({ groups: r.groupIds.map((groupId) => ({ groupId, error: noGroups })) })),
  };
}

function maxMessageBytes(view: MetadataView, topic: string, dflt: number): number {
  const raw = view.topics.get(topic)?.configs.get("max.message.bytes");
  const n = raw === undefined ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n > 0 ? n : dflt;
}

export function metadataResponse(view: MetadataView, wanted: readonly string[], controllerId: number): MetadataResponse {
  const names = wanted.length === 0 ? [...view.topics.keys()] : wanted;
  const topics: TopicMetadata[] = names.map((name) => {
    const t = view.topics.get(name);
    if (t === undefined)
      return { errorCode: topicNameError(name) === null ? Code.UNKNOWN_TOPIC_OR_PARTITION : Code.INVALID_TOPIC_EXCEPTION, name, topicId: Buffer.alloc(0), internal: false, partitions: [] };
    return {
      errorCode: Code.NONE,
      name,
      topicId: Buffer.from(t.topicId.replace(/-/g, ""), "hex"),
      internal: name.startsWith("__"),
      partitions: [...t.partitions.values()]
        .sort((a, b) => a.partition - b.partition)
        .map((p) => {
          const offline = p.replicas.filter((id) => view.brokers.get(id)?.fenced ?? true);
          return {
            errorCode: p.leader < 0 ? Code.LEADER_NOT_AVAILABLE : Code.NONE,
            partition: p.partition,
            leader: p.leader,
            leaderEpoch: p.leaderEpoch,
            replicas: [...p.replicas],
            isr: [...p.isr],
            offlineReplicas: offline,
          };
        }),
    };
  });
  return {
    brokers: [...view.brokers.values()]
      .filter((b) => !b.fenced)
      .map((b) => ({ nodeId: b.id, host: b.host, port: b.port, rack: b.rack, fenced: b.fenced })),
    clusterId: view.clusterId,
    controllerId,
    topics,
  };
}

async function fetchOne(
  replicas: ReplicaManager,
  localId: number,
  topic: string,
  fp: FetchRequest["topics"][number]["partitions"][number],
  budget: number,
  touched: { p: Partition; seq: number }[],
): Promise<FetchPartitionResponse> {
  const base = { partition: fp.partition, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: Buffer.alloc(0) as Buffer, currentLeader: -1, currentLeaderEpoch: -1 };
  const p = replicas.partition(topic, fp.partition);
  if (p === undefined || p.role.kind !== "leader") {
    const v = replicas.metadata.topics.get(topic)?.partitions.get(fp.partition);
    if (v === undefined) return { ...base, errorCode: Code.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `unknown topic-partition ${topic}-${fp.partition}` };
    return { ...base, errorCode: Code.NOT_LEADER_OR_FOLLOWER, errorMessage: replicas.notLeaderMessage(topic, fp.partition), currentLeader: v.leader, currentLeaderEpoch: v.leaderEpoch };
  }
  const epoch = p.role.state.leaderEpoch;
  const seq = p.changeSeq; // before reading the HW: see Partition.onChange
  if (fp.currentLeaderEpoch >= 0 && fp.currentLeaderEpoch !== epoch)
    return {
      ...base,
      errorCode: fp.currentLeaderEpoch < epoch ? Code.FENCED_LEADER_EPOCH : Code.UNKNOWN_LEADER_EPOCH,
      errorMessage: `leader epoch is ${epoch}, request has ${fp.currentLeaderEpoch}`,
      currentLeader: localId,
      currentLeaderEpoch: epoch,
    };
  const hw = p.log.highWatermark();
  const start = p.log.logStartOffset();
  const filled = { ...base, highWatermark: hw, lastStableOffset: hw, logStartOffset: start, currentLeader: localId, currentLeaderEpoch: epoch };
  if (fp.fetchOffset < start || fp.fetchOffset > p.log.logEndOffset())
    return { ...filled, errorCode: Code.OFFSET_OUT_OF_RANGE, errorMessage: `offset ${fp.fetchOffset} is outside [${start}, ${p.log.logEndOffset()}]` };
  touched.push({ p, seq });
  if (fp.fetchOffset >= hw || budget <= 0) return { ...filled, errorCode: Code.NONE, errorMessage: "" };
  try {
    const r = await p.log.read(fp.fetchOffset, Math.min(budget, clampPartitionMaxBytes(fp.partitionMaxBytes)), hw);
    return { ...filled, errorCode: Code.NONE, errorMessage: "", records: r.records };
  } catch (err) {
    return { ...filled, errorCode: errorCodeOf(err), errorMessage: msgOf(err) };
  }
}

function waitForAny(parts: { p: Partition; seq: number }[], ms: number): Promise<void> {
  // An HW move counts too: it is what makes fetched data visible to a consumer.
  return waitForWake(parts, ms, "onChange");
}

/** The caller's client.id (the SDK sends it as "client-id" metadata) and host, without the port (Kafka shows "/host"). */
function clientIdentity(call: ServerUnaryCall<unknown, unknown>): ClientIdentity {
  const id = call.metadata.get("client-id")[0];
  // getPeer(): "ipv4:127.0.0.1:5123", "ipv6:[::1]:5123" or "127.0.0.1:5123".
  const peer = call.getPeer().replace(/^(ipv4|ipv6|unix):/, "");
  const host = peer.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return { clientId: typeof id === "string" ? id.slice(0, 255) : "", clientHost: host === "" ? "" : `/${host}` };
}
