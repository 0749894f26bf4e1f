// The built binary (dist/bin/brook.js; `npm test` builds first) as a user runs it.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin", "brook.js");
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000, env: { PATH: process.env["PATH"] ?? "" } });

describe("brook binary", () => {
  it("names every address it tried when no broker answers, exit code 3", () => {
    // Ports in the tests' range with nothing listening.
    const r = run("-b", "127.0.0.1:4798,127.0.0.1:4799", "topics", "list");
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^brook: could not reach the cluster at 127.0.0.1:4798, 127.0.0.1:4799 /);
    // produce says the same, not "1 of 1 records failed".
    const p = spawnSync(process.execPath, [BIN, "-b", "127.0.0.1:4798", "produce", "t"], { encoding: "utf8", timeout: 60_000, input: "x\n", env: { PATH: process.env["PATH"] ?? "" } });
    expect(p.status).toBe(3);
    expect(p.stderr).toMatch(/^brook: could not reach the cluster at 127.0.0.1:4798 /);
  });

  it("prints help and rejects usage mistakes with exit code 2", () => {
    const help = run("--help");
    expect(help.status).toBe(0);
    for (const command of ["topics", "produce", "consume", "groups", "cluster", "perf"]) expect(help.stdout).toContain(command);
    const bad = run("topics", "create", "t", "--partitions", "none");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("expected a positive integer");
  });
});
