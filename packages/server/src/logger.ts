// The node's logger: pino JSON lines carrying node_id and roles on every line, or
// human-readable lines (pino-pretty) when stdout is a terminal.

import { setLogger } from "@grpc/grpc-js";
import { format } from "node:util";
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export function createNodeLogger(options: { nodeId: number | undefined; roles: string; level: string; pretty: boolean }): Logger {
  const base = { node_id: options.nodeId ?? null, roles: options.roles };
  const settings = { level: options.level, base, timestamp: pino.stdTimeFunctions.isoTime };
  if (!options.pretty) return pino(settings);
  return pino(settings, pretty({ colorize: true, sync: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" }));
}

/**
 * grpc-js's own log lines ("E No address added out of total 1 resolved") go through the
 * node's logger as warnings of component grpc-js instead of bare stderr lines next to the
 * JSON ones. The node logs what they mean itself (a bind it retries, a peer it reconnects to).
 * GRPC_VERBOSITY still decides which of them grpc-js emits.
 */
export function routeGrpcLogs(logger: Logger): void {
  const grpc = logger.child({ component: "grpc-js" });
  setLogger({
    error: (message?: unknown, ...rest: unknown[]) => grpc.warn(format(message, ...rest)),
    info: (message?: unknown, ...rest: unknown[]) => grpc.info(format(message, ...rest)),
    debug: (message?: unknown, ...rest: unknown[]) => grpc.debug(format(message, ...rest)),
  });
}
