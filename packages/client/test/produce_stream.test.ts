// The connection's ProduceStream channel against gRPC servers on loopback that speak the
// Broker service as two broker versions would: one with ProduceStream (answers out of order,
// then a broken stream) and one from before it (no ProduceStream: UNIMPLEMENTED). The real
// brokers' side of the stream is covered by the integration tests; what only a server
// without the RPC can show is the client's fallback to unary Produce.
import { credentials, Metadata, Server, ServerCredentials, type ServerDuplexStream, type sendUnaryData, type ServerUnaryCall, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BrokerService,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceStreamRequest,
  type ProduceStreamResponse,
} from "@brook/protocol/gen/brook/v1/broker";
import { FastBrokerClient, produceStreamOf } from "../src/connection.js";
import { ClusterUnavailableError } from "../src/errors.js";
import { BufferPool } from "../src/producer/buffer_pool.js";
import { ProduceStreamChannel } from "../src/producer/produce_stream.js";

const request = (topic: string): ProduceRequest => ({ acks: -1, timeoutMs: 1_000, topics: [{ topic, partitions: [] }], transactionalId: "" });
const answer = (topic: string, baseOffset: number): ProduceResponse => ({
  topics: [{ topic, partitions: [{ partition: 0, errorCode: 0, errorMessage: "", baseOffset, logAppendTimeMs: -1, logStartOffset: 0, currentLeader: -1, currentLeaderEpoch: -1 }] }],
  throttleTimeMs: 0,
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function serve(impl: Partial<Record<keyof typeof BrokerService, unknown>>): Promise<string> {
  const server = new Server();
  const definition = Object.fromEntries(Object.keys(impl).map((k) => [k, BrokerService[k as keyof typeof BrokerService]]));
  server.addService(definition as never, impl as never);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cleanups.push(() => server.forceShutdown());
  return `127.0.0.1:${port}`;
}

/** Slabs small enough that the tests' requests (some 25 bytes) are serialized into them. */
const smallPool = (): BufferPool => new BufferPool(40, 4);

function channel(address: string, unaryCalls: string[], pool: BufferPool = smallPool()): ProduceStreamChannel {
  const client = new FastBrokerClient(address, credentials.createInsecure());
  const ch = new ProduceStreamChannel(
    produceStreamOf(client),
    new Metadata(),
    address,
    (req, timeoutMs) => {
      unaryCalls.push(req.topics[0]!.topic);
      return new Promise((resolve, reject) =>
        client.produce(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    },
    pool,
  );
  cleanups.push(() => {
    ch.close();
    client.close();
  });
  return ch;
}

describe("ProduceStream channel", () => {
  it("matches answers that come back out of order to their requests", async () => {
    const address = await serve({
      produceStream: (call: ServerDuplexStream<ProduceStreamRequest, ProduceStreamResponse>) => {
        const held: ProduceStreamRequest[] = [];
        call.on("data", (m: ProduceStreamRequest) => {
          held.push(m);
          if (held.length < 3) return;
          // Answer the three in reverse order.
          for (const r of held.reverse()) call.write({ correlationId: r.correlationId, response: answer(r.request!.topics[0]!.topic, r.correlationId * 100), errorCode: 0, errorMessage: "" });
        });
      },
    });
    const unary: string[] = [];
    const pool = smallPool();
    const ch = channel(address, unary, pool);
    const results = await Promise.all(["a", "b", "c"].map((t) => ch.produce(request(t), 5_000)));
    expect(results.map((r) => r.topics[0]!.topic)).toEqual(["a", "b", "c"]);
    expect(results.map((r) => r.topics[0]!.partitions[0]!.baseOffset)).toEqual([100, 200, 300]);
    expect(unary).toEqual([]);
    // Each answered request's slab is back; the next requests are written into the same
    // slabs and still reach the broker intact.
    expect(pool.idle).toBe(3);
    const again = await Promise.all(["d", "e", "f"].map((t) => ch.produce(request(t), 5_000)));
    expect(again.map((r) => r.topics[0]!.topic)).toEqual(["d", "e", "f"]);
    expect(again.map((r) => r.topics[0]!.partitions[0]!.baseOffset)).toEqual([400, 500, 600]);
    expect(pool.idle).toBe(3);
  });

  it("fails the requests of a broken stream with a retriable error, and opens a new stream for the next", async () => {
    let streams = 0;
    const address = await serve({
      produceStream: (call: ServerDuplexStream<ProduceStreamRequest, ProduceStreamResponse>) => {
        streams++;
        const first = streams === 1;
        call.on("data", (m: ProduceStreamRequest) => {
          // The first stream ends with the request unanswered (a broker stopping its side).
          if (first) call.end();
          else call.write({ correlationId: m.correlationId, response: answer("after", 7), errorCode: 0, errorMessage: "" });
        });
      },
    });
    const pool = smallPool();
    const ch = channel(address, [], pool);
    const err = await ch.produce(request("lost"), 5_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClusterUnavailableError);
    expect((err as ClusterUnavailableError).retriable).toBe(true);
    // Unanswered: its bytes might still wait to be framed, so its slab is not lent again.
    expect(pool.idle).toBe(0);
    const r = await ch.produce(request("after"), 5_000);
    expect(r.topics[0]!.partitions[0]!.baseOffset).toBe(7);
    expect(streams).toBe(2);
    expect(pool.idle).toBe(1);
  });

  it("falls back to unary Produce on a broker without ProduceStream, resending what met UNIMPLEMENTED", async () => {
    let produced = 0;
    const address = await serve({
      produce: (call: ServerUnaryCall<ProduceRequest, ProduceResponse>, cb: sendUnaryData<ProduceResponse>) => cb(null, answer(call.request.topics[0]!.topic, produced++)),
    });
    const unary: string[] = [];
    const ch = channel(address, unary);
    const first = await Promise.all(["x", "y"].map((t) => ch.produce(request(t), 5_000)));
    expect(first.map((r) => r.topics[0]!.topic)).toEqual(["x", "y"]);
    const later = await ch.produce(request("z"), 5_000);
    expect(later.topics[0]!.topic).toBe("z");
    expect(unary.sort()).toEqual(["x", "y", "z"]);
    expect(produced).toBe(3); // each request reached the broker once
  });
  it("tries the stream again 30 s after an UNIMPLEMENTED (a restarting node says that too)", async () => {
    let ready = false; // the node's broker service is registered only after its logs are open
    const address = await serve({
      produce: (call: ServerUnaryCall<ProduceRequest, ProduceResponse>, cb: sendUnaryData<ProduceResponse>) => cb(null, answer(call.request.topics[0]!.topic, 1)),
      produceStream: (call: ServerDuplexStream<ProduceStreamRequest, ProduceStreamResponse>) => {
        if (!ready) {
          call.emit("error", { code: status.UNIMPLEMENTED, details: "The server does not implement the method /brook.v1.Broker/ProduceStream" });
          return;
        }
        call.on("data", (m: ProduceStreamRequest) => call.write({ correlationId: m.correlationId, response: answer(m.request!.topics[0]!.topic, 2), errorCode: 0, errorMessage: "" }));
      },
    });
    const unary: string[] = [];
    const ch = channel(address, unary);
    expect((await ch.produce(request("starting"), 5_000)).topics[0]!.partitions[0]!.baseOffset).toBe(1); // resent as a unary call
    ready = true;
    expect((await ch.produce(request("soon after"), 5_000)).topics[0]!.partitions[0]!.baseOffset).toBe(1); // still unary
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, "now").mockImplementation(() => realNow() + 31_000);
    try {
      expect((await ch.produce(request("later"), 5_000)).topics[0]!.partitions[0]!.baseOffset).toBe(2); // the stream again
    } finally {
      clock.mockRestore();
    }
    expect(unary).toEqual(["starting", "soon after"]);
  });
});
