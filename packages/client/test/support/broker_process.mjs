// A broker node process for the SDK's integration tests: the real Broker (built dist of
// packages/broker) with the group coordinator installed, as the `brook` server will run it.
// Stopgap until packages/server serves the broker role (`npm run cluster`). Prints
// "READY node=<id> port=<port>" once serving; SIGKILL is the crash the tests inflict.
//   node broker_process.mjs <nodeId> <dataDir> <controllerPort>
import { createRequire } from "node:module";
import { Broker } from "../../../broker/dist/index.js";
import { installGroupCoordinator } from "../../../broker/dist/group/install.js";

// pino is the broker's dependency, not the SDK's: resolve it from the broker package.
const { pino } = createRequire(new URL("../../../broker/package.json", import.meta.url))("pino");
const [nodeId, dataDir, controllerPort] = process.argv.slice(2);
const logger = pino({ level: process.env.BROOK_TEST_LOG ?? "warn" }, pino.destination(2));
const broker = await Broker.start({
  nodeId: Number(nodeId),
  dataDir,
  listen: "127.0.0.1:0",
  advertised: "127.0.0.1:0",
  controllerQuorum: new Map([[0, `127.0.0.1:${controllerPort}`]]),
  config: { replicaLagTimeMaxMs: 2_000, brokerHeartbeatIntervalMs: 200, replicaFetchWaitMaxMs: 100 },
  logger,
});
installGroupCoordinator(broker, { onError: (err, what) => logger.warn({ err: String(err) }, what) });
process.stdout.write(`READY node=${nodeId} port=${broker.port}\n`);
process.on("SIGTERM", () => void broker.shutdown({ controlled: true }).then(() => process.exit(0)));
