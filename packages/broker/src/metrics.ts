// The broker's metrics hook: what the broker reports (bytes and records per topic, ISR
// changes of partitions it leads) to whoever embeds it, without depending on a metrics
// library. The node process implements BrokerMetricsSink with prom-client; a broker started
// without one reports nothing. Every sink method must be cheap and must not throw: calls
// are made on the request path, O(1) per partition (records are counted from batch headers).
import { readBatchHeader, RECORD_BATCH_OVERHEAD } from "@brook/protocol";
import type { DurableWriteKind } from "./log/timed_log_io.js";
import type { FetchRequest, FetchResponse, ProduceRequest, ProduceResponse } from "@brook/protocol/gen/brook/v1/broker";

export interface BrokerMetricsSink {
  /** A client produce to `topic` was accepted: `bytes` of record batches holding `records` records. */
  onProduce(topic: string, bytes: number, records: number): void;
  /** A client fetch returned `bytes` of record batches of `topic` holding `records` records. */
  onFetch(topic: string, bytes: number, records: number): void;
  /** The committed ISR of a partition this broker leads lost members. */
  onIsrShrink(topic: string, partition: number): void;
  /** The committed ISR of a partition this broker leads gained members. */
  onIsrExpand(topic: string, partition: number): void;
  /** A durable write finished (an fsync of a log, or a lone append written through O_DSYNC). */
  onDurableWrite?(kind: DurableWriteKind, seconds: number): void;
}

/** Consumer groups this broker coordinates and their lag, read at scrape time. */
export interface GroupLagSnapshot {
  readonly groups: number;
  readonly lags: readonly { readonly group: string; readonly topic: string; readonly partition: number; readonly lag: number }[];
}

/** Records in a buffer of whole batches, read from their headers (no record is decoded). */
export function batchRecordCount(records: Buffer): number {
  let count = 0;
  let pos = 0;
  try {
    // A fetch may end in a partial batch (Kafka's rule); it is not counted.
    while (records.length - pos >= RECORD_BATCH_OVERHEAD) {
      const h = readBatchHeader(records, pos);
      const end = pos + 12 + h.batchLength;
      if (h.batchLength <= 0 || end > records.length) break;
      count += Math.max(0, h.recordCount);
      pos = end;
    }
  } catch {
    // Metrics never fail a request: an unreadable header (acks=0 input not yet validated) ends the count.
  }
  return count;
}

/** Wraps the Produce handler: counts each partition the response accepted. */
export function meteredProduce(
  handler: (req: ProduceRequest) => Promise<ProduceResponse>,
  sink: BrokerMetricsSink | undefined,
): (req: ProduceRequest) => Promise<ProduceResponse> {
  if (sink === undefined) return handler;
  return async (req) => {
    const res = await handler(req);
    // The response lists topics and partitions in the request's order (one entry each).
    req.topics.forEach((t, ti) =>
      t.partitions.forEach((pd, pi) => {
        if (res.topics[ti]?.partitions[pi]?.errorCode === 0) sink.onProduce(t.topic, pd.records.length, batchRecordCount(pd.records));
      }),
    );
    return res;
  };
}

/** Wraps the Fetch handler: counts the record bytes returned per topic. */
export function meteredFetch(
  handler: (req: FetchRequest) => Promise<FetchResponse>,
  sink: BrokerMetricsSink | undefined,
): (req: FetchRequest) => Promise<FetchResponse> {
  if (sink === undefined) return handler;
  return async (req) => {
    const res = await handler(req);
    for (const t of res.topics)
      for (const p of t.partitions) if (p.records.length > 0) sink.onFetch(t.topic, p.records.length, batchRecordCount(p.records));
    return res;
  };
}

/** The ISR-change callback a led partition's LeaderState calls; null without a sink. */
export function isrChangeReporter(
  sink: BrokerMetricsSink | undefined,
  topic: string,
  partition: number,
): ((before: readonly number[], after: readonly number[]) => void) | null {
  if (sink === undefined) return null;
  return (before, after) => {
    if (after.some((id) => !before.includes(id))) sink.onIsrExpand(topic, partition);
    if (before.some((id) => !after.includes(id))) sink.onIsrShrink(topic, partition);
  };
}
