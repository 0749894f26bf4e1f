// Protobuf messages serialized for grpc-js without the generated code's extra copy: ts-proto's
// serializers return Buffer.from(encode(v).finish()), which copies the already complete
// message (megabytes of record batches for Produce, Fetch and ReplicaFetch) once more before
// grpc-js copies it into its frame. protobufjs hands back a Buffer under Node, so that copy
// buys nothing.

/** What ts-proto generates for each message type. */
export interface MessageEncoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** The message's bytes as a Buffer over protobufjs's output, without copying it. */
export function encodeNoCopy<T>(codec: MessageEncoder<T>, value: T): Buffer<ArrayBuffer> {
  const u = codec.encode(value).finish();
  // protobufjs allocates a plain ArrayBuffer, never a SharedArrayBuffer.
  return (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength)) as Buffer<ArrayBuffer>;
}
