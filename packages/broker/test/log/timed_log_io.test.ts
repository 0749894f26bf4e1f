// timedLogIo reports each completed durable call (fsync, O_DSYNC write) with its duration and
// passes every call through unchanged; a failed durable call is not reported, its error is.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeLogIo, type LogIo } from "../../src/log/log_file.js";
import { timedLogIo, type DurableWriteKind } from "../../src/log/timed_log_io.js";
import { tempDirPerTest } from "./helpers.js";

const tmp = tempDirPerTest();

describe("timedLogIo", () => {
  it("reports fsyncs and O_DSYNC writes with their durations, and writes what it is given", async () => {
    const seen: [DurableWriteKind, number][] = [];
    let clock = 0;
    // Each durable call takes 3 ms on this clock: one tick before it starts, one after.
    const io = timedLogIo(nodeLogIo, (kind, seconds) => seen.push([kind, seconds]), () => (clock += 1.5));
    const path = join(tmp.dir, "t.log");
    const f = await io.openFile(path, true);
    await f.write(Buffer.from("plain "), 0);
    await f.sync();
    await f.writeDurable(Buffer.from("durable"), 6);
    await f.releaseDurable?.();
    await f.close();
    expect((await readFile(path)).toString()).toBe("plain durable");
    expect(seen).toEqual([
      ["fsync", 0.0015],
      ["dsync-write", 0.0015],
    ]);
  });

  it("does not report a durable call that failed, and passes its error on", async () => {
    const failing: LogIo = {
      async openFile(path, create) {
        const f = await nodeLogIo.openFile(path, create);
        return { ...f, write: f.write.bind(f), read: f.read.bind(f), size: f.size.bind(f), truncate: f.truncate.bind(f), close: f.close.bind(f), writeDurable: () => Promise.reject(new Error("EIO")), sync: () => Promise.reject(new Error("EIO")) };
      },
    };
    const seen: DurableWriteKind[] = [];
    const f = await timedLogIo(failing, (kind) => seen.push(kind)).openFile(join(tmp.dir, "f.log"), true);
    await expect(f.sync()).rejects.toThrow("EIO");
    await expect(f.writeDurable(Buffer.from("x"), 0)).rejects.toThrow("EIO");
    await f.close();
    expect(seen).toEqual([]);
  });
});
