// The broker role of a node: wires the client-facing service, the Replica endpoint, the
// replica manager, the lifecycle against the controller quorum and the metadata follower.
// Contract: start() resolves once the gRPC port is bound and the broker has registered;
// shutdown({ controlled: true }) moves leadership away (bounded wait) before stopping.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { widenReceiveWindow } from "@brook/protocol";
import type { Logger } from "pino";
import { DEFAULT_BROKER_CONFIG, type BrokerConfig } from "./config.js";
import type { ControllerChannel } from "./lifecycle/controller_channel.js";
import { BrokerLifecycle, type LifecycleState } from "./lifecycle/lifecycle.js";
import type { GroupCoordinator } from "./group/group_coordinator.js";
import { installGroupCoordinator } from "./group/install.js";
import type { BrokerMetricsSink, GroupLagSnapshot } from "./metrics.js";
import { ControllerLink } from "./lifecycle/controller_link.js";
import { openLogStore } from "./log_store.js";
import { nodeLogIo } from "./log/log_file.js";
import { timedLogIo } from "./log/timed_log_io.js";
import { scopeToListener } from "./metadata/listener_scope.js";
import { EMPTY_VIEW } from "./metadata/view.js";
import type { LeadershipListener, LogStore, ProduceOutcome, ReadCommittedResult } from "./replica/replica_manager.js";
import { ReplicaManager } from "./replica/replica_manager.js";
import { replicaServer } from "./replica/replica_service.js";
import { brokerServer } from "./service/broker_service.js";
import { brokerTopicDefaults, withBrokerTopicDefaults } from "./service/topic_config_defaults.js";
import { BrokerServiceDefinition, ReplicaServiceDefinition } from "./service/wire.js";
import type { ControllerApi } from "./service/controller_api.js";
import type { GroupCoordinatorApi } from "./service/group_api.js";

export interface BrokerOptions {
  readonly nodeId: number;
  readonly dataDir: string;
  /** host:port to bind; port 0 picks a free one. */
  readonly listen: string;
  /** host:port others dial; a 0 port is replaced by the bound one. */
  readonly advertised: string;
  readonly rack?: string;
  /** Controller voters: node id -> host:port of its controller listener. */
  readonly controllerQuorum: ReadonlyMap<number, string>;
  readonly config?: Partial<BrokerConfig>;
  readonly logger: Logger;
  /** Register on this server instead of creating one (combined mode shares one port). */
  readonly server?: Server;
  /**
   * Register on these servers instead, one per client listener (Kafka's listeners): each
   * answers Metadata, FindCoordinator and DescribeCluster with its own listener's endpoints.
   * `listen` is then the inter-broker listener's bound host:port.
   */
  readonly listenerServers?: readonly { readonly listener: string; readonly server: Server }[];
  /** Listener name of `advertised` (inter.broker.listener.name); replica fetchers dial it. Default CLIENT. */
  readonly interBrokerListener?: string;
  /** Every advertised endpoint to register (advertised.listeners); default: `advertised` alone. */
  readonly endpoints?: readonly { readonly name: string; readonly host: string; readonly port: number }[];
  /**
   * Called when the broker cannot go on. A failed log directory is not such a case: the
   * broker then stops serving its replicas and stays up, fenced, reporting the directory to
   * the controller on every heartbeat (see README, Disk failures).
   */
  readonly onFatal?: (err: unknown) => void;
  /** Receives produce/fetch volumes and ISR changes (the node feeds Prometheus from it). */
  readonly metrics?: BrokerMetricsSink;
}

/** What Broker.start builds from the options; injectable for tests and the combined node. */
export interface BrokerParts {
  readonly logs: LogStore & {
    close(): Promise<void>;
    /** Lets the broker react to its log directory failing (README, Disk failures). */
    onOffline?(handler: (topic: string, partition: number, err: unknown) => void): void;
    /** The failed log directories, reported to the controller. */
    offlineLogDirs?(): readonly string[];
  };
  readonly channel: ControllerChannel;
}

export interface BrokerStatus {
  readonly nodeId: number;
  readonly brokerEpoch: number;
  readonly state: LifecycleState;
  readonly metadataOffset: number;
  readonly port: number;
  readonly partitions: number;
  readonly leaderPartitions: number;
  readonly underReplicatedPartitions: number;
  /** Failed log directories; non-empty: no replica is served and the broker stays fenced. */
  readonly offlineLogDirs: readonly string[];
}

/** A server for a broker that binds its own port: produce batches and replica fetches need more than HTTP/2's 64 KiB windows. */
function ownServer(): Server {
  const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc.max_send_message_length": 64 * 1024 * 1024 });
  widenReceiveWindow(server);
  return server;
}

export class Broker {
  private groupCoordinator: GroupCoordinatorApi | undefined;
  private lagSource: GroupCoordinator | undefined;
  private subscription: { close(): void } | undefined;
  private stopped = false;
  private readonly stopHooks: (() => void)[] = [];

  private constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly config: BrokerConfig,
    readonly replicas: ReplicaManager,
    private readonly lifecycle: BrokerLifecycle,
    private readonly parts: BrokerParts,
    private readonly server: Server,
    private readonly ownsServer: boolean,
    private readonly logger: Logger,
  ) {}

  /** Starts the broker role with real parts: logs under `<dataDir>/logs`, gRPC to the quorum. */
  static async start(options: BrokerOptions): Promise<Broker> {
    const config: BrokerConfig = { ...DEFAULT_BROKER_CONFIG, ...options.config };
    const logger = options.logger.child({ role: "broker", node: options.nodeId });
    if (!process.execArgv.some((a) => a.startsWith("--initial-heap-size") || a.startsWith("--initial-old-space-size")))
      logger.warn(
        "node runs without --initial-heap-size: under produce load V8 then runs a full GC every fraction of a second (about half the broker's CPU per record); start node with --initial-heap-size=256 (see packages/broker/README.md, Measured)",
      );
    const onDurableWrite = options.metrics?.onDurableWrite?.bind(options.metrics);
    const logs = await openLogStore(options.dataDir, {
      logger,
      ...(onDurableWrite !== undefined ? { io: timedLogIo(nodeLogIo, onDurableWrite) } : {}),
      flushMode: config.flushMode,
      defaults: { maxMessageBytes: config.messageMaxBytes, producerIdExpirationMs: config.producerIdExpirationMs },
      retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
    });
    const holder: { broker?: Broker } = {};
    const channel = new ControllerLink(
      options.controllerQuorum,
      () => ({ brokerId: options.nodeId, brokerEpoch: holder.broker?.lifecycle.brokerEpoch ?? -1 }),
      logger,
      options.interBrokerListener,
    );
    try {
      const broker = await Broker.startWith(options, { logs, channel }, (b) => {
        holder.broker = b;
        // Every broker coordinates the groups whose __consumer_offsets partition it leads.
        const groups = installGroupCoordinator(b, {
          onError: (err, what) => logger.warn({ err, what }, "group coordinator error"),
          offsetsTopic: {
            partitions: config.offsetsTopicNumPartitions,
            replicationFactor: config.offsetsTopicReplicationFactor,
            createTopics: (req) => channel.createTopics(req),
          },
        });
        b.stopHooks.push(groups.stop);
        b.lagSource = groups.coordinator;
      });
      return broker;
    } catch (err) {
      channel.close();
      await logs.close();
      throw err;
    }
  }

  static async startWith(options: BrokerOptions, parts: BrokerParts, onCreated?: (b: Broker) => void): Promise<Broker> {
    const config: BrokerConfig = { ...DEFAULT_BROKER_CONFIG, ...options.config };
    const logger = options.logger.child({ role: "broker", node: options.nodeId });
    const ownsServer = options.server === undefined && options.listenerServers === undefined;
    const server =
      options.server ??
      options.listenerServers?.[0]?.server ??
      ownServer();
    let lifecycle: BrokerLifecycle | undefined;
    const replicas = new ReplicaManager({
      localId: options.nodeId,
      brokerEpoch: () => lifecycle?.brokerEpoch ?? -1,
      logs: parts.logs,
      alterPartition: parts.channel.alterPartition,
      config: {
        replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
        replicaFetchMaxWaitMs: config.replicaFetchWaitMaxMs,
        replicaFetchMaxBytes: config.replicaFetchMaxBytes,
        minInsyncReplicas: config.minInsyncReplicas,
      },
      logger,
      initialView: EMPTY_VIEW,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    const holder: { broker?: Broker } = {};
    const service = brokerServer({
      localId: options.nodeId,
      replicas,
      controller: withDefaults(parts.channel, config),
      groups: () => holder.broker?.groupCoordinator,
      fenced: () => lifecycle?.fenced() ?? true,
      controllerId: () => parts.channel.activeControllerId(),
      defaultMaxMessageBytes: config.messageMaxBytes,
      logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    const replicaService = replicaServer(replicas, logger);
    for (const l of options.listenerServers ?? [{ listener: "", server }]) {
      l.server.addService(BrokerServiceDefinition, l.listener === "" ? service : scopeToListener(service, l.listener, () => replicas.metadata));
      l.server.addService(ReplicaServiceDefinition, replicaService);
    }
    let port = 0;
    if (ownsServer) {
      port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(options.listen, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
    } else {
      port = Number(options.listen.slice(options.listen.lastIndexOf(":") + 1));
    }
    const [advHost, advPortRaw] = splitHostPort(options.advertised);
    const advPort = advPortRaw === 0 ? port : advPortRaw;
    let metadataOffset = -1;
    lifecycle = new BrokerLifecycle({
      nodeId: options.nodeId,
      host: advHost,
      port: advPort,
      ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
      rack: options.rack ?? "",
      channel: parts.channel,
      heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
      metadataOffset: () => metadataOffset,
      offlineLogDirs: () => parts.logs.offlineLogDirs?.() ?? [],
      // Caught up with everything before our registration: logs of topics deleted (or
      // replicas moved) while we were down can now be told apart and deleted.
      onFirstUnfenced: () => {
        void replicas.removeStrayLogs().then((removed) => {
          if (removed.length > 0) logger.info({ removed }, "deleted partition logs no longer assigned to this broker");
        });
      },
      logger,
    });
    const broker = new Broker(options.nodeId, port, config, replicas, lifecycle, parts, server, ownsServer, logger);
    holder.broker = broker;
    parts.logs.onOffline?.((topic, partition, err) => {
      // One log directory per broker: every replica on it is gone. As Kafka does with an
      // offline log dir: stop serving them all now, tell the controller (it moves the
      // leaderships and shrinks the ISRs), and stay up, fenced, for health checks and metadata.
      logger.error({ topic, partition, err: String(err) }, "log directory failed: replicas offline, reporting it to the controller");
      replicas.failLogDir();
      lifecycle?.reportOfflineLogDir();
    });
    onCreated?.(broker);
    broker.subscription = parts.channel.followMetadata((view) => {
      void replicas.applyMetadata(view).then(() => {
        metadataOffset = view.offset;
      });
    });
    await lifecycle.start();
    logger.info({ port, advertised: `${advHost}:${advPort}` }, "broker started");
    return broker;
  }

  /**
   * Groups this broker coordinates and, per committed offset, the lag behind the high
   * watermark of the partition's local replica (partitions with no replica here are left out).
   */
  groupLag(): GroupLagSnapshot {
    return this.lagSource?.lagSnapshot((t, p) => this.replicas.partition(t, p)?.log.highWatermark()) ?? { groups: 0, lags: [] };
  }

  /** Installs the consumer-group coordinator the service delegates group calls to. */
  setGroupCoordinator(api: GroupCoordinatorApi): void {
    this.groupCoordinator = api;
  }

  /** Leadership changes of any partition on this broker (e.g. __consumer_offsets). */
  onLeadershipChange(listener: LeadershipListener): () => void {
    return this.replicas.onLeadershipChange(listener);
  }

  /**
   * Appends batches to a partition this broker leads (used by the group coordinator for
   * __consumer_offsets); acks=-1 waits for the ISR like a client produce.
   */
  append(topic: string, partition: number, records: Buffer, acks: -1 | 1 = -1, timeoutMs = 30_000): Promise<ProduceOutcome> {
    return this.replicas.appendRecords(topic, partition, records, acks, timeoutMs);
  }

  /** Reads committed batches (below the HW) of a partition this broker holds, leader or not. */
  readCommitted(topic: string, partition: number, fromOffset: number, maxBytes: number): Promise<ReadCommittedResult> {
    return this.replicas.readCommitted(topic, partition, fromOffset, maxBytes);
  }

  status(): BrokerStatus {
    const led = this.replicas.ledPartitions();
    return {
      nodeId: this.nodeId,
      brokerEpoch: this.lifecycle.brokerEpoch,
      state: this.lifecycle.state,
      metadataOffset: this.replicas.metadata.offset,
      port: this.port,
      partitions: [...this.replicas.metadata.topics.values()].reduce(
        (n, t) => n + [...t.partitions.values()].filter((p) => p.replicas.includes(this.nodeId)).length,
        0,
      ),
      leaderPartitions: led.length,
      underReplicatedPartitions: led.filter((p) => p.role.kind === "leader" && p.role.state.isr.length < p.view.replicas.length).length,
      offlineLogDirs: this.parts.logs.offlineLogDirs?.() ?? [],
    };
  }

  async shutdown(opts: { controlled: boolean }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (opts.controlled) {
      const moved = await this.lifecycle.controlledShutdown(this.config.controlledShutdownTimeoutMs);
      this.logger.info({ moved }, moved ? "leadership moved away" : "controlled shutdown timed out; stopping anyway");
    }
    this.lifecycle.stop();
    for (const stop of this.stopHooks) stop();
    this.subscription?.close();
    await this.replicas.close();
    if (this.ownsServer)
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.server.forceShutdown();
          resolve();
        }, 2_000);
        this.server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
    this.parts.channel.close();
    await this.parts.logs.close();
  }
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(":");
  if (i < 0) return [s, 0];
  return [s.slice(0, i).replace(/^\[|\]$/g, ""), Number(s.slice(i + 1)) || 0];
}

/**
 * CreateTopics with -1 counts gets this broker's num.partitions/default.replication.factor;
 * DescribeConfigs reports the topic defaults this broker applies.
 */
function withDefaults(api: ControllerApi, config: BrokerConfig): ControllerApi {
  return {
    ...bindAll(api),
    createTopics: (req) =>
      api.createTopics({
        ...req,
        topics: req.topics.map((t) => ({
          ...t,
          numPartitions: t.numPartitions <= 0 && t.assignments.length === 0 ? config.numPartitions : t.numPartitions,
          replicationFactor: t.replicationFactor <= 0 && t.assignments.length === 0 ? config.defaultReplicationFactor : t.replicationFactor,
        })),
      }),
    describeConfigs: async (req) => withBrokerTopicDefaults(await api.describeConfigs(req), brokerTopicDefaults(config)),
  };
}

function bindAll(api: ControllerApi): ControllerApi {
  return {
    createTopics: (r) => api.createTopics(r),
    deleteTopics: (r) => api.deleteTopics(r),
    createPartitions: (r) => api.createPartitions(r),
    describeConfigs: (r) => api.describeConfigs(r),
    alterConfigs: (r) => api.alterConfigs(r),
    describeCluster: () => api.describeCluster(),
    allocateProducerIds: () => api.allocateProducerIds(),
  };
}
