// Seeded crash test: real files behind a LogIo that remembers how much of each file an fsync
// covered. A crash keeps the synced prefix, a random part of the unsynced tail and some random
// garbage, as a power loss can. After every crash the reopened log must hold every batch that
// was acknowledged as flushed, byte for byte, and serve nothing that fails its CRC.
import { describe, expect, it } from "vitest";
import { LogFlusher } from "../../src/log/flusher.js";
import { nodeLogIo, type LogFile, type LogIo } from "../../src/log/log_file.js";
import { PartitionLog } from "../../src/log/partition_log.js";
import { validateBatch } from "../../src/log/batch.js";
import { ManualClock, batchOf, quietLogger, tempDirPerTest, testConfig } from "./helpers.js";

/** mulberry32: small seeded PRNG, enough to pick cuts and workloads reproducibly. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

class PowerLossIo implements LogIo {
  private readonly files: Array<{ f: LogFile; synced: number }> = [];

  async openFile(path: string, create: boolean): Promise<LogFile> {
    const f = await nodeLogIo.openFile(path, create);
    const entry = { f, synced: await f.size() };
    this.files.push(entry);
    return {
      write: (b, p) => f.write(b, p),
      async writeDurable(b, p) {
        await f.writeDurable(b, p);
        // Durable are these bytes; the synced prefix grows only if it reached them.
        if (entry.synced >= p) entry.synced = Math.max(entry.synced, p + b.length);
      },
      read: (b, o, l, p) => f.read(b, o, l, p),
      async sync() {
        const covered = await f.size();
        await f.sync();
        entry.synced = Math.max(entry.synced, covered);
      },
      async truncate(l) {
        await f.truncate(l);
        entry.synced = Math.min(entry.synced, l);
      },
      size: () => f.size(),
      close: () => f.close(),
    };
  }

  /** Loses a random part of every unsynced tail, adds garbage, and drops all handles. */
  async powerLoss(rand: (n: number) => number): Promise<void> {
    for (const { f, synced } of this.files) {
      try {
        const size = await f.size();
        if (size <= synced) continue; // fully synced: a power loss cannot touch it
        const keep = synced + rand(size - synced + 1);
        await f.truncate(keep);
        // Blocks allocated for unsynced writes may come back holding anything.
        if (rand(2) === 1) {
          const junk = Buffer.from(Array.from({ length: 1 + rand(120) }, () => rand(256)));
          await f.write(junk, keep);
        }
      } catch {
        // already closed (segment deleted): nothing to lose
      } finally {
        await f.close().catch(() => undefined);
      }
    }
  }
}

const tmp = tempDirPerTest();

describe("power loss (seeded)", () => {
  const seeds = Array.from({ length: 12 }, (_, i) => 1000 + i);
  it.each(seeds)("seed=%i: every flushed batch survives byte for byte; nothing corrupt is served", async (seed) => {
    const rand = rng(seed);
    const clock = new ManualClock();
    const config = testConfig({ segmentBytes: 1500, indexIntervalBytes: 200 });
    /** Acknowledged (flushed) batches by base offset, as stamped. */
    const acked = new Map<number, Buffer>();
    for (let round = 0; round < 3; round++) {
      const io = new PowerLossIo();
      const log = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger, io });
      const flusher = new LogFlusher();
      // Recovery kept every acknowledged batch, byte for byte.
      for (const [offset, bytes] of acked) {
        const { records } = await log.read(offset, 1, log.logEndOffset);
        const h = validateBatch(records, 0);
        expect(h.baseOffset, `seed=${seed} round=${round} offset=${offset}`).toBe(offset);
        expect(records.subarray(0, h.sizeBytes).equals(bytes), `seed=${seed} offset=${offset}`).toBe(true);
      }
      // Everything served is valid and contiguous.
      let next = log.logStartOffset;
      while (next < log.logEndOffset) {
        const { records } = await log.read(next, 1 << 16, log.logEndOffset);
        for (let pos = 0; pos < records.length; ) {
          const h = validateBatch(records, pos);
          expect(h.baseOffset).toBe(next);
          next = h.baseOffset + h.lastOffsetDelta + 1;
          pos += h.sizeBytes;
        }
      }
      // A random workload: groups of concurrent appends, some waiting for the group commit.
      const groups = 3 + rand(6);
      for (let g = 0; g < groups; g++) {
        await Promise.all(
          Array.from({ length: 1 + rand(5) }, async () => {
            const batch = batchOf(1 + rand(4), { size: 10 + rand(200), tag: `s${seed}r${round}` });
            const info = await log.appendAsLeader(batch, round + 1);
            if (rand(3) > 0) {
              await flusher.flush(log, info.lastOffset + 1);
              acked.set(info.baseOffset, Buffer.from(batch));
            }
          }),
        );
        if (rand(5) === 0) await log.checkpoint();
      }
      // Some appends that are never acknowledged, then the lights go out.
      for (let i = rand(3); i > 0; i--) await log.appendAsLeader(batchOf(2, { size: 50 }), round + 1);
      await io.powerLoss(rand);
    }
    const final = await PartitionLog.open(tmp.dir, config, { clock, logger: quietLogger });
    expect(final.logEndOffset).toBeGreaterThanOrEqual(Math.max(...[...acked.keys()].map((o) => o + 1), 0));
    await final.close();
  });
});
