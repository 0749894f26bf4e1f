// Crash recovery on real files: tails cut at every byte of the last batch, garbage appended,
// bytes flipped, mid-log corruption. Checks that everything flushed survives and that nothing
// corrupt is ever served afterwards.
import { describe, expect, it } from "vitest";
import { cp, open, readdir, stat, truncate, writeFile, appendFile } from "node:fs/promises";
import { join } from "node:path";
import { CHECKPOINT_FILE, PartitionLog } from "../../src/log/partition_log.js";
import { nodeLogIo, type LogFile, type LogIo } from "../../src/log/log_file.js";
import { validateBatch } from "../../src/log/batch.js";
import { ManualClock, batchOf, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

/** Real files that can all be dropped at once without a clean close: a crash, minus page-cache loss. */
class CrashableIo implements LogIo {
  private readonly files: LogFile[] = [];
  async openFile(path: string, create: boolean): Promise<LogFile> {
    const f = await nodeLogIo.openFile(path, create);
    this.files.push(f);
    return f;
  }
  async crash(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close().catch(() => undefined)));
  }
}

const tmp = tempDirPerTest();
const clock = new ManualClock();

/** Reads the whole log and checks every batch's CRC; returns the offsets seen. */
async function readAllValid(log: PartitionLog): Promise<number[]> {
  const offsets: number[] = [];
  let next = log.logStartOffset;
  while (next < log.logEndOffset) {
    const { records } = await log.read(next, 1 << 20, log.logEndOffset);
    expect(records.length).toBeGreaterThan(0);
    for (let pos = 0; pos < records.length; ) {
      const h = validateBatch(records, pos); // throws on anything corrupt
      for (let o = h.baseOffset; o <= h.baseOffset + h.lastOffsetDelta; o++) offsets.push(o);
      next = h.baseOffset + h.lastOffsetDelta + 1;
      pos += h.sizeBytes;
    }
  }
  return offsets;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A crashed log: 4 flushed+checkpointed batches (8 records), then one unflushed batch. */
async function crashedLog(sub: string): Promise<{ partDir: string; flushedEnd: number; tailStart: number; tailBytes: number }> {
  const partDir = join(tmp.dir, sub);
  const io = new CrashableIo();
  const log = await PartitionLog.open(partDir, testConfig(), { clock, logger: quietLogger, io });
  for (let i = 0; i < 4; i++) await log.appendAsLeader(batchOf(2, { producerId: 7, producerEpoch: 0, baseSequence: i * 2 }), 1);
  await log.checkpoint();
  const flushedEnd = log.flushedOffset;
  const logFile = join(partDir, "00000000000000000000.log");
  const tailStart = (await stat(logFile)).size;
  await log.appendAsLeader(batchOf(2, { producerId: 7, producerEpoch: 0, baseSequence: 8 }), 1);
  const tailBytes = (await stat(logFile)).size - tailStart;
  await io.crash();
  return { partDir, flushedEnd, tailStart, tailBytes };
}

describe("crash recovery", () => {
  it("cuts a torn tail at every byte offset of the last batch, keeping everything flushed", async () => {
    const { partDir, flushedEnd, tailStart, tailBytes } = await crashedLog("p-0");
    expect(flushedEnd).toBe(8);
    for (let cut = 0; cut <= tailBytes; cut++) {
      const copy = join(tmp.dir, `cut-${cut}`);
      await cp(partDir, copy, { recursive: true });
      await truncate(join(copy, "00000000000000000000.log"), tailStart + cut);
      const log = await PartitionLog.open(copy, testConfig(), { clock, logger: quietLogger });
      const expectEnd = cut === tailBytes ? 10 : 8;
      expect(log.logEndOffset, `cut at ${cut}`).toBe(expectEnd);
      expect(await readAllValid(log)).toEqual(range(expectEnd));
      expect((await stat(join(copy, "00000000000000000000.log"))).size).toBe(cut === tailBytes ? tailStart + tailBytes : tailStart);
      // The log keeps working where it was cut: appends continue at the recovered end.
      const next = await log.appendAsLeader(batchOf(1), 2);
      expect(next.baseOffset).toBe(expectEnd);
      await log.close();
    }
  });

  it("drops garbage after the last batch and a last batch with a flipped byte", async () => {
    const { partDir, tailStart } = await crashedLog("p-0");
    const logFile = join(partDir, "00000000000000000000.log");
    const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    await appendFile(logFile, garbage);
    let log = await PartitionLog.open(partDir, testConfig(), { clock, logger: quietLogger });
    expect(await readAllValid(log)).toEqual(range(10));
    await log.close();

    // Flip one byte in the records of the last batch: its CRC fails, so it goes.
    const fh = await open(logFile, "r+");
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, tailStart + 70);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, tailStart + 70);
    await fh.close();
    // A clean close set the recovery point past the batch; a lost checkpoint forces a full scan.
    await writeFile(join(partDir, "partition.checkpoint"), "not json");
    log = await PartitionLog.open(partDir, testConfig(), { clock, logger: quietLogger });
    expect(log.logEndOffset).toBe(8);
    expect(await readAllValid(log)).toEqual(range(8));
    await log.close();
  });

  it("rebuilds producer state past the checkpoint so a retried batch is still a duplicate after restart", async () => {
    const { partDir } = await crashedLog("p-0");
    const log = await PartitionLog.open(partDir, testConfig(), { clock, logger: quietLogger });
    expect(log.logEndOffset).toBe(10);
    const retry = await log.appendAsLeader(batchOf(2, { producerId: 7, producerEpoch: 0, baseSequence: 8 }), 1);
    expect(retry).toMatchObject({ duplicate: true, baseOffset: 8, lastOffset: 9 });
    expect(log.logEndOffset).toBe(10);
    await log.close();
  });

  it("corruption in a middle segment after the recovery point drops it and every later segment", async () => {
    const partDir = join(tmp.dir, "p-0");
    const io = new CrashableIo();
    const config = testConfig({ segmentBytes: 400 });
    const log = await PartitionLog.open(partDir, config, { clock, logger: quietLogger, io });
    await log.appendAsLeader(batchOf(2, { size: 100 }), 1);
    await log.checkpoint(); // recovery point 2
    for (let i = 0; i < 6; i++) await log.appendAsLeader(batchOf(2, { size: 100 }), 1);
    await log.flush();
    await io.crash();
    const segs = (await readdir(partDir)).filter((n) => n.endsWith(".log")).sort();
    expect(segs.length).toBeGreaterThanOrEqual(3);
    // Damage the second segment's first batch header.
    const fh = await open(join(partDir, segs[1]!), "r+");
    await fh.write(Buffer.from([0x00]), 0, 1, 16); // magic byte
    await fh.close();
    const back = await PartitionLog.open(partDir, config, { clock, logger: quietLogger });
    const firstSecond = Number(segs[1]!.slice(0, 20));
    expect(back.logEndOffset).toBe(firstSecond);
    expect(await readAllValid(back)).toEqual(range(firstSecond));
    expect((await readdir(partDir)).filter((n) => n.endsWith(".log")).length).toBe(2);
    await back.close();
  });

  it("distrusts a persisted index that points into the middle of a batch and rebuilds it", async () => {
    const config = testConfig({ segmentBytes: 600, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    for (let i = 0; i < 12; i++) await log.appendAsLeader(batchOf(2, { size: 60 }), 1);
    await log.close();
    const bogus = Buffer.alloc(8);
    bogus.writeUInt32BE(1, 0);
    bogus.writeUInt32BE(5, 4); // offset 1 "at" byte 5: inside the first batch's header
    await writeFile(join(tmp.dir, "00000000000000000000.index"), bogus);
    await writeFile(join(tmp.dir, "00000000000000000000.timeindex"), Buffer.alloc(0));
    log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    expect(log.logEndOffset).toBe(24);
    expect(await readAllValid(log)).toEqual(range(24));
    for (let o = 0; o < 24; o++) expect(validateBatch((await log.read(o, 1, 24)).records, 0).baseOffset).toBe(o - (o % 2));
    await log.close();
  });

  it("never serves the wrong batch from a sane-looking index whose entries lie about offsets", async () => {
    const probe = batchOf(2, { size: 60 }).length;
    const config = testConfig({ segmentBytes: probe * 8, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    for (let i = 0; i < 12; i++) await log.appendAsLeader(batchOf(2, { size: 60 }), 1);
    expect(log.segmentCount).toBe(2);
    await log.close();
    // One entry claiming offset 2 lives where the batch starting at offset 10 really is.
    const lie = Buffer.alloc(8);
    lie.writeUInt32BE(2, 0);
    lie.writeUInt32BE(5 * probe, 4);
    await writeFile(join(tmp.dir, "00000000000000000000.index"), lie);
    log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    for (let o = 0; o < 24; o++) expect(validateBatch((await log.read(o, 1, 24)).records, 0).baseOffset).toBe(o - (o % 2));
    await log.close();
  });

  it("restores high watermark, log start, epochs and indexes after a clean restart", async () => {
    const config = testConfig({ segmentBytes: 600, indexIntervalBytes: 100 });
    let log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    for (let i = 0; i < 12; i++) await log.appendAsLeader(batchOf(2, { size: 60 }), i < 6 ? 3 : 4);
    log.highWatermark = 20;
    await log.close();
    log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    expect(log.highWatermark).toBe(20);
    expect(log.logEndOffset).toBe(24);
    expect(log.epochEntries()).toEqual([
      { epoch: 3, startOffset: 0 },
      { epoch: 4, startOffset: 12 },
    ]);
    expect(await readAllValid(log)).toEqual(range(24));
    for (let o = 0; o < 24; o++) {
      const { records } = await log.read(o, 1, 24);
      const h = validateBatch(records, 0);
      expect(h.baseOffset).toBe(o - (o % 2));
    }
    await log.close();
  });
  it("rewrites the checkpoint only when it changed (an idle partition costs no fsync), and a changed one is read back after restart", async () => {
    const config = testConfig();
    const path = join(tmp.dir, CHECKPOINT_FILE);
    let log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    await log.appendAsLeader(batchOf(2), 1);
    await log.checkpoint();
    const first = await stat(path);
    await log.checkpoint();
    await log.checkpoint();
    // writeFileAtomic renames a new file over the old one: an unchanged inode means no rewrite.
    expect((await stat(path)).ino).toBe(first.ino);
    log.highWatermark = 2;
    await log.checkpoint();
    expect((await stat(path)).ino).not.toBe(first.ino);
    await log.close();
    log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    expect(log.highWatermark).toBe(2);
    await log.close();
  });
});
