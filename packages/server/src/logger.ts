// The node's logger: pino JSON lines carrying node_id and roles on every line, or
// human-readable lines (pino-pretty) when stdout is a terminal.

import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export function createNodeLogger(options: { nodeId: number | undefined; roles: string; level: string; pretty: boolean }): Logger {
  const base = { node_id: options.nodeId ?? null, roles: options.roles };
  const settings = { level: options.level, base, timestamp: pino.stdTimeFunctions.isoTime };
  if (!options.pretty) return pino(settings);
  return pino(settings, pretty({ colorize: true, sync: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" }));
}
