// The CI smoke test of docker-compose.yml, once with compose v2 (`docker compose`) and once
// with compose 1.29 (`docker-compose`, the python v1 binary): the cluster comes up healthy
// (every node /readyz), a topic with replication factor 3 is created, records are produced
// (acks=all) and consumed through the SDK from the host over the EXTERNAL listeners, and the
// cluster goes down with its volumes. Replication runs over the INTERNAL listeners (by name),
// so acks=all with min.insync.replicas=2 proves both listeners work.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHistory, readPastAcked, type AckedRecord } from "../src/history.js";
import { connect, type E2eClient } from "../src/sdk.js";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PORTS = { NODE1_PORT: "4771", NODE2_PORT: "4772", NODE3_PORT: "4773", NODE1_HTTP_PORT: "4781", NODE2_HTTP_PORT: "4782", NODE3_HTTP_PORT: "4783" };
/** Compose 1.29 from Debian's docker-compose package (run.sh installs it); COMPOSE_V1 overrides. */
const COMPOSE_V1 = process.env["COMPOSE_V1"] ?? "/usr/bin/docker-compose";

const flavours = [
  { name: "compose v2 (docker compose)", project: "brook-e2e-smoke-v2", v1: false },
  { name: "compose v1 (docker-compose 1.29)", project: "brook-e2e-smoke-v1", v1: true },
] as const;

describe.each(flavours)("docker-compose.yml with $name", ({ project, v1 }) => {
  let env: StartedDockerComposeEnvironment | undefined;
  let sdk: E2eClient | undefined;

  beforeAll(async () => {
    let compose = new DockerComposeEnvironment(ROOT, "docker-compose.yml")
      .withProjectName(project)
      .withEnvironment({ ...PORTS, BASE_IMAGE: process.env["BASE_IMAGE"] ?? "local/node-base:20", BROOK_IMAGE: process.env["BROOK_IMAGE"] ?? "brook/node:local" })
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(180_000);
    if (v1) compose = compose.withClientOptions({ executable: { standalone: true, executablePath: COMPOSE_V1 } });
    env = await compose.up();
  });
  afterAll(async () => {
    await sdk?.close().catch(() => {});
    await env?.down({ removeVolumes: true });
  });

  it("runs the compose flavour it names", async () => {
    const { stdout } = v1 ? await run(COMPOSE_V1, ["version", "--short"]) : await run("docker", ["compose", "version", "--short"]);
    expect(stdout.trim()).toMatch(v1 ? /^1\.29\./ : /^v?2\./);
  });

  it("every node reports ready", async () => {
    for (const port of [PORTS.NODE1_HTTP_PORT, PORTS.NODE2_HTTP_PORT, PORTS.NODE3_HTTP_PORT]) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
    }
  });

  it("creates a topic with replication factor 3, produces and consumes from the host", async () => {
    sdk = connect([`127.0.0.1:${PORTS.NODE1_PORT}`, `127.0.0.1:${PORTS.NODE2_PORT}`, `127.0.0.1:${PORTS.NODE3_PORT}`]);
    await sdk.createTopic("smoke", 3, 3);
    const acked: AckedRecord[] = [];
    for (let seq = 0; seq < 60; seq++) {
      const at = await sdk.send("smoke", `k${seq % 7}`, `v${seq}`);
      acked.push({ ...at, value: `v${seq}`, producer: "p", seq });
    }
    const read = await sdk.consumeFromStart("smoke", "smoke-group", (r) => readPastAcked(acked, r), 60_000);
    read.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    expect(checkHistory(acked, read)).toEqual([]);
  });

  it("goes down with its containers, network and volumes", async () => {
    await sdk?.close();
    sdk = undefined;
    await env!.down({ removeVolumes: true });
    env = undefined;
    const label = `label=com.docker.compose.project=${project}`;
    for (const kind of [["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]]) {
      const { stdout } = await run("docker", [...kind, "--filter", label]);
      expect(stdout.trim(), `docker ${kind.join(" ")} left for ${project}`).toBe("");
    }
  });
});
