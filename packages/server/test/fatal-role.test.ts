// The node's wiring of a role's fatal error (the broker's onFatal after its data directory
// failed): the role gets an onFatal in its context, and calling it reaches the node's own
// onFatal (bin/brook.ts stops the node and exits 1 there). Real data directory and HTTP port
// (4870); the broker role is a stand-in that only reports the failure, since making a real
// disk fail needs privileges these machines do not give (the broker's own tests cover that
// path with an injected I/O failure).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config/resolve.js";
import { parseArgs } from "../src/config/sources.js";
import { BrookNode } from "../src/node.js";
import type { RoleContext } from "../src/roles/role.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("a role's fatal error", () => {
  it("reaches the node's onFatal through the role context", async () => {
    const dir = await mkdtemp(join(tmpdir(), "brook-fatal-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const resolved = resolveConfig({
      layers: [parseArgs(["--node.id=1", "--process.roles=broker", "--controller.quorum.voters=2@127.0.0.1:4871", "--listeners=PLAINTEXT://127.0.0.1:4873", "--http.listener=127.0.0.1:4870", `--log.dirs=${dir}`]).config],
      hostname: "h",
    });
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.problems));
    let context: RoleContext | undefined;
    const fatal: unknown[] = [];
    const node = await BrookNode.start({
      config: resolved.config,
      logger: pino({ level: "silent" }),
      roleFactories: {
        controller: () => {
          throw new Error("not used");
        },
        broker: (ctx) => {
          context = ctx;
          return { name: "broker", start: async () => {}, shutdown: async () => {}, readiness: () => [] };
        },
      },
      onFatal: (err) => fatal.push(err),
    });
    cleanups.push(() => node.shutdown({ controlled: false }));
    for (let i = 0; context === undefined && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
    const diskFailure = new Error("KAFKA_STORAGE_ERROR: ENOSPC");
    context!.onFatal(diskFailure);
    expect(fatal).toEqual([diskFailure]);
  });
});
