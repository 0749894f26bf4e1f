// The node's HTTP port: GET /metrics (Prometheus text), /healthz (the process is up and
// its event loop answers) and /readyz (every role's readiness check passes; 503 with the
// failing checks otherwise). Anything else is 404. Request handling never throws.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { ReadinessReport } from "./readiness.js";

export interface HttpEndpoints {
  readonly registry: Registry;
  readiness(): ReadinessReport;
  /** Extra fields for /healthz (node id, roles, uptime). */
  health(): Record<string, unknown>;
}

export function createHttpServer(endpoints: HttpEndpoints): Server {
  return createServer((req, res) => {
    handle(endpoints, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", `internal error: ${String(error)}\n`);
      else res.destroy();
    });
  });
}

async function handle(endpoints: HttpEndpoints, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "text/plain", "method not allowed\n");
  switch (path) {
    case "/metrics":
      return send(res, 200, endpoints.registry.contentType, await endpoints.registry.metrics());
    case "/healthz":
      return send(res, 200, "application/json", JSON.stringify({ status: "ok", ...endpoints.health() }) + "\n");
    case "/readyz": {
      const report = endpoints.readiness();
      return send(res, report.ready ? 200 : 503, "application/json", JSON.stringify(report) + "\n");
    }
    default:
      return send(res, 404, "text/plain", "not found: try /metrics, /healthz or /readyz\n");
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}
