// What the node process needs from a role (controller or broker): start it, stop it
// (controlled or not), and ask whether it is ready. Adapters in this folder wrap the
// controller and broker packages' own APIs behind this seam.

import type { NodeConfig } from "../config/resolve.js";
import type { OpenedDataDir } from "../data/data-dir.js";
import type { NodeMetrics } from "../http/metrics.js";
import type { ReadinessCheck } from "../http/readiness.js";
import type { Logger } from "../logger.js";

export interface RoleContext {
  readonly config: NodeConfig;
  readonly clusterId: string;
  readonly dataDir: OpenedDataDir;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** A role that can no longer serve (e.g. the broker's data directory failed) stops the node. */
  readonly onFatal: (error: unknown) => void;
}

export interface NodeRole {
  readonly name: "controller" | "broker";
  /** Resolves once the role serves (it may still be waiting for peers; see readiness()). */
  start(): Promise<void>;
  /** controlled: move leadership away first (SIGTERM); otherwise stop at once. */
  shutdown(options: { controlled: boolean }): Promise<void>;
  readiness(): readonly ReadinessCheck[];
}

export type RoleFactory = (context: RoleContext) => NodeRole | Promise<NodeRole>;

/**
 * Stand-in for a role whose package does not export a runnable implementation yet. It never
 * pretends: readiness fails with the reason, so /readyz and the log say what is missing.
 */
export function unavailableRole(name: "controller" | "broker", reason: string, logger: Logger): NodeRole {
  return {
    name,
    async start() {
      logger.error({ role: name }, `${name} role is not available in this build: ${reason}`);
    },
    async shutdown() {},
    readiness: () => [{ name: `${name}.available`, ok: false, detail: reason }],
  };
}
