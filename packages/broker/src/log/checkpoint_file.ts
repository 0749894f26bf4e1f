// Atomic small-file writes: tmp file, fsync, rename over the target, fsync the directory, so a
// crash leaves either the old or the new content, never a torn mix. Contents carry a CRC so a
// file damaged some other way is detected instead of trusted.
import { open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { crc32c } from "@brook/protocol";

export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

export async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** `{"crc":N,"body":...}`: JSON with its own CRC-32C of the body text. */
export function writeJsonCheckpoint(path: string, value: unknown): Promise<void> {
  return writeJsonCheckpointText(path, JSON.stringify(value));
}

/** writeJsonCheckpoint for a body already serialized (`body` is JSON text). */
export async function writeJsonCheckpointText(path: string, body: string): Promise<void> {
  const crc = crc32c(Buffer.from(body, "utf8"));
  await writeFileAtomic(path, Buffer.from(`{"crc":${crc},"body":${body}}\n`, "utf8"));
}

/** The body of a checkpoint, or null when absent; throws when present but damaged. */
export async function readJsonCheckpoint(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const parsed = JSON.parse(text) as { crc?: unknown; body?: unknown };
  const body = JSON.stringify(parsed.body);
  if (typeof parsed.crc !== "number" || crc32c(Buffer.from(body, "utf8")) !== parsed.crc)
    throw new Error(`checkpoint ${path} fails its CRC`);
  return parsed.body;
}
