#!/usr/bin/env -S node --initial-heap-size=256
// The `brook` node process. Reads config (file given by --config / first argument /
// BROOK_CONFIG, then BROOK_* environment, then flags), starts the node, and turns SIGTERM
// and SIGINT into a controlled shutdown (a second signal exits at once). Exit codes:
// 0 clean stop, 2 bad config, 78 data directory refused, 1 anything else.

// First import: sizes the libuv pool before anything can start it.
import "./thread_pool.js";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { ENV_TO_KEY, resolveConfig } from "../config/resolve.js";
import { CONFIG_KEYS, envName } from "../config/schema.js";
import { ConfigSyntaxError, parseArgs, parseConfigFile, parseEnv, type RawConfig } from "../config/sources.js";
import { DataDirError } from "../data/data-dir.js";
import { createNodeLogger, routeGrpcLogs } from "../logger.js";
import { BrookNode } from "../node.js";
import { DEFAULT_ROLE_FACTORIES } from "../roles/default-roles.js";

const pretty = process.stdout.isTTY === true && process.env["BROOK_LOG_FORMAT"] !== "json";

async function main(): Promise<number> {
  const bootLogger = createNodeLogger({ nodeId: undefined, roles: "unknown", level: "info", pretty });
  let layers: RawConfig[];
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(usage());
      return 0;
    }
    const configFile = args.configFile ?? process.env["BROOK_CONFIG"];
    const fileLayer = configFile === undefined ? new Map() : parseConfigFile(await readConfigFile(configFile), configFile);
    const env = parseEnv(process.env, ENV_TO_KEY);
    for (const name of env.unknown) bootLogger.warn(`ignoring environment variable ${name}: not a brook setting (see brook --help)`);
    layers = [fileLayer, env.config, args.config];
  } catch (error) {
    if (error instanceof ConfigSyntaxError) {
      bootLogger.fatal(`config: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const resolved = resolveConfig({ layers, hostname: hostname() });
  if (!resolved.ok) {
    for (const problem of resolved.problems) bootLogger.fatal({ key: problem.key }, `config: ${problem.key} ${problem.message}`);
    bootLogger.fatal(`not starting: fix the ${resolved.problems.length} config problem(s) above (brook --help lists every setting)`);
    return 2;
  }
  const config = resolved.config;
  const logger = createNodeLogger({ nodeId: config.nodeId, roles: [...config.roles].sort().join(","), level: config.logLevel, pretty });
  routeGrpcLogs(logger);
  logger.info({ config: config.effective, uvThreadpoolSize: Number(process.env["UV_THREADPOOL_SIZE"]) }, "starting brook node");

  let node: BrookNode | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1 || node === undefined) {
      logger.warn(`${signal} again: exiting now without a controlled shutdown`);
      process.exit(130);
    }
    logger.info(`${signal}: controlled shutdown (send it again to exit at once)`);
    const deadline = setTimeout(() => {
      logger.error(`shutdown took longer than shutdown.timeout.ms=${config.shutdownTimeoutMs}; exiting anyway`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    node.shutdown({ controlled: true }).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    node = await BrookNode.start({
      config,
      logger,
      roleFactories: DEFAULT_ROLE_FACTORIES,
      onFatal: () => void (node?.shutdown({ controlled: false }) ?? Promise.resolve()).finally(() => process.exit(1)),
    });
  } catch (error) {
    if (error instanceof DataDirError) {
      logger.fatal(`data directory: ${error.message}`);
      return 78;
    }
    throw error;
  }
  return -1; // keep running until a signal
}

async function readConfigFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigSyntaxError(`cannot read config file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}); check the path given by --config or BROOK_CONFIG`);
  }
}

function usage(): string {
  const lines = [
    "usage: brook-server [--config FILE | FILE] [--key=value ...] [--override key=value ...]",
    "",
    "Config comes from the file (Java .properties or JSON), then BROOK_* environment variables, then flags; later wins.",
    "",
    "settings:",
  ];
  for (const spec of CONFIG_KEYS) {
    const dflt = spec.default !== undefined ? ` (default ${spec.default})` : spec.optional ? " (optional)" : " (required)";
    lines.push(`  ${spec.key}${dflt}  [${envName(spec.key)}]`, `      ${spec.doc}`);
  }
  return lines.join("\n") + "\n";
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
