import { describe, expect, it } from "vitest";
import { apiName } from "../src/http/grpc-metrics.js";
import { PrometheusNodeMetrics } from "../src/http/metrics.js";

describe("request metrics", () => {
  it("names APIs Service/Method", () => {
    expect(apiName("/brook.v1.Broker/Produce")).toBe("Broker/Produce");
    expect(apiName("/brook.v1.Raft/Send")).toBe("Raft/Send");
  });

  it("counts requests by status and times unary ones only", async () => {
    const metrics = new PrometheusNodeMetrics({ nodeId: 7, roles: "broker" });
    metrics.onRequest("Broker/Produce", 12, "OK");
    metrics.onRequest("Broker/Produce", 30, "UNAVAILABLE");
    metrics.onRequest("Replica/ReplicaFetch", undefined, "CANCELLED");
    metrics.setRaftProbe(() => ({ term: 4, commitIndex: 99, leaderId: 2, active: false }));
    metrics.setUnderReplicatedProbe(() => 1);
    metrics.setOfflinePartitionsProbe(() => 0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('brook_requests_total{api="Broker/Produce",status="OK",node_id="7"} 1');
    expect(text).toContain('brook_requests_total{api="Broker/Produce",status="UNAVAILABLE",node_id="7"} 1');
    expect(text).toContain('brook_requests_total{api="Replica/ReplicaFetch",status="CANCELLED",node_id="7"} 1');
    expect(text).toContain('brook_request_duration_seconds_count{node_id="7",api="Broker/Produce"} 2');
    expect(text).not.toContain('api="Replica/ReplicaFetch"} ');
    expect(text).toContain('brook_raft_term{node_id="7"} 4');
    expect(text).toContain('brook_raft_commit_index{node_id="7"} 99');
    expect(text).toContain('brook_raft_leader_id{node_id="7"} 2');
    expect(text).toContain('brook_controller_active{node_id="7"} 0');
    expect(text).toContain('brook_under_replicated_partitions{node_id="7"} 1');
    expect(text).toContain('brook_offline_partitions{node_id="7"} 0');
  });
});
