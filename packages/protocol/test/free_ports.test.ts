import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { pickFreePorts } from "../src/net/free_ports.js";

describe("pickFreePorts", () => {
  it("gives distinct ports below the ephemeral range", async () => {
    const ports = await pickFreePorts(30);
    expect(new Set(ports).size).toBe(30);
    for (const p of ports) expect(p >= 20_000 && p < 32_768).toBe(true);
  });

  it("skips a port that is taken and a port it already picked", async () => {
    // Hold 20000 (the port random() = 0 maps to) so the picker has to skip it.
    const taken: Server = await new Promise((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(20_000, "127.0.0.1", () => resolve(s));
    });
    try {
      const offers = [0, 0.5, 0.5, 0.75];
      let i = 0;
      const ports = await pickFreePorts(2, "127.0.0.1", () => offers[Math.min(i++, offers.length - 1)]!);
      expect(ports).toEqual([20_000 + Math.floor(0.5 * 12_768), 20_000 + Math.floor(0.75 * 12_768)]);
      expect(i).toBe(4); // 20000 refused (taken), then 0.5 picked, 0.5 again skipped, 0.75 picked
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
