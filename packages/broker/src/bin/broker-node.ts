// A runnable broker-only node for tests and benchmarks until the `brook` server process wires
// roles (packages/server): starts Broker.start from flags, prints one READY line with the
// bound port, and on SIGTERM/SIGINT does a controlled shutdown (leadership moves first).
//   node dist/bin/broker-node.js --node-id 1 --data-dir /tmp/b1 --listen 127.0.0.1:0 \
//     --controllers 1@127.0.0.1:9093[,2@...] [--config '{"minInsyncReplicas":2}'] [--rack r1]
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Broker } from "../broker.js";
import type { BrokerConfig } from "../config.js";

// fsync and file I/O share libuv's thread pool (4 threads by default); group commit running
// beside appends and follower reads needs more. Read when the pool first starts, i.e. later.
process.env["UV_THREADPOOL_SIZE"] ??= "16";

function parseVoters(s: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of s.split(",").filter((x) => x.length > 0)) {
    const m = /^(\d+)@(.+:\d+)$/.exec(part.trim());
    if (m === null) throw new Error(`--controllers entry "${part}" is not id@host:port`);
    out.set(Number(m[1]), m[2]!);
  }
  if (out.size === 0) throw new Error("--controllers names no voter");
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "node-id": { type: "string" },
      "data-dir": { type: "string" },
      listen: { type: "string", default: "127.0.0.1:0" },
      advertised: { type: "string" },
      controllers: { type: "string" },
      config: { type: "string", default: "{}" },
      rack: { type: "string" },
      "log-level": { type: "string", default: "info" },
    },
  });
  const nodeId = Number(values["node-id"]);
  if (!Number.isInteger(nodeId) || nodeId < 0) throw new Error("--node-id must be a non-negative integer");
  if (values["data-dir"] === undefined) throw new Error("--data-dir is required");
  if (values.controllers === undefined) throw new Error("--controllers is required");
  const listen = values.listen ?? "127.0.0.1:0";
  const logger = pino({ level: values["log-level"] ?? "info" }, pino.destination(2));
  const config = JSON.parse(values.config ?? "{}") as Partial<BrokerConfig>;
  const broker = await Broker.start({
    nodeId,
    dataDir: values["data-dir"],
    listen,
    advertised: values.advertised ?? listen,
    controllerQuorum: parseVoters(values.controllers),
    config,
    logger,
    ...(values.rack !== undefined ? { rack: values.rack } : {}),
    onFatal: (err) => {
      logger.fatal({ err }, "broker stopped after a data directory failure");
      process.exit(3);
    },
  });
  process.stdout.write(`READY node=${nodeId} port=${broker.port}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "controlled shutdown");
    broker.shutdown({ controlled: true }).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`broker-node: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
