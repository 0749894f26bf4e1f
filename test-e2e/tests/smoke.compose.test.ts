// The CI smoke test of docker-compose.yml: the compose cluster comes up healthy (every node
// /readyz), a topic with replication factor 3 is created, records are produced and consumed
// through the SDK from the host, and the cluster goes down with its volumes.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerComposeEnvironment, Wait, type StartedDockerComposeEnvironment } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHistory, readPastAcked, type AckedRecord } from "../src/history.js";
import { connect, type E2eClient } from "../src/sdk.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const PORTS = { NODE1_PORT: "4771", NODE2_PORT: "4772", NODE3_PORT: "4773", NODE1_HTTP_PORT: "4781", NODE2_HTTP_PORT: "4782", NODE3_HTTP_PORT: "4783" };

describe("docker compose cluster", () => {
  let env: StartedDockerComposeEnvironment | undefined;
  let sdk: E2eClient | undefined;

  beforeAll(async () => {
    env = await new DockerComposeEnvironment(ROOT, "docker-compose.yml")
      .withProjectName("brook-e2e-smoke")
      .withEnvironment({ ...PORTS, BASE_IMAGE: process.env["BASE_IMAGE"] ?? "local/node-base:20", BROOK_IMAGE: process.env["BROOK_IMAGE"] ?? "brook/node:local" })
      .withDefaultWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(180_000)
      .up();
  });
  afterAll(async () => {
    await sdk?.close().catch(() => {});
    await env?.down({ removeVolumes: true });
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
});
