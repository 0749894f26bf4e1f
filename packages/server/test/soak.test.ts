// A short run of the chaos soak (`npm run soak`, src/soak/) as part of `npm test`: three real
// nodes, idempotent acks=all producers, a seeded schedule of SIGKILL, SIGSTOP and SIGTERM, and
// the history checker over everything read back. Both data-loss bugs the soak found
// (acks released by a later leader epoch; an append landing after a follower's truncation
// decision) showed up within a minute of seed 42. Timing is not exact, so a run may miss a
// race; it cannot pass when acknowledged records are lost, duplicated or reordered, a node
// crashes, or a node does not come back. Long soaks: `npm run soak -- --minutes N`.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "soak", "cli.js");

it("a one-minute chaos soak (seed 42) loses, duplicates and reorders nothing", async () => {
  // Fixed ports below the ephemeral range: the soak restarts nodes on their ports, and while a
  // node is down a port picked "free" by another test's cluster (bind 0, release, bind later)
  // could be the same one; then one of the two clusters cannot bind (seen in CI once: another
  // suite's cluster never became ready). Nothing else in the tests uses 5100-5139.
  const child = spawn(process.execPath, [CLI, "--minutes", "1", "--seed", "42"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BROOK_SOAK_BASE_PORT: "5100" } });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  expect(out, out).toMatch(/violations\s+0\b/);
  expect(out, out).toMatch(/node crashes\s+0\b/);
  expect(code, out).toBe(0);
}, 420_000);
