// gRPC service definitions whose record-carrying messages are serialized without the extra
// copy of the generated code: ts-proto's serializers return Buffer.from(encode(v).finish()),
// which copies the already complete message (megabytes of batches for Fetch and ReplicaFetch
// answers) once more before grpc-js copies it into its frame. protobufjs hands back a Buffer
// under Node, so the Buffer.from is not needed.
import { BrokerService, FetchResponse, ProduceResponse, ProduceStreamResponse } from "@brook/protocol/gen/brook/v1/broker";
import { ReplicaFetchResponse, ReplicaService } from "@brook/protocol/gen/brook/v1/replica";

interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** The message's bytes as a Buffer over protobufjs's output, without copying it. */
export function encodeNoCopy<T>(codec: Encoder<T>, value: T): Buffer<ArrayBuffer> {
  const u = codec.encode(value).finish();
  // protobufjs allocates a plain ArrayBuffer, never a SharedArrayBuffer.
  return (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)) as Buffer<ArrayBuffer>;
}

export const BrokerServiceDefinition: typeof BrokerService = {
  ...BrokerService,
  produce: { ...BrokerService.produce, responseSerialize: (v: ProduceResponse) => encodeNoCopy(ProduceResponse, v) },
  produceStream: { ...BrokerService.produceStream, responseSerialize: (v: ProduceStreamResponse) => encodeNoCopy(ProduceStreamResponse, v) },
  fetch: { ...BrokerService.fetch, responseSerialize: (v: FetchResponse) => encodeNoCopy(FetchResponse, v) },
};

export const ReplicaServiceDefinition: typeof ReplicaService = {
  ...ReplicaService,
  replicaFetch: { ...ReplicaService.replicaFetch, responseSerialize: (v: ReplicaFetchResponse) => encodeNoCopy(ReplicaFetchResponse, v) },
};

