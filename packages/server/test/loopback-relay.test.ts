import { createServer, connect } from "node:net";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config/resolve.js";
import { parseArgs } from "../src/config/sources.js";
import { startLoopbackRelays } from "../src/net/loopback-relay.js";

const base = ["--node.id=1", "--controller.quorum.voters=1@h:9093", "--log.dirs=/d", "--listeners=PLAINTEXT://:19092,CONTROLLER://:9093", "--advertised.listeners=PLAINTEXT://127.0.0.1:19092"];

describe("loopback.relays config", () => {
  it("parses port=host:port pairs and rejects clashes and bad entries", () => {
    const ok = resolveConfig({ layers: [parseArgs([...base, "--loopback.relays=29092=node2:29092,39092=node3:39092"]).config], hostname: "h" });
    expect(ok.ok && ok.config.loopbackRelays).toEqual([
      { port: 29092, target: { host: "node2", port: 29092 } },
      { port: 39092, target: { host: "node3", port: 39092 } },
    ]);
    const bad = resolveConfig({ layers: [parseArgs([...base, "--loopback.relays=19092=node2:1,x"]).config], hostname: "h" });
    expect(bad.ok ? [] : bad.problems.map((p) => p.message)).toEqual(['entry "x" is malformed; expected port=host:port, e.g. 29092=node2:29092', "port 19092 is also a listener port of this node"]);
  });
});

describe("startLoopbackRelays", () => {
  it("forwards bytes both ways to the target and closes cleanly", async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    const target = { host: "127.0.0.1", port: (echo.address() as { port: number }).port };
    const abort = new AbortController();
    const relays = await startLoopbackRelays([{ port: 4717, target }], { signal: abort.signal, onWaiting: () => {} });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port: 4717 }, () => socket.write("ping"));
        socket.once("data", (data) => {
          resolve(data.toString());
          socket.destroy();
        });
        socket.once("error", reject);
      });
      expect(reply).toBe("ping");
    } finally {
      await relays.close();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});
