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

export function requestMetricsInterceptor(metrics: NodeMetrics): ServerInterceptor {
  return (method, call) => {
    const startedMs = performance.now();
    const api = apiName(method.path);
    // Streams live as long as their connection: count them, but keep them out of the latency histogram.
    const unary = !method.requestStream && !method.responseStream;
    return new ServerInterceptingCall(call, {
      sendStatus(status, next) {
        metrics.onRequest(api, unary ? performance.now() - startedMs : undefined, STATUS_NAMES.get(status.code) ?? String(status.code));
        next(status);
      },
    });
  };
}
