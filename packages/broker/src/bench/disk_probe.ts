// A reference for the latency phase: a worker thread appends 1 KiB through an O_DSYNC handle
// (as a broker's lone durable append does) at a low fixed rate, in a temp file on the same
// file system as the brokers' logs, while the phase runs. Its percentiles say what the disk
// (and the machine) gave a lone writer in those seconds, so a produce-latency tail can be told
// apart from a disk stall. A worker, not this thread: the benchmark's own event loop is busy
// issuing requests, and its delays would be counted as the disk's.
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

export interface DiskProbeResult {
  readonly writes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Writes that took over 5 ms (a stall holds every acks=all produce of its duration). */
  readonly over5Ms: number;
}

interface ProbeConfig {
  readonly ratePerSec: number;
  readonly dir: string;
}

/** Starts probing at `ratePerSec`; the returned function stops and reports. */
export async function startDiskProbe(ratePerSec = 100, dir = tmpdir()): Promise<() => Promise<DiskProbeResult>> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { ratePerSec, dir } satisfies ProbeConfig });
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  return () =>
    new Promise<DiskProbeResult>((resolve, reject) => {
      worker.once("message", (times: number[]) => {
        void worker.terminate();
        const sorted = times.sort((a, b) => a - b);
        const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
        resolve({ writes: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? NaN, over5Ms: sorted.filter((t) => t > 5).length });
      });
      worker.once("error", reject);
      worker.postMessage("stop");
    });
}

async function probe(config: ProbeConfig): Promise<void> {
  const port = parentPort!;
  const root = await mkdtemp(join(config.dir, "brook-disk-probe-"));
  const fh = await open(join(root, "probe.log"), constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC);
  const buf = Buffer.alloc(1024, 0x70);
  const times: number[] = [];
  let stopped = false;
  port.once("message", () => (stopped = true));
  port.postMessage("started");
  let position = 0;
  const start = performance.now();
  for (let i = 0; !stopped; i++) {
    const wait = start + (i * 1000) / config.ratePerSec - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    await fh.write(buf, 0, buf.length, position);
    times.push(performance.now() - t0);
    position += buf.length;
  }
  await fh.close();
  await rm(root, { recursive: true, force: true });
  port.postMessage(times);
}

if (!isMainThread && (workerData as Partial<ProbeConfig> | null)?.ratePerSec !== undefined) void probe(workerData as ProbeConfig);
