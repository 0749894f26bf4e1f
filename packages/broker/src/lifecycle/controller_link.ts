// The broker's gRPC link to the controller quorum (service brook.v1.Controller): implements
// ControllerChannel. Unary calls go to the active controller through ActiveController
// (NOT_CONTROLLER hints, voter rotation, backoff). The metadata follower keeps one
// FetchMetadata stream open to any voter (each serves its committed log), resumes from the
// last applied offset after a break, and hands each new view to the subscriber in order.
import { credentials, Metadata, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "@brook/protocol/gen/brook/v1/broker";
import { ControllerClient, type FetchMetadataResponse } from "@brook/protocol/gen/brook/v1/controller";
import { BrokerError, Code } from "../errors.js";
import { InitialCatchUp } from "./initial_catch_up.js";
import { MetadataReplayer } from "../metadata/replay.js";
import type { MetadataView } from "../metadata/view.js";
import type { AlterPartitionRequest, AlterPartitionResult } from "../replica/replica_manager.js";
import type { ProducerIdBlock } from "../service/controller_api.js";
import { ActiveController, NotControllerError } from "./active_controller.js";
import type {
  BrokerRegistration,
  ControllerChannel,
  HeartbeatRequest,
  HeartbeatResult,
  MetadataSubscription,
} from "./controller_channel.js";

interface Answer {
  error?: { code: number; message: string } | undefined;
  controller?: { id: number; address: string } | undefined;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class ControllerLink implements ControllerChannel {
  private readonly active: ActiveController<ControllerClient>;
  private closed = false;

  constructor(
    voters: ReadonlyMap<number, string>,
    private readonly identity: () => { brokerId: number; brokerEpoch: number },
    private readonly logger: Logger,
    /** The inter-broker listener: its endpoint is the one replica fetchers dial. */
    private readonly listenerName = "CLIENT",
  ) {
    this.active = new ActiveController<ControllerClient>({
      voters,
      client: (_id, address) =>
        new ControllerClient(address, credentials.createInsecure(), {
          "grpc.max_receive_message_length": 256 * 1024 * 1024,
          "grpc.keepalive_time_ms": 10_000,
          // Fail fast while a voter is down so the rotation moves on.
          "grpc.initial_reconnect_backoff_ms": 100,
          "grpc.max_reconnect_backoff_ms": 1_000,
        }),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      now: () => Date.now(),
    });
  }

  activeControllerId(): number {
    return this.active.current();
  }

  /** One unary call with a deadline; NOT_CONTROLLER becomes a redirect for ActiveController. */
  private unary<Req, Res extends Answer>(
    method: (c: ControllerClient) => (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown,
    req: Req,
    timeoutMs = REQUEST_TIMEOUT_MS,
    attemptMs = 5_000,
  ): Promise<Res> {
    return this.active.call(
      (c) =>
        new Promise<Res>((resolve, reject) => {
          method(c).call(c, req, new Metadata(), { deadline: Date.now() + attemptMs }, (err, res) => {
            if (err) return reject(err);
            if (res.error?.code === Code.NOT_CONTROLLER) {
              const id = res.controller?.id ?? -1;
              return reject(new NotControllerError(id >= 0 ? id : null));
            }
            resolve(res);
          });
        }),
      timeoutMs,
    );
  }

  private static check<Res extends Answer>(res: Res): Res {
    if (res.error !== undefined && res.error.code !== Code.NONE) throw new BrokerError(res.error.code, res.error.message);
    return res;
  }

  async register(req: BrokerRegistration): Promise<{ brokerEpoch: number }> {
    const res = ControllerLink.check(
      await this.unary((c) => c.brokerRegistration, {
        brokerId: req.nodeId,
        incarnationId: req.incarnationId,
        endpoints: (req.endpoints ?? [{ name: this.listenerName, host: req.host, port: req.port }]).map((e) => ({ name: e.name, host: e.host, port: e.port })),
        rack: req.rack,
      }),
    );
    return { brokerEpoch: res.brokerEpoch };
  }

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResult> {
    const res = ControllerLink.check(
      await this.unary(
        (c) => c.brokerHeartbeat,
        {
          brokerId: req.nodeId,
          brokerEpoch: req.brokerEpoch,
          currentMetadataOffset: req.currentMetadataOffset,
          wantFence: req.wantFence,
          wantShutDown: req.wantShutDown,
          offlineLogDirs: [...req.offlineLogDirs],
        },
        3_000,
        1_500,
      ),
    );
    return { isCaughtUp: res.isCaughtUp, isFenced: res.isFenced, shouldShutDown: res.shouldShutDown };
  }

  readonly alterPartition = async (req: AlterPartitionRequest): Promise<AlterPartitionResult> => {
    const id = this.identity();
    const res = await this.unary((c) => c.alterPartition, {
      brokerId: id.brokerId,
      brokerEpoch: id.brokerEpoch,
      topicId: Buffer.from(req.topicId, "hex"),
      partition: req.partition,
      leaderEpoch: req.leaderEpoch,
      partitionEpoch: req.partitionEpoch,
      newIsr: [...req.newIsr],
    });
    if (res.error !== undefined && res.error.code !== Code.NONE) return { ok: false, errorCode: res.error.code };
    return { ok: true, isr: res.isr, partitionEpoch: res.partitionEpoch, leaderEpoch: res.leaderEpoch };
  };

  async allocateProducerIds(): Promise<ProducerIdBlock> {
    const id = this.identity();
    const res = ControllerLink.check(await this.unary((c) => c.allocateProducerIds, { brokerId: id.brokerId, brokerEpoch: id.brokerEpoch }));
    return { firstProducerId: res.firstProducerId, size: res.size };
  }

  async createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    const res = await this.unary((c) => c.createTopics, req, Math.max(REQUEST_TIMEOUT_MS, req.timeoutMs));
    if (res.response !== undefined) return res.response;
    return {
      topics: req.topics.map((t) => ({ name: t.name, topicId: Buffer.alloc(0), error: res.error, numPartitions: -1, replicationFactor: -1 })),
    };
  }

  async deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
    const res = await this.unary((c) => c.deleteTopics, req, Math.max(REQUEST_TIMEOUT_MS, req.timeoutMs));
    return res.response ?? { topics: req.names.map((name) => ({ name, error: res.error })) };
  }

  async createPartitions(req: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    const res = await this.unary((c) => c.createPartitions, req, Math.max(REQUEST_TIMEOUT_MS, req.timeoutMs));
    return res.response ?? { results: req.topics.map((t) => ({ name: t.name, error: res.error })) };
  }

  async describeConfigs(req: DescribeConfigsRequest): Promise<DescribeConfigsResponse> {
    const res = await this.unary((c) => c.describeConfigs, req);
    return res.response ?? { results: req.resources.map((resource) => ({ resource, error: res.error, configs: [] })) };
  }

  async alterConfigs(req: AlterConfigsRequest): Promise<AlterConfigsResponse> {
    const res = await this.unary((c) => c.incrementalAlterConfigs, req);
    return res.response ?? { results: req.resources.map((r) => ({ resource: r.resource, error: res.error })) };
  }

  async describeCluster(): Promise<DescribeClusterResponse> {
    const res = ControllerLink.check(await this.unary((c) => c.describeCluster, {}));
    if (res.response === undefined) throw new BrokerError(Code.UNKNOWN_SERVER_ERROR, "controller sent no cluster description");
    return res.response;
  }

  followMetadata(onView: (view: MetadataView) => void): MetadataSubscription {
    const replayer = new MetadataReplayer(this.listenerName);
    const catchUp = new InitialCatchUp();
    let stream: ClientReadableStream<FetchMetadataResponse> | undefined;
    let stopped = false;
    let voterIndex = Math.max(0, this.active.voterIds().indexOf(this.active.current()));
    let backoff = 50;
    const connect = () => {
      if (stopped || this.closed) return;
      const ids = this.active.voterIds();
      const id = ids[voterIndex % ids.length]!;
      const from = replayer.current().offset + 1;
      const s = this.active.clientFor(id).fetchMetadata({ fromOffset: Math.max(0, from), brokerId: this.identity().brokerId });
      stream = s;
      let ended = false;
      const reconnect = (why: string) => {
        if (ended) return;
        ended = true;
        if (stopped) return;
        this.logger.debug({ voter: id, why }, "metadata stream ended; reconnecting");
        voterIndex++;
        setTimeout(connect, backoff);
        backoff = Math.min(1_000, backoff * 2);
      };
      s.on("data", (m: FetchMetadataResponse) => {
        try {
          if (m.error !== undefined && m.error.code !== Code.NONE) return reconnect(m.error.message);
          backoff = 50;
          let view: MetadataView | undefined;
          if (m.snapshot !== undefined) view = replayer.loadSnapshot(m.snapshot.records, m.snapshot.offset);
          if (m.records.length > 0 && m.offset > replayer.current().offset) view = replayer.applyBatch(m.records, m.offset);
          if (view !== undefined && catchUp.deliver(view.offset, m.highWatermark)) onView(view);
        } catch (err) {
          // A record this broker cannot read: stop applying rather than act on a wrong view.
          this.logger.error({ err }, "cannot apply metadata; stream stopped");
          ended = true;
          s.cancel();
        }
      });
      s.on("error", (err) => reconnect(String(err)));
      s.on("end", () => reconnect("end"));
    };
    connect();
    return {
      close: () => {
        stopped = true;
        stream?.cancel();
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const c of this.active.allClients()) c.close();
  }
}
