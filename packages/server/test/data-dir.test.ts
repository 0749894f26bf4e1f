import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDirError, openDataDir } from "../src/data/data-dir.js";
import { decideMeta, deriveClusterId, formatMetaProperties, parseMetaProperties } from "../src/data/meta-properties.js";

const voters = [
  { id: 2, host: "b", port: 9093 },
  { id: 1, host: "a", port: 9093 },
];

describe("meta.properties", () => {
  it("round-trips and derives the same cluster id from the same voters in any order", () => {
    const id = deriveClusterId(voters);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(deriveClusterId([...voters].reverse())).toBe(id);
    expect(deriveClusterId([voters[0]!])).not.toBe(id);
    const meta = { version: 1 as const, clusterId: id, nodeId: 7 };
    expect(parseMetaProperties(formatMetaProperties(meta))).toEqual(meta);
  });

  it("decides write, accept or refuse", () => {
    const wanted = { clusterId: "c1", nodeId: 1 };
    expect(decideMeta(undefined, wanted, "/d").action).toBe("write");
    expect(decideMeta({ version: 1, clusterId: "c1", nodeId: 1 }, wanted, "/d").action).toBe("accept");
    const other = decideMeta({ version: 1, clusterId: "c2", nodeId: 1 }, wanted, "/d");
    expect(other).toMatchObject({ action: "refuse", reason: expect.stringMatching(/^\/d belongs to cluster c2, but this node is configured for cluster c1/) });
    expect(decideMeta({ version: 1, clusterId: "c1", nodeId: 2 }, wanted, "/d")).toMatchObject({ action: "refuse", reason: expect.stringMatching(/belongs to node 2, but node.id is 1/) });
    expect(decideMeta(parseMetaProperties("version=9\n"), wanted, "/d")).toMatchObject({ action: "refuse", reason: expect.stringMatching(/unreadable \(unsupported version "9"/) });
  });
});

describe("openDataDir", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "brook-datadir-")), "node");
  });
  afterEach(async () => {
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("formats a new directory, then accepts it on the next start", async () => {
    const first = await openDataDir(dir, { clusterId: "c1", nodeId: 1 });
    expect(first.formatted).toBe(true);
    expect(await readFile(join(dir, "meta.properties"), "utf8")).toContain("cluster.id=c1");
    await first.close();
    const second = await openDataDir(dir, { clusterId: "c1", nodeId: 1 });
    expect(second.formatted).toBe(false);
    await second.close();
  });

  it("says log.dirs is not a directory when a file is in the way (not 'fix its permissions')", async () => {
    await writeFile(dir, "not a directory");
    await expect(openDataDir(dir, { clusterId: "c1", nodeId: 1 })).rejects.toThrow(/log\.dirs .* is not a directory \(a file is in the way\)/);
    await expect(openDataDir(join(dir, "below"), { clusterId: "c1", nodeId: 1 })).rejects.toThrow(/is not a directory/);
  });

  it("refuses another cluster's data and releases the lock", async () => {
    await (await openDataDir(dir, { clusterId: "c1", nodeId: 1 })).close();
    await expect(openDataDir(dir, { clusterId: "c2", nodeId: 1 })).rejects.toThrow(DataDirError);
    const again = await openDataDir(dir, { clusterId: "c1", nodeId: 1 });
    await again.close();
  });

  it("refuses a directory locked by a live process and takes over a stale lock", async () => {
    const held = await openDataDir(dir, { clusterId: "c1", nodeId: 1 });
    // The test process itself is alive: a second opener with another pid must be refused.
    await expect(openDataDir(dir, { clusterId: "c1", nodeId: 1 }, process.pid + 1)).rejects.toThrow(/in use by another brook process \(pid \d+\)/);
    await held.close();
    // A pid that cannot exist (above pid_max) stands for a SIGKILLed holder.
    await writeFile(join(dir, ".lock"), "99999999\n");
    const taken = await openDataDir(dir, { clusterId: "c1", nodeId: 1 });
    expect((await readFile(join(dir, ".lock"), "utf8")).trim()).toBe(String(process.pid));
    await taken.close();
  });
});
