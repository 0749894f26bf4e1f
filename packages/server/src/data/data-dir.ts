// The data directory of one node. Owns its layout, its lock and meta.properties:
//
//   <log.dirs>/meta.properties   cluster.id + node.id, written once (fsynced file and dir)
//   <log.dirs>/.lock             pid of the running node; a lock whose pid is dead is stale
//   <log.dirs>/controller/       Raft log and metadata snapshots (controller role)
//   <log.dirs>/broker/           partition logs, checkpoints, metadata cache (broker role)
//
// Contract: open() before any role starts; close() after every role stopped. A SIGKILLed
// node leaves a stale .lock that the next open() replaces.

import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { decideMeta, formatMetaProperties, parseMetaProperties, type MetaProperties } from "./meta-properties.js";

export class DataDirError extends Error {
  override readonly name = "DataDirError";
}

export interface DataDirLayout {
  readonly root: string;
  readonly controllerDir: string;
  readonly brokerDir: string;
}

export function dataDirLayout(root: string): DataDirLayout {
  return { root, controllerDir: join(root, "controller"), brokerDir: join(root, "broker") };
}

export interface OpenedDataDir extends DataDirLayout {
  readonly meta: MetaProperties;
  /** True when this start wrote meta.properties (a brand-new directory). */
  readonly formatted: boolean;
  close(): Promise<void>;
}

export async function openDataDir(root: string, wanted: { clusterId: string; nodeId: number }, pid: number = process.pid): Promise<OpenedDataDir> {
  const layout = dataDirLayout(root);
  try {
    await mkdir(root, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EEXIST from mkdir -p: the path (or a parent) is a file, which no permission change fixes.
    if (code === "EEXIST" || code === "ENOTDIR") throw new DataDirError(`log.dirs ${root} is not a directory (a file is in the way); point log.dirs at a directory`);
    throw new DataDirError(`cannot create log.dirs ${root} (${code ?? String(error)}); fix its permissions or point log.dirs elsewhere`);
  }
  await acquireLock(root, pid);
  try {
    const metaPath = join(root, "meta.properties");
    const text = await readFile(metaPath, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    const decision = decideMeta(text === undefined ? undefined : parseMetaProperties(text), wanted, root);
    if (decision.action === "refuse") throw new DataDirError(decision.reason);
    if (decision.action === "write") await writeDurably(metaPath, formatMetaProperties(decision.meta));
    await mkdir(layout.controllerDir, { recursive: true });
    await mkdir(layout.brokerDir, { recursive: true });
    return { ...layout, meta: decision.meta, formatted: decision.action === "write", close: () => rm(join(root, ".lock"), { force: true }) };
  } catch (error) {
    await rm(join(root, ".lock"), { force: true });
    throw error;
  }
}

async function acquireLock(root: string, pid: number): Promise<void> {
  const lockPath = join(root, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, "wx");
      await handle.writeFile(`${pid}\n`);
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(lockPath, "utf8").catch(() => "")).trim());
    // Our own pid in the lock means a previous incarnation with the same pid (containers
    // restart as pid 1), so it is stale too.
    if (Number.isInteger(holder) && holder > 0 && holder !== pid && isAlive(holder)) {
      throw new DataDirError(`${root} is in use by another brook process (pid ${holder}); stop it, or give this node its own log.dirs`);
    }
    await rm(lockPath, { force: true });
  }
  throw new DataDirError(`could not lock ${root}: another process keeps creating ${lockPath}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Write-to-temp, fsync, rename, fsync the directory: the file is whole or absent after a crash. */
async function writeDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  const dir = await open(join(path, ".."), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
