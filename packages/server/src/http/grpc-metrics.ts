// A gRPC server interceptor that feeds brook_requests_total and
// brook_request_duration_seconds for every call a node serves (client API, replication,
// Raft, controller), labelled with the method ("Broker/Produce") and its gRPC status.
// Kafka-style error codes travel inside response bodies and are not seen here.

import { ServerInterceptingCall, status as GrpcStatus, type ServerInterceptor } from "@grpc/grpc-js";
import type { NodeMetrics } from "./metrics.js";

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).filter(([, v]) => typeof v === "number").map(([k, v]) => [v as number, k]));

/** "/brook.v1.Broker/Produce" -> "Broker/Produce". */
export function apiName(path: string): string {
  const [service = "", method = ""] = path.replace(/^\//, "").split("/");
  return `${service.slice(service.lastIndexOf(".") + 1)}/${method}`;
}

/**
 * A message of a multiplexing stream (ProduceStream): each carries one request or its answer,
 * matched by correlation id. Such a stream is counted per message, as the unary API it
 * carries ("Broker/ProduceStream" -> "Broker/Produce"), so the request rate and latency of
 * Produce stay one figure whichever way clients send it.
 */
interface Correlated {
  readonly correlationId: unknown;
  readonly errorCode?: unknown;
}

function correlated(message: unknown): Correlated | undefined {
  return typeof message === "object" && message !== null && "correlationId" in message ? (message as Correlated) : undefined;
}

export function requestMetricsInterceptor(metrics: NodeMetrics): ServerInterceptor {
  return (method, call) => {
    const startedMs = performance.now();
    const api = apiName(method.path);
    // Streams live as long as their connection: count them, but keep them out of the latency histogram.
    const unary = !method.requestStream && !method.responseStream;
    const multiplexed = method.requestStream && method.responseStream && api.endsWith("Stream") ? api.slice(0, -"Stream".length) : undefined;
    const pending = new Map<string, number>();
    return new ServerInterceptingCall(call, {
      start(next) {
        if (multiplexed === undefined) return next();
        next({
          onReceiveMessage(message, nextMessage) {
            const m = correlated(message);
            if (m !== undefined) pending.set(String(m.correlationId), performance.now());
            nextMessage(message);
          },
        });
      },
      sendMessage(message, next) {
        const m = multiplexed === undefined ? undefined : correlated(message);
        if (m !== undefined) {
          const key = String(m.correlationId);
          const received = pending.get(key);
          if (received !== undefined) {
            pending.delete(key);
            const failed = typeof m.errorCode === "number" && m.errorCode !== 0;
            metrics.onRequest(multiplexed!, performance.now() - received, failed ? "INTERNAL" : "OK");
          }
        }
        next(message);
      },
      sendStatus(status, next) {
        metrics.onRequest(api, unary ? performance.now() - startedMs : undefined, STATUS_NAMES.get(status.code) ?? String(status.code));
        next(status);
      },
    });
  };
}
