// One brook node: owns the data directory, the HTTP port and the roles, and orders their
// start and stop. Start: data dir (lock + meta.properties) -> HTTP -> controller -> broker,
// with a background quorum probe that logs what the node waits for. Stop: broker
// (controlled on SIGTERM: leadership moves first) -> controller -> HTTP -> unlock.

import type { Server } from "node:http";
import type { NodeConfig } from "./config/resolve.js";
import { openDataDir, type OpenedDataDir } from "./data/data-dir.js";
import { deriveClusterId } from "./data/meta-properties.js";
import { createHttpServer } from "./http/http-server.js";
import { PrometheusNodeMetrics } from "./http/metrics.js";
import { combineReadiness, type ReadinessCheck, type ReadinessReport } from "./http/readiness.js";
import type { Logger } from "./logger.js";
import { listenPatiently } from "./net/listen.js";
import { probeVoter, quorumStatus, waitForQuorum } from "./net/quorum-probe.js";
import type { NodeRole, RoleFactory } from "./roles/role.js";

export interface BrookNodeOptions {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly roleFactories: { readonly controller: RoleFactory; readonly broker: RoleFactory };
  /** Called when a role fails to start after start() resolved; the process should stop. */
  readonly onFatal?: (error: unknown) => void;
}

type Phase = "starting" | "running" | "stopping" | "stopped";

export class BrookNode {
  readonly config: NodeConfig;
  readonly metrics: PrometheusNodeMetrics;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  readonly #startedAt = Date.now();
  #phase: Phase = "starting";
  #http?: Server;
  #httpPort = 0;
  #dataDir?: OpenedDataDir;
  #roles: NodeRole[] = [];
  #quorumReachable = false;
  #allRolesStarted = false;
  #stopping?: Promise<void>;

  private constructor(options: BrookNodeOptions) {
    this.config = options.config;
    this.#logger = options.logger;
    this.metrics = new PrometheusNodeMetrics({ nodeId: options.config.nodeId, roles: [...options.config.roles].sort().join(",") });
  }

  /** Starts the node; on failure everything already started is stopped before the error is rethrown. */
  static async start(options: BrookNodeOptions): Promise<BrookNode> {
    const node = new BrookNode(options);
    try {
      await node.#start(options);
    } catch (error) {
      await node.shutdown({ controlled: false }).catch(() => {});
      throw error;
    }
    return node;
  }

  get httpPort(): number {
    return this.#httpPort;
  }

  get clusterId(): string | undefined {
    return this.#dataDir?.meta.clusterId;
  }

  readiness(): ReadinessReport {
    const started = this.#phase === "running" && this.#allRolesStarted;
    const checks: ReadinessCheck[] = [{ name: "node.started", ok: started, ...(started ? {} : { detail: this.#phase === "running" ? "roles are starting" : `node is ${this.#phase}` }) }];
    checks.push({ name: "quorum.reachable", ok: this.#quorumReachable, ...(this.#quorumReachable ? {} : { detail: "a majority of controller.quorum.voters has not answered yet" }) });
    for (const role of this.#roles) checks.push(...role.readiness());
    return combineReadiness(checks);
  }

  async #start(options: BrookNodeOptions): Promise<void> {
    const { config } = this;
    const clusterId = config.clusterId ?? deriveClusterId(config.voters);
    this.#dataDir = await openDataDir(config.dataDir, { clusterId, nodeId: config.nodeId });
    this.#logger.info({ clusterId, dataDir: config.dataDir, formatted: this.#dataDir.formatted }, this.#dataDir.formatted ? "formatted a new data directory" : "opened data directory");

    this.#http = createHttpServer({
      registry: this.metrics.registry,
      readiness: () => this.readiness(),
      health: () => ({ nodeId: config.nodeId, roles: [...config.roles], clusterId, uptimeMs: Date.now() - this.#startedAt }),
    });
    this.#httpPort = await listenPatiently(this.#http, {
      host: config.http.host,
      port: config.http.port,
      key: "http.listener",
      signal: this.#abort.signal,
      onWaiting: (message) => this.#logger.warn(message),
    });
    this.#logger.info({ port: this.#httpPort }, `HTTP on ${config.http.host}:${this.#httpPort} (/metrics, /healthz, /readyz)`);

    void waitForQuorum({
      selfId: config.nodeId,
      voters: config.voters,
      signal: this.#abort.signal,
      log: (status) => (status.ok ? this.#logger.info(status.message) : this.#logger.warn(status.message)),
    }).then((ok) => {
      this.#quorumReachable = ok;
    });

    // Roles start in the background, controller first: a broker's start resolves only once
    // it has registered with a live quorum, and the node must keep serving /healthz and
    // logging what it waits for meanwhile. A role that fails to start stops the node.
    const onFatal = (error: unknown): void => {
      if (this.#abort.signal.aborted) return;
      this.#logger.fatal({ err: error }, `a role stopped on a fatal error: ${error instanceof Error ? error.message : String(error)}; stopping the node`);
      options.onFatal?.(error);
    };
    const context = { config, clusterId, dataDir: this.#dataDir, metrics: this.metrics, onFatal };
    this.#phase = "running";
    this.#logger.info("node started; starting roles");
    void (async () => {
      for (const name of ["controller", "broker"] as const) {
        if (!config.roles.has(name) || this.#abort.signal.aborted) continue;
        const role = await options.roleFactories[name]({ ...context, logger: this.#logger });
        this.#roles.push(role);
        await role.start();
        this.#logger.info(`${name} role started`);
      }
      this.#allRolesStarted = !this.#abort.signal.aborted;
    })().catch((error: unknown) => {
      if (this.#abort.signal.aborted) return;
      this.#logger.fatal({ err: error }, `a role failed to start: ${error instanceof Error ? error.message : String(error)}; stopping the node`);
      options.onFatal?.(error);
    });
  }

  /**
   * Moving leadership away needs a live quorum to elect new leaders. When most voters are
   * already gone (the last nodes of a full stop), waiting for it would only run into the
   * timeout, so the node stops at once instead and says why.
   */
  async #quorumAllowsControlledShutdown(): Promise<boolean> {
    const probes = await Promise.all(this.config.voters.map((v) => (v.id === this.config.nodeId ? { voter: v, reachable: true } : probeVoter(v, 1000))));
    const status = quorumStatus(this.config.nodeId, probes);
    if (!status.ok) this.#logger.warn(`skipping the controlled part of the shutdown: ${status.reachable}/${probes.length} voters reachable, so no leader can take over this node's partitions`);
    return status.ok;
  }

  /** Idempotent: a second call waits for the first. Roles stop in reverse start order. */
  shutdown(options: { controlled: boolean }): Promise<void> {
    this.#stopping ??= this.#shutdown(options);
    return this.#stopping;
  }

  async #shutdown(requested: { controlled: boolean }): Promise<void> {
    this.#phase = "stopping";
    this.#abort.abort();
    const options = { controlled: requested.controlled && (await this.#quorumAllowsControlledShutdown()) };
    this.#logger.info({ controlled: options.controlled }, "shutting down");
    for (const role of [...this.#roles].reverse()) {
      try {
        await role.shutdown(options);
      } catch (error) {
        this.#logger.error({ err: error, role: role.name }, "role failed to shut down cleanly");
      }
    }
    const http = this.#http;
    if (http?.listening) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
    await this.#dataDir?.close();
    this.#phase = "stopped";
    this.#logger.info("stopped");
  }
}

