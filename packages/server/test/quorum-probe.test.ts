import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { probeVoter, quorumStatus } from "../src/net/quorum-probe.js";

const v = (id: number) => ({ id, host: "127.0.0.1", port: 4700 + id });

describe("quorumStatus", () => {
  it("counts this node and needs a majority", () => {
    const waiting = quorumStatus(1, [
      { voter: v(1), reachable: false },
      { voter: v(2), reachable: false, error: "ECONNREFUSED" },
      { voter: v(3), reachable: false, error: "timeout" },
    ]);
    expect(waiting.ok).toBe(false);
    expect(waiting.message).toBe(
      "waiting for the controller quorum: 1/3 voters reachable, 2 needed; unreachable: 2@127.0.0.1:4702 (ECONNREFUSED), 3@127.0.0.1:4703 (timeout). Start the other nodes, or check controller.quorum.voters and the network between nodes",
    );
    const ok = quorumStatus(1, [{ voter: v(1), reachable: false }, { voter: v(2), reachable: true }, { voter: v(3), reachable: false }]);
    expect(ok).toMatchObject({ ok: true, reachable: 2, needed: 2 });
  });

  it("works for a broker-only node that is not a voter", () => {
    expect(quorumStatus(9, [{ voter: v(1), reachable: true }]).ok).toBe(true);
    expect(quorumStatus(9, [{ voter: v(1), reachable: false }]).ok).toBe(false);
  });
});

describe("probeVoter", () => {
  it("reports a listening port as reachable and a closed one with its error code", async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    expect(await probeVoter({ id: 1, host: "127.0.0.1", port }, 5000)).toMatchObject({ reachable: true });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await probeVoter({ id: 1, host: "127.0.0.1", port }, 5000)).toMatchObject({ reachable: false, error: "ECONNREFUSED" });
  });
});
