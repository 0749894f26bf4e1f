// The leader-side gRPC endpoint of replication (service brook.v1.Replica): each follower
// broker keeps one ReplicaFetch stream open; requests on it are answered one at a time in
// order. Malformed or failing requests end only that stream, never the process.
import { status, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type {
  OffsetsForLeaderEpochRequest,
  OffsetsForLeaderEpochResponse,
  ReplicaFetchRequest,
  ReplicaFetchResponse,
  ReplicaServer,
} from "@brook/protocol/gen/brook/v1/replica";
import type { ReplicaManager } from "./replica_manager.js";

export function replicaServer(manager: ReplicaManager, logger: Logger): ReplicaServer {
  return {
    replicaFetch(call: ServerDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse>) {
      let ended = false;
      let chain = Promise.resolve();
      call.on("data", (req: ReplicaFetchRequest) => {
        chain = chain.then(async () => {
          if (ended) return;
          try {
            const res = await manager.handleReplicaFetch(req, () => ended);
            if (!ended) call.write(res);
          } catch (err) {
            logger.warn({ err }, "replica fetch failed");
            ended = true;
            call.destroy(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      const end = () => {
        ended = true;
      };
      call.on("end", () => {
        end();
        call.end();
      });
      call.on("error", end);
      call.on("cancelled", end);
      call.on("close", end);
    },
    offsetsForLeaderEpoch(
      call: ServerUnaryCall<OffsetsForLeaderEpochRequest, OffsetsForLeaderEpochResponse>,
      callback: sendUnaryData<OffsetsForLeaderEpochResponse>,
    ) {
      manager.handleOffsetsForLeaderEpoch(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => callback({ code: status.INTERNAL, details: err instanceof Error ? err.message : String(err) }),
      );
    },
  };
}
