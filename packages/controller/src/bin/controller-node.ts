#!/usr/bin/env node
// controller-node: one metadata-quorum voter as a process (Raft and the Controller service on
// one gRPC listener), for the integration test and the benchmarks.
//
//   node dist/bin/controller-node.js --id 1 --voters 1@127.0.0.1:4201,2@127.0.0.1:4202,3@127.0.0.1:4203 \
//        --data /tmp/c1 [--session-timeout-ms 1000] [--election-timeout-ms 300] [--heartbeat-ms 50]
//        [--snapshot-every 10000] [--log-level warn]
//
// It listens on its own entry of --voters. The first stdout line is {"event":"ready"};
// logs (pino) go to stderr. SIGTERM closes it cleanly.
import * as grpc from "@grpc/grpc-js";
import { widenReceiveWindow } from "@brook/protocol";
import { pino } from "pino";
import { ControllerService } from "@brook/protocol/gen/brook/v1/controller";
import { controllerService } from "../server/controller_service.js";
import { QuorumController } from "../server/quorum_controller.js";

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i] ?? "";
    const v = argv[i + 1];
    if (!k.startsWith("--") || v === undefined) throw new Error(`bad argument ${k}; use --name value pairs`);
    args.set(k.slice(2), v);
  }
  return args;
}

function num(args: Map<string, string>, key: string): number | undefined {
  const v = args.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${key} ${v} is not a non-negative number`);
  return n;
}

export function parseVoters(spec: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of spec.split(",")) {
    const m = /^(\d+)@(.+):(\d+)$/.exec(part.trim());
    if (m === null) throw new Error(`voter "${part}" is not id@host:port`);
    out.set(Number(m[1]), `${m[2]}:${m[3]}`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const id = num(args, "id");
  const voters = parseVoters(args.get("voters") ?? "");
  const dataDir = args.get("data");
  if (id === undefined || dataDir === undefined) throw new Error("--id and --data are required");
  const listen = voters.get(id);
  if (listen === undefined) throw new Error(`--id ${id} is not among --voters`);
  const logger = pino({ level: args.get("log-level") ?? "warn" }, pino.destination(2));
  const server = new grpc.Server({ "grpc.max_receive_message_length": 8 * 1024 * 1024 });
  widenReceiveWindow(server);
  const session = num(args, "session-timeout-ms");
  const election = num(args, "election-timeout-ms");
  const heartbeat = num(args, "heartbeat-ms");
  const snapshotEvery = num(args, "snapshot-every");
  const qc = await QuorumController.open({
    id,
    voters,
    dataDir,
    logger,
    server,
    ...(session !== undefined ? { logic: { sessionTimeoutMs: session } } : {}),
    ...(election !== undefined ? { electionTimeoutMs: election } : {}),
    ...(heartbeat !== undefined ? { heartbeatIntervalMs: heartbeat } : {}),
    ...(snapshotEvery !== undefined ? { snapshotEveryEntries: snapshotEvery } : {}),
  });
  server.addService(ControllerService, controllerService(qc, logger));
  await new Promise<number>((resolve, reject) => server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  process.stdout.write(`${JSON.stringify({ event: "ready", id })}\n`);
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    void qc
      .close()
      .then(() => new Promise<void>((r) => server.tryShutdown(() => r())))
      .then(() => process.exit(0));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`controller-node: ${(err as Error).message}\n`);
  process.exit(2);
});
