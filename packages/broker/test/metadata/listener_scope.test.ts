// Kafka's listener rule on the broker side: the replayed view keeps every registered endpoint,
// the inter-broker one is BrokerView.host/port, and answers seen through a listener carry that
// listener's addresses (brokers without it are left out; such a coordinator is not available).
import { describe, expect, it } from "vitest";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { BrokerServer, FindCoordinatorResponse, MetadataRequest, MetadataResponse } from "@brook/protocol/gen/brook/v1/broker";
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { brokersOn, coordinatorOn, scopeToListener } from "../../src/metadata/listener_scope.js";
import { MetadataReplayer } from "../../src/metadata/replay.js";

const register = (brokerId: number, endpoints: { name: string; host: string; port: number }[]): MetadataRecord => ({
  version: 1,
  record: { $case: "registerBroker", registerBroker: { brokerId, incarnationId: "x", brokerEpoch: brokerId, endpoints, rack: "", fenced: false } },
});

function view() {
  const r = new MetadataReplayer("INTERNAL");
  return r.applyBatch(
    [
      register(1, [{ name: "INTERNAL", host: "node1", port: 9092 }, { name: "EXTERNAL", host: "127.0.0.1", port: 19092 }]),
      register(2, [{ name: "EXTERNAL", host: "127.0.0.1", port: 29092 }, { name: "INTERNAL", host: "node2", port: 9092 }]),
      register(3, [{ name: "INTERNAL", host: "node3", port: 9092 }]),
    ],
    3,
  );
}

const info = (nodeId: number) => ({ nodeId, host: "?", port: 0, rack: "", fenced: false });

describe("listener scope", () => {
  it("the view's host/port is the inter-broker endpoint, and every endpoint is kept", () => {
    const v = view();
    expect(v.brokers.get(2)).toMatchObject({ host: "node2", port: 9092 });
    expect(v.brokers.get(2)?.endpoints?.map((e) => e.name)).toEqual(["EXTERNAL", "INTERNAL"]);
  });

  it("brokers are re-addressed on the listener; one without it is left out", () => {
    const v = view();
    expect(brokersOn([info(1), info(2), info(3)], v, "EXTERNAL")).toEqual([
      { ...info(1), host: "127.0.0.1", port: 19092 },
      { ...info(2), host: "127.0.0.1", port: 29092 },
    ]);
    expect(brokersOn([info(1), info(2), info(3)], v, "INTERNAL").map((b) => `${b.host}:${b.port}`)).toEqual(["node1:9092", "node2:9092", "node3:9092"]);
    expect(brokersOn([info(9)], v, "INTERNAL")).toEqual([]);
  });

  it("the coordinator is given on the listener, or is not available through it", () => {
    const v = view();
    const ok = { error: { code: 0, message: "" }, nodeId: 3, host: "node3", port: 9092 };
    expect(coordinatorOn(ok, v, "INTERNAL")).toEqual(ok);
    const missing = coordinatorOn(ok, v, "EXTERNAL");
    expect(missing.error?.code).toBe(15); // COORDINATOR_NOT_AVAILABLE
    expect(missing.error?.message).toMatch(/no EXTERNAL listener/);
    expect(coordinatorOn({ ...ok, nodeId: 1 }, v, "EXTERNAL")).toMatchObject({ host: "127.0.0.1", port: 19092 });
    const failed: FindCoordinatorResponse = { error: { code: 15, message: "retry" }, nodeId: -1, host: "", port: -1 };
    expect(coordinatorOn(failed, v, "EXTERNAL")).toBe(failed);
  });

  it("a scoped service rewrites the Metadata answer and passes errors through", async () => {
    const v = view();
    let fail = false;
    const base = {
      metadata: (_call: ServerUnaryCall<MetadataRequest, MetadataResponse>, cb: sendUnaryData<MetadataResponse>) =>
        fail ? cb({ code: 14, details: "down" }) : cb(null, { brokers: [info(1), info(2), info(3)], clusterId: "c", controllerId: 1, topics: [] }),
    } as unknown as BrokerServer;
    const scoped = scopeToListener(base, "EXTERNAL", () => v);
    const ask = () =>
      new Promise<{ err: unknown; res: MetadataResponse | null | undefined }>((resolve) =>
        scoped.metadata({} as ServerUnaryCall<MetadataRequest, MetadataResponse>, (err, res) => resolve({ err, res })),
      );
    const { err, res } = await ask();
    expect(err).toBeNull();
    expect(res?.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`)).toEqual(["1@127.0.0.1:19092", "2@127.0.0.1:29092"]);
    expect(res?.clusterId).toBe("c");
    fail = true;
    expect((await ask()).err).toMatchObject({ code: 14 });
  });
});
