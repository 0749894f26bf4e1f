// A node whose store is damaged refuses to start with a typed error naming the problem,
// rather than joining the cluster with a log that silently lost acknowledged entries.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { pino } from "pino";
import { afterAll, expect, it } from "vitest";
import { EntryType } from "../../src/core/types.js";
import { RaftNode } from "../../src/node/raft_node.js";
import { CorruptStorageError } from "../../src/storage/errors.js";
import { LevelStorage } from "../../src/storage/level_storage.js";
import { runKey } from "../../src/storage/record_codec.js";

let dir = "";
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

it("RaftNode.open rejects a store with a flipped byte with CorruptStorageError", async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-raft-corrupt-"));
  const s = await LevelStorage.open(dir, { voters: [1] });
  await s.save({ term: 1, vote: 1, commit: 1 }, [{ index: 1, term: 1, type: EntryType.Normal, data: Uint8Array.of(1, 2, 3) }]);
  await s.close();
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
  const value = (await db.get(runKey(1)))!;
  const bad = Uint8Array.from(value);
  bad[bad.length - 1]! ^= 0x01;
  await db.put(runKey(1), bad);
  await db.close();

  const err = await RaftNode.open({
    id: 1,
    voters: new Map([[1, "127.0.0.1:0"]]),
    dataDir: dir,
    logger: pino({ level: "silent" }),
    listen: "127.0.0.1:0",
    stateMachine: { apply: () => undefined, snapshot: () => new Uint8Array(0), restore: () => undefined },
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CorruptStorageError);
  expect((err as CorruptStorageError).code).toBe("CORRUPT_STORAGE");
  expect((err as Error).message).toContain("run at 1: run record checksum mismatch");
});
