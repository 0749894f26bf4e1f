// The broker role over @brook/broker's Broker. This adapter owns one gRPC server per broker
// listener (Kafka's listeners): grpc-js does not tell a handler which local port a call came
// in on, so a server per listener is how Metadata, FindCoordinator and DescribeCluster answer
// with the endpoints of the listener the request arrived on. The broker registers every
// advertised listener; replication uses the inter-broker listener's endpoint.

import { Server, ServerCredentials } from "@grpc/grpc-js";
import { Broker, type BrokerMetricsSink } from "@brook/broker";
import { widenReceiveWindow } from "@brook/protocol";
import type { Listener } from "../config/resolve.js";
import { requestMetricsInterceptor } from "../http/grpc-metrics.js";
import type { NodeMetrics } from "../http/metrics.js";
import type { ReadinessCheck } from "../http/readiness.js";
import type { NodeRole, RoleContext } from "./role.js";

const BIND_RETRY_MS = 2000;
const BIND_REPEAT_LOG_MS = 30_000;

export function brokerRole(ctx: RoleContext): NodeRole {
  const { config } = ctx;
  // The broker adds its own role/node fields to the logger it is given; this adapter's lines get them here.
  const logger = ctx.logger.child({ role: "broker" });
  const brokerListeners = config.listeners.filter((l) => l.name !== config.controllerListenerName);
  const servers = new Map(
    brokerListeners.map((l) => {
      const server = new Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024, "grpc.max_send_message_length": 64 * 1024 * 1024, interceptors: [requestMetricsInterceptor(ctx.metrics)] });
      if (!widenReceiveWindow(server)) logger.warn("this grpc-js has no hook for the server's HTTP/2 receive window; produce and replication run with 64 KiB windows (slower)");
      return [l.name, server];
    }),
  );
  const advertised = config.advertisedListeners.find((l) => l.name === config.interBrokerListenerName)!;
  let broker: Broker | undefined;
  let stopping = false;

  async function bindPatiently(listener: Listener): Promise<number> {
    let lastLog = -Infinity;
    for (;;) {
      try {
        const server = servers.get(listener.name)!;
        return await new Promise<number>((resolve, reject) => server.bindAsync(`${hostForBind(listener.host)}:${listener.port}`, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
      } catch (error) {
        if (stopping) throw error;
        if (performance.now() - lastLog >= BIND_REPEAT_LOG_MS) {
          lastLog = performance.now();
          logger.warn(`cannot bind ${listener.name}://${listener.host}:${listener.port} (listeners): ${(error as Error).message}; if the port is in use, stop that process or change listeners; retrying every ${BIND_RETRY_MS / 1000}s`);
        }
        await new Promise((resolve) => setTimeout(resolve, BIND_RETRY_MS));
      }
    }
  }

  return {
    name: "broker",
    async start() {
      const ports = new Map<string, number>();
      for (const l of brokerListeners) ports.set(l.name, await bindPatiently(l));
      const interBroker = brokerListeners.find((l) => l.name === config.interBrokerListenerName) ?? brokerListeners[0]!;
      // An advertised port 0 (tests) stands for the port the listener was bound to.
      const endpoints = config.advertisedListeners.map((l) => ({ name: l.name, host: l.host, port: l.port === 0 ? (ports.get(l.name) ?? 0) : l.port }));
      logger.info(
        { listeners: brokerListeners.map((l) => `${l.name}://${l.host}:${ports.get(l.name)}`), advertised: endpoints.map((e) => `${e.name}://${e.host}:${e.port}`), interBroker: config.interBrokerListenerName },
        "broker listeners bound; registering with the controller quorum",
      );
      broker = await Broker.start({
        nodeId: config.nodeId,
        dataDir: ctx.dataDir.brokerDir,
        listen: `${hostForBind(interBroker.host)}:${ports.get(interBroker.name)}`,
        advertised: `${advertised.host}:${advertised.port === 0 ? ports.get(interBroker.name) : advertised.port}`,
        interBrokerListener: config.interBrokerListenerName,
        endpoints,
        ...(config.rack !== undefined ? { rack: config.rack } : {}),
        controllerQuorum: new Map(config.voters.map((v) => [v.id, `${v.host}:${v.port}`])),
        config: {
          numPartitions: config.topicDefaults.numPartitions,
          defaultReplicationFactor: config.topicDefaults.replicationFactor,
          minInsyncReplicas: config.topicDefaults.minInsyncReplicas,
          replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
          messageMaxBytes: config.messageMaxBytes,
          producerIdExpirationMs: config.producerIdExpirationMs,
          logRetentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
          brokerHeartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
          flushMode: config.topicDefaults.flushMode,
          offsetsTopicNumPartitions: config.offsetsTopicPartitions,
          offsetsTopicReplicationFactor: config.offsetsTopicReplicationFactor,
          controlledShutdownTimeoutMs: Math.max(1000, config.shutdownTimeoutMs - 5000),
        },
        logger: ctx.logger,
        listenerServers: [...servers].map(([listener, server]) => ({ listener, server })),
        // The broker already moved its leaderships away (controlled shutdown); the node exits.
        onFatal: ctx.onFatal,
        metrics: brokerMetricsSink(ctx.metrics),
      });
      ctx.metrics.setUnderReplicatedProbe(() => broker?.status().underReplicatedPartitions ?? 0);
      // Lag is computed at scrape time from this broker's committed offsets and local high watermarks.
      ctx.metrics.setGroupProbe(() => broker?.groupLag() ?? { groups: 0, lags: [] });
      if (stopping) await broker.shutdown({ controlled: false });
    },
    async shutdown(options) {
      stopping = true;
      await broker?.shutdown(options);
      await Promise.all([...servers.values()].map((server) => stopServer(server)));
    },
    readiness(): ReadinessCheck[] {
      if (broker === undefined) return [{ name: "broker.registered", ok: false, detail: "broker is binding its listeners or registering with the controller quorum" }];
      const s = broker.status();
      return [
        { name: "broker.registered", ok: s.brokerEpoch >= 0, ...(s.brokerEpoch >= 0 ? {} : { detail: "not registered with the controller yet" }) },
        { name: "broker.unfenced", ok: s.state === "running", ...(s.state === "running" ? {} : { detail: `broker state is ${s.state}` }) },
        { name: "broker.metadata.caught-up", ok: s.metadataOffset >= 0, ...(s.metadataOffset >= 0 ? {} : { detail: "no committed metadata applied yet" }) },
      ];
    },
  };
}

/** Lets calls in flight finish for up to 2 s, then cuts them. */
function stopServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 2000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The broker's metrics hook, fed into the node's Prometheus families. */
function brokerMetricsSink(metrics: NodeMetrics): BrokerMetricsSink {
  return {
    onProduce(topic, bytes, records) {
      metrics.onBytesIn(topic, bytes);
      metrics.onProduce(topic, records);
    },
    onFetch(topic, bytes, records) {
      metrics.onBytesOut(topic, bytes);
      metrics.onFetch(topic, records);
    },
    onIsrShrink: (topic, partition) => metrics.onIsrShrink(topic, partition),
    onIsrExpand: (topic, partition) => metrics.onIsrExpand(topic, partition),
    onDurableWrite: (kind, seconds) => metrics.onDurableWrite(kind, seconds),
  };
}

/** gRPC wants [::] or 0.0.0.0 spelled out; an IPv6 literal needs brackets. */
function hostForBind(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
