// Produce requests of one connection on the broker's ProduceStream RPC: one long-lived bidi
// stream, requests matched to answers by correlation id (answers may come out of order), a
// deadline per request. A busy producer then pays no gRPC call per request.
// Contract: every request settles exactly once: with the broker's answer, with a retriable
// TimeoutError at its deadline, or with a retriable ClusterUnavailableError when its stream
// breaks (the producer retries under its idempotent sequence rules; nothing is dropped
// silently). A broker answering UNIMPLEMENTED gets unary Produce calls for the next 30 s, then
// the stream is tried again: an older broker without the RPC says so, but so does a restarting
// node whose listener is up before its services are registered, and a permanent switch to
// unary calls after every broker restart cost throughput for good. The requests that met
// that answer were never processed and go out again as unary calls.
// Requests are serialized here, preframed (allocPreframed) into slabs of a BufferPool, and
// grpc-js writes the slab itself to the HTTP/2 stream: an answer proves the broker received
// every byte, so nothing reads the slab any more and it is lent again then (after a timeout or
// a broken stream the bytes may still be queued for writing, and are left to the garbage
// collector).
import { type ClientDuplexStream, type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import type { ProduceRequest, ProduceResponse, ProduceStreamResponse } from "@brook/protocol/gen/brook/v1/broker";
import { allocPreframed } from "@brook/protocol";
import { ClusterUnavailableError, errorFromCode, TimeoutError } from "../errors.js";
import type { BufferPool } from "./buffer_pool.js";
import { encodeProduceStreamRequest } from "./produce_encoding.js";

/** Opens a ProduceStream call whose requests are written as serialized ProduceStreamRequest bytes. */
export type OpenProduceStream = (metadata: Metadata) => ClientDuplexStream<Buffer, ProduceStreamResponse>;

interface Pending {
  readonly request: ProduceRequest;
  /** The serialized request, a slab of `pool` to hand back once answered. */
  readonly bytes: Buffer;
  readonly timeoutMs: number;
  readonly resolve: (r: ProduceResponse) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface OpenStream {
  readonly call: ClientDuplexStream<Buffer, ProduceStreamResponse>;
  readonly pending: Map<number, Pending>;
}

/** How long a broker that answered the stream UNIMPLEMENTED gets unary calls before the stream is tried again. */
const UNSUPPORTED_RETRY_MS = 30_000;

export class ProduceStreamChannel {
  private current: OpenStream | undefined;
  private nextId = 1;
  /** Until when (ms) this broker gets unary calls: it answered the stream UNIMPLEMENTED. */
  private unsupportedUntil = 0;
  private closed = false;

  constructor(
    private readonly openStream: OpenProduceStream,
    private readonly metadata: Metadata,
    private readonly address: string,
    /** The unary fallback, for brokers without ProduceStream. */
    private readonly unary: (req: ProduceRequest, timeoutMs: number) => Promise<ProduceResponse>,
    private readonly pool: BufferPool,
  ) {}

  produce(request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse> {
    if (this.closed || Date.now() < this.unsupportedUntil) return this.unary(request, timeoutMs);
    const s = this.open();
    const correlationId = this.nextId++;
    // Framed in place (allocPreframed): grpc-js then sends the slab without copying it.
    const bytes = encodeProduceStreamRequest({ correlationId, request }, (n) => allocPreframed(n, (m) => this.pool.take(m)));
    return new Promise<ProduceResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!s.pending.delete(correlationId)) return;
        // The broker may still append it: a retry is answered as a duplicate (idempotence).
        reject(new TimeoutError(`Produce on ${this.address} got no answer within ${timeoutMs} ms (request.timeout.ms); retried`, -1, true, true));
      }, timeoutMs);
      s.pending.set(correlationId, { request, bytes, timeoutMs, resolve, reject, timer });
      s.call.write(bytes);
    });
  }

  close(): void {
    this.closed = true;
    const s = this.current;
    this.current = undefined;
    if (s === undefined) return;
    // Let answers still on their way arrive; the broker ends the stream after the last one.
    s.call.end();
  }

  private open(): OpenStream {
    if (this.current !== undefined) return this.current;
    const call = this.openStream(this.metadata);
    const s: OpenStream = { call, pending: new Map() };
    call.on("data", (m: ProduceStreamResponse) => {
      const p = s.pending.get(m.correlationId);
      if (p === undefined) return; // timed out meanwhile
      s.pending.delete(m.correlationId);
      clearTimeout(p.timer);
      this.pool.release(p.bytes);
      if (m.errorCode === 0 && m.response !== undefined) p.resolve(m.response);
      else p.reject(errorFromCode(m.errorCode === 0 ? -1 : m.errorCode, m.errorMessage || "ProduceStream answer without a response", `Produce on ${this.address}`));
    });
    const broken = (err?: ServiceError) => {
      if (this.current === s) this.current = undefined;
      const waiting = [...s.pending.values()];
      s.pending.clear();
      if (err?.code === status.UNIMPLEMENTED) {
        this.unsupportedUntil = Date.now() + UNSUPPORTED_RETRY_MS;
        for (const p of waiting) {
          clearTimeout(p.timer);
          this.unary(p.request, p.timeoutMs).then(p.resolve, p.reject);
        }
        return;
      }
      for (const p of waiting) {
        clearTimeout(p.timer);
        p.reject(
          new ClusterUnavailableError(`Produce on ${this.address}: the produce stream broke (${err?.details || err?.message || "ended"}); retried`, -1, true, true, {
            cause: err,
          }),
        );
      }
    };
    call.on("error", (err: ServiceError) => broken(err));
    call.on("end", () => broken());
    this.current = s;
    return s;
  }
}
