// Kafka's listener rule for the answers that name brokers (Metadata, FindCoordinator,
// DescribeCluster): every broker is given by its endpoint on the SAME listener the request
// arrived on, and a broker without that listener is left out. grpc-js does not tell a
// handler which local port a call came in on, so each listener gets its own gRPC server and
// its own copy of the service, scoped here: the answers of the shared implementation (which
// name the inter-broker endpoint) are rewritten from the committed metadata view. Pure: the
// rewrite functions touch no I/O and work on one view.
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { BrokerInfo, BrokerServer, FindCoordinatorResponse } from "@brook/protocol/gen/brook/v1/broker";
import { Code } from "../errors.js";
import type { BrokerView, EndpointView, MetadataView } from "./view.js";

/** The broker's endpoint on `listener`; a hand-built view without endpoints keeps host/port. */
export function endpointOn(broker: BrokerView, listener: string): EndpointView | undefined {
  if (broker.endpoints === undefined) return { name: listener, host: broker.host, port: broker.port };
  return broker.endpoints.find((e) => e.name === listener);
}

/** Brokers re-addressed on `listener`; brokers unknown to the view or without the listener are dropped. */
export function brokersOn<T extends Pick<BrokerInfo, "nodeId" | "host" | "port">>(brokers: readonly T[], view: MetadataView, listener: string): T[] {
  const out: T[] = [];
  for (const b of brokers) {
    const known = view.brokers.get(b.nodeId);
    const ep = known === undefined ? undefined : endpointOn(known, listener);
    if (ep !== undefined) out.push({ ...b, host: ep.host, port: ep.port });
  }
  return out;
}

/** The coordinator re-addressed on `listener`, or COORDINATOR_NOT_AVAILABLE when it has no such listener. */
export function coordinatorOn(res: FindCoordinatorResponse, view: MetadataView, listener: string): FindCoordinatorResponse {
  if ((res.error !== undefined && res.error.code !== Code.NONE) || res.nodeId < 0) return res;
  const known = view.brokers.get(res.nodeId);
  const ep = known === undefined ? undefined : endpointOn(known, listener);
  if (ep === undefined)
    return {
      error: { code: Code.COORDINATOR_NOT_AVAILABLE, message: `coordinator ${res.nodeId} has no ${listener} listener (advertised.listeners); it cannot be reached through this one` },
      nodeId: -1,
      host: "",
      port: -1,
    };
  return { ...res, host: ep.host, port: ep.port };
}

/** Wraps a unary handler so its successful answer goes through `rewrite` first. */
function mapped<Req, Res>(
  handler: (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void,
  rewrite: (res: Res) => Res,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) =>
    handler(call, (err, value, ...rest) => {
      if (err !== null || value === undefined || value === null) return callback(err, value, ...rest);
      let out: Res;
      try {
        out = rewrite(value);
      } catch (e) {
        return callback({ code: 13 /* INTERNAL */, details: `listener rewrite failed: ${e instanceof Error ? e.message : String(e)}` });
      }
      callback(null, out, ...rest);
    });
}

/** The service as seen through `listener`: broker addresses in answers are that listener's. */
export function scopeToListener(service: BrokerServer, listener: string, view: () => MetadataView): BrokerServer {
  return {
    ...service,
    metadata: mapped(service.metadata, (res) => ({ ...res, brokers: brokersOn(res.brokers, view(), listener) })),
    describeCluster: mapped(service.describeCluster, (res) => ({ ...res, brokers: brokersOn(res.brokers, view(), listener) })),
    findCoordinator: mapped(service.findCoordinator, (res) => coordinatorOn(res, view(), listener)),
  };
}
