// One gRPC channel to one broker, and unary calls on it with a deadline each. Transport
// failures become typed, retriable errors (the caller decides whether to retry).
import { type CallOptions, type ClientDuplexStream, type ClientUnaryCall, credentials, makeGenericClientConstructor, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  BrokerClient,
  BrokerService,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceStreamRequest,
  type ProduceStreamResponse,
} from "@brook/protocol/gen/brook/v1/broker";
import { allocPreframed, installPreframing } from "@brook/protocol";
import { ClusterUnavailableError, InvalidRequestError, TimeoutError, type BrookError } from "./errors.js";
import { BufferPool } from "./producer/buffer_pool.js";
import { encodeProduceRequest, encodeProduceStreamRequest } from "./producer/produce_encoding.js";
import { ProduceStreamChannel } from "./producer/produce_stream.js";

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * BrokerClient whose Produce requests are written in one pass (producer/produce_encoding.ts):
 * the generated serializer had protobufjs copy every batch into its output and then copied
 * that output once more before grpc-js frames it. ProduceStream also takes requests already
 * serialized (the channel writes them into pooled slabs).
 */
export const FastBrokerClient = makeGenericClientConstructor(
  {
    ...BrokerService,
    produce: { ...BrokerService.produce, requestSerialize: (v: ProduceRequest) => encodeProduceRequest(v, (n) => allocPreframed(n)) },
    produceStream: {
      ...BrokerService.produceStream,
      requestSerialize: (v: ProduceStreamRequest | Buffer) => (Buffer.isBuffer(v) ? v : encodeProduceStreamRequest(v)),
    },
  },
  "brook.v1.Broker",
) as unknown as typeof BrokerClient;

/** A FastBrokerClient's ProduceStream call, typed for the serialized requests it also takes. */
export const produceStreamOf =
  (client: BrokerClient) =>
  (metadata: Metadata): ClientDuplexStream<Buffer, ProduceStreamResponse> =>
    client.produceStream(metadata) as unknown as ClientDuplexStream<Buffer, ProduceStreamResponse>;

/**
 * Slabs for serialized Produce requests, shared by the connections of one client: a request of
 * a full 1 MiB batch (the default batch.size) and its framing fits one. Up to 32 stay idle
 * (the default buffer.memory's worth): with 8, over half of the takes in bench
 * client/produce found none idle, as the requests in flight swing between a few and 30.
 */
export const newRequestPool = (): BufferPool => new BufferPool(1024 * 1024 + 64 * 1024, 32);

export class BrokerConnection {
  readonly client: BrokerClient;
  private readonly metadata = new Metadata();
  private readonly produceStream: ProduceStreamChannel;

  constructor(
    readonly address: string,
    clientId: string,
    requestPool: BufferPool = newRequestPool(),
  ) {
    // Produce requests are written with their gRPC frame header (allocPreframed): sent as they are.
    installPreframing();
    this.client = new FastBrokerClient(address, credentials.createInsecure(), {
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      "grpc.max_send_message_length": 256 * 1024 * 1024,
      // A paused or partitioned broker keeps its TCP connection open: without an answered ping
      // in 10 + 5 s the connection is dropped and its requests are retried (refreshing
      // metadata) instead of each waiting out request.timeout.ms. Measured with the leader
      // SIGSTOPped: an acks=all send took 50 s with pings every 30 s (timeout 20 s).
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.primary_user_agent": `brook-client/${clientId}`,
      // Fetch responses carry megabytes: with HTTP/2's default 64 KiB receive window each one
      // would wait for a WINDOW_UPDATE round trip per 64 KiB (measured: fetch 93k -> 141k
      // records/s of 1 KiB through the harness client with this window).
      "grpc-node.flow_control_window": 64 * 1024 * 1024,
    });
    this.metadata.set("client-id", clientId);
    this.produceStream = new ProduceStreamChannel(
      produceStreamOf(this.client),
      this.metadata,
      address,
      (req, timeoutMs) => this.call((c) => c.produce, req, timeoutMs, "Produce"),
      requestPool,
    );
  }

  /** Requests sent and not yet answered: a broker that stopped answering piles them up. */
  get inFlight(): number {
    return this.#inFlight;
  }
  #inFlight = 0;

  /** Produce on the connection's ProduceStream (unary Produce with brokers that lack it), with a deadline `timeoutMs` from now. */
  produce(request: ProduceRequest, timeoutMs: number): Promise<ProduceResponse> {
    this.#inFlight++;
    return this.produceStream.produce(request, timeoutMs).finally(() => this.#inFlight--);
  }

  /** Calls `pick(client)` with a deadline `timeoutMs` from now. */
  call<Req, Res>(pick: (c: BrokerClient) => UnaryMethod<Req, Res>, request: Req, timeoutMs: number, what: string): Promise<Res> {
    const method = pick(this.client).bind(this.client);
    this.#inFlight++;
    return new Promise<Res>((resolve, reject) => {
      method(request, this.metadata, { deadline: Date.now() + timeoutMs }, (err, res) => {
        this.#inFlight--;
        if (err !== null) reject(transportError(err, `${what} on ${this.address}`, timeoutMs));
        else resolve(res);
      });
    });
  }

  close(): void {
    this.produceStream.close();
    this.client.close();
  }
}

function transportError(err: ServiceError, what: string, timeoutMs: number): BrookError {
  switch (err.code) {
    case status.DEADLINE_EXCEEDED:
      return new TimeoutError(`${what} got no answer within ${timeoutMs} ms (request.timeout.ms); retried`, -1, true, true, { cause: err });
    case status.UNAVAILABLE:
    case status.CANCELLED:
    case status.UNKNOWN:
    case status.INTERNAL:
    case status.RESOURCE_EXHAUSTED:
      return new ClusterUnavailableError(`${what} failed: ${err.details || err.message}; the broker is unreachable or restarting`, -1, true, true, {
        cause: err,
      });
    case status.UNIMPLEMENTED:
      // A restarting node binds its client listener before its broker service is registered
      // (it opens its logs in between): calls there answer UNIMPLEMENTED for a moment. The
      // soak saw a send fail on it. Retried like a restarting broker; a port that is not a
      // Brook broker at all fails once the retries run out, with this message.
      return new ClusterUnavailableError(`${what} failed: ${err.details || err.message}; the broker is still starting (or this address is not a Brook broker's client listener)`, -1, true, true, {
        cause: err,
      });
    default:
      return new InvalidRequestError(`${what} was rejected by gRPC: ${err.details || err.message}`, -1, false, false, { cause: err });
  }
}
