// The controller role over @brook/controller's QuorumController: Raft and the Controller
// service on one gRPC server bound to the controller listener (controller.quorum.voters
// names the same port). Readiness: a Raft leader is known and this voter has applied what
// was committed. Feeds the Raft and controller-active gauges.

import { Server, ServerCredentials } from "@grpc/grpc-js";
import { QuorumController, controllerService } from "@brook/controller";
import { widenReceiveWindow } from "@brook/protocol";
import { ControllerService } from "@brook/protocol/gen/brook/v1/controller";
import { requestMetricsInterceptor } from "../http/grpc-metrics.js";
import type { ReadinessCheck } from "../http/readiness.js";
import type { NodeRole, RoleContext } from "./role.js";

const BIND_RETRY_MS = 2000;
const BIND_REPEAT_LOG_MS = 30_000;

export function controllerRole(ctx: RoleContext): NodeRole {
  const { config } = ctx;
  const logger = ctx.logger.child({ role: "controller" });
  const listener = config.listeners.find((l) => l.name === config.controllerListenerName)!;
  const server = new Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024, interceptors: [requestMetricsInterceptor(ctx.metrics)] });
  // Raft AppendEntries streams arrive here: 64 KiB windows would stall large entries and snapshots.
  widenReceiveWindow(server);
  let qc: QuorumController | undefined;
  let stopping = false;

  async function bindPatiently(): Promise<number> {
    let lastLog = -Infinity;
    const address = `${listener.host.includes(":") ? `[${listener.host}]` : listener.host}:${listener.port}`;
    for (;;) {
      try {
        return await new Promise<number>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
      } catch (error) {
        if (stopping) throw error;
        if (performance.now() - lastLog >= BIND_REPEAT_LOG_MS) {
          lastLog = performance.now();
          logger.warn(`cannot bind the controller listener ${config.controllerListenerName}://${address} (listeners): ${(error as Error).message}; if the port is in use, stop that process or change listeners and controller.quorum.voters; retrying every ${BIND_RETRY_MS / 1000}s`);
        }
        await new Promise((resolve) => setTimeout(resolve, BIND_RETRY_MS));
      }
    }
  }

  return {
    name: "controller",
    async start() {
      qc = await QuorumController.open({
        id: config.nodeId,
        voters: new Map(config.voters.map((v) => [v.id, `${v.host}:${v.port}`])),
        dataDir: ctx.dataDir.controllerDir,
        logger,
        server,
        logic: {
          sessionTimeoutMs: config.brokerSessionTimeoutMs,
          defaultReplicationFactor: config.topicDefaults.replicationFactor,
          defaultPartitions: config.topicDefaults.numPartitions,
        },
        electionTimeoutMs: config.electionTimeoutMs,
        clusterId: ctx.clusterId,
      });
      server.addService(ControllerService, controllerService(qc, logger));
      const port = await bindPatiently();
      logger.info(`controller listening on ${listener.host}:${port}`);
      const controller = qc;
      ctx.metrics.setOfflinePartitionsProbe(() => {
        let offline = 0;
        for (const topic of controller.image.topics.byId.values()) for (const p of topic.partitions.values()) if (p.leader === -1) offline++;
        return offline;
      });
      ctx.metrics.setRaftProbe(() => ({ term: controller.raft.term, commitIndex: controller.raft.commitIndex, leaderId: controller.raft.leaderId === 0 ? -1 : controller.raft.leaderId, active: controller.isActive }));
      if (stopping) await qc.close();
    },
    async shutdown() {
      stopping = true;
      await qc?.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    readiness(): ReadinessCheck[] {
      if (qc === undefined) return [{ name: "controller.leader-known", ok: false, detail: "controller is opening its Raft log" }];
      const leader = qc.raft.leaderId;
      const caughtUp = qc.raft.appliedIndex >= qc.raft.commitIndex;
      return [
        { name: "controller.leader-known", ok: leader !== 0, ...(leader !== 0 ? {} : { detail: "no Raft leader elected yet" }) },
        { name: "controller.caught-up", ok: caughtUp, ...(caughtUp ? {} : { detail: `applied ${qc.raft.appliedIndex} of ${qc.raft.commitIndex} committed` }) },
      ];
    },
  };
}
