// Helpers for tests against controller-node processes: broker registration through the real
// Controller service, and a FetchMetadata reader that folds the stream into an image the way
// a broker would (snapshot replaces, batches replay in order).
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import type { FetchMetadataResponse } from "@brook/protocol/gen/brook/v1/controller";
import { ControllerCluster, controllerNodeProgram } from "../../src/bin/cluster_harness.js";
import { applyRecords } from "../../src/image/delta.js";
import { EMPTY_IMAGE, type MetadataImage } from "../../src/image/image.js";
import { snapshotToImage } from "../../src/image/records.js";

export function requireBuilt(): void {
  if (!existsSync(controllerNodeProgram())) throw new Error(`${controllerNodeProgram()} is missing; run: npx tsc -b packages/controller`);
}

export async function registerBrokers(cluster: ControllerCluster, n: number): Promise<Map<number, number>> {
  const epochs = new Map<number, number>();
  for (let id = 1; id <= n; id++) {
    const { res } = await cluster.call((c) => c.brokerRegistration, { brokerId: id, incarnationId: randomUUID(), endpoints: [{ name: "CLIENT", host: "127.0.0.1", port: 9000 + id }], rack: "" });
    if (res.error?.code !== 0) throw new Error(`register ${id}: ${res.error?.message}`);
    epochs.set(id, res.brokerEpoch);
  }
  for (const [id, epoch] of epochs) {
    const { res } = await cluster.call((c) => c.brokerHeartbeat, { brokerId: id, brokerEpoch: epoch, currentMetadataOffset: Number.MAX_SAFE_INTEGER, wantFence: false, wantShutDown: false, offlineLogDirs: [] });
    if (res.error?.code !== 0 || res.isFenced) throw new Error(`unfence ${id}: ${JSON.stringify(res)}`);
  }
  return epochs;
}

/** Reads FetchMetadata from `node` until the image reaches `untilOffset`. */
export function fetchImage(cluster: ControllerCluster, node: number, fromOffset: number, untilOffset: number, base: MetadataImage = EMPTY_IMAGE, timeoutMs = 30_000): Promise<{ image: MetadataImage; messages: FetchMetadataResponse[] }> {
  return new Promise((resolve, reject) => {
    const stream = cluster.client(node).fetchMetadata({ fromOffset, brokerId: 0 });
    let image = base;
    const messages: FetchMetadataResponse[] = [];
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`FetchMetadata reached ${image.offset}, not ${untilOffset}, within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on("data", (m: FetchMetadataResponse) => {
      messages.push(m);
      if (m.error !== undefined && m.error.code !== 0) {
        clearTimeout(timer);
        stream.cancel();
        reject(new Error(m.error.message));
        return;
      }
      image = m.snapshot !== undefined ? snapshotToImage(m.snapshot) : applyRecords(image, m.records, m.offset, m.epoch);
      if (image.offset >= untilOffset) {
        clearTimeout(timer);
        stream.cancel();
        resolve({ image, messages });
      }
    });
    stream.on("error", (err: Error & { code?: number }) => {
      if (err.code === 1) return; // our own cancel
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function eventually<T>(f: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms${last !== undefined ? ` (last error: ${(last as Error).message})` : ""}`);
}
