// The real file seam: writeDurable lands where asked (through its O_DSYNC handle), and falls
// back to a write + fdatasync on the main handle when that handle cannot be opened.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeLogIo } from "../../src/log/log_file.js";
import { tempDirPerTest } from "./helpers.js";

const tmp = tempDirPerTest();

describe("nodeLogIo.writeDurable", () => {
  it("writes at the position asked, beside plain writes on the same file", async () => {
    const path = join(tmp.dir, "a.log");
    const f = await nodeLogIo.openFile(path, true);
    await f.write(Buffer.from("hello "), 0);
    await f.writeDurable(Buffer.from("world"), 6);
    await f.writeDurable(Buffer.from("W"), 6);
    await f.close();
    expect((await readFile(path)).toString()).toBe("hello World");
  });

  it("reopens its O_DSYNC handle after releaseDurable", async () => {
    const path = join(tmp.dir, "c.log");
    const f = await nodeLogIo.openFile(path, true);
    await f.writeDurable(Buffer.from("ab"), 0);
    await f.releaseDurable?.();
    await f.writeDurable(Buffer.from("cd"), 2);
    await f.close();
    expect((await readFile(path)).toString()).toBe("abcd");
  });

  it("falls back to write + fdatasync when the O_DSYNC handle cannot be opened", async () => {
    const path = join(tmp.dir, "b.log");
    const f = await nodeLogIo.openFile(path, true);
    await rm(path); // the open handle keeps the file; opening the path again now fails
    await f.writeDurable(Buffer.from("still here"), 0);
    const back = Buffer.alloc(10);
    expect(await f.read(back, 0, 10, 0)).toBe(10);
    expect(back.toString()).toBe("still here");
    await f.close();
  });
});
