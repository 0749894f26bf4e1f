// Serialized messages that carry their own gRPC frame header. grpc-js frames every message it
// sends by allocating a new buffer of length + 5 and copying the message behind the 5-byte
// header (compression flag, length): for a megabyte Produce request that is a megabyte of
// fresh memory and a megabyte memcpy per request, about a tenth of the SDK producer's CPU
// (fresh memory also costs page faults and, through V8's external-memory accounting, full
// garbage collections). A serializer that leaves 5 bytes of room in front of the message can
// write the header itself; installPreframing teaches grpc-js's identity (uncompressed) path to
// send that frame as it is. Any other message, and every compressed one, goes the usual way.
// This patches one grpc-js internal (the identity handler's writeMessage, reached through a
// CompressionFilter instance); if a grpc-js upgrade renames it, installPreframing returns false
// and messages are copied as before (the test in this package then fails).
import { createRequire } from "node:module";

const HEADER = 5;
/** Message view -> its frame (header + message) in the same memory. */
const frames = new WeakMap<Buffer, Buffer>();
let installed: boolean | undefined;

/**
 * A buffer of `size` bytes for a message, with its gRPC frame header already written in the
 * 5 bytes before it (taken from `alloc`, which must return `size + 5` bytes).
 */
export function allocPreframed(size: number, alloc: (n: number) => Buffer = (n) => Buffer.allocUnsafe(n)): Buffer {
  const frame = alloc(size + HEADER);
  frame[0] = 0; // not compressed
  frame.writeUInt32BE(size, 1);
  const message = frame.subarray(HEADER, HEADER + size);
  frames.set(message, frame);
  return message;
}

/** The frame `message` was allocated in, if allocPreframed made it. */
export function frameOf(message: Buffer): Buffer | undefined {
  return frames.get(message);
}

interface WriteMessage {
  (this: unknown, message: Buffer, compress: boolean): Promise<Buffer>;
}

/** Makes grpc-js send preframed messages without copying them. Idempotent; false if unsupported. */
export function installPreframing(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  try {
    const require = createRequire(import.meta.url);
    const grpcMain = require.resolve("@grpc/grpc-js");
    const mod = require(grpcMain.replace(/index\.js$/, "compression-filter.js")) as {
      CompressionFilter?: new (options: object, shared: object) => { sendCompression?: object };
    };
    if (typeof mod.CompressionFilter !== "function") return false;
    const handler = new mod.CompressionFilter({}, {}).sendCompression;
    const proto = handler === undefined ? undefined : (Object.getPrototypeOf(handler) as { writeMessage?: WriteMessage });
    const original = proto?.writeMessage;
    if (proto === undefined || typeof original !== "function") return false;
    proto.writeMessage = function (this: unknown, message: Buffer, compress: boolean): Promise<Buffer> {
      const frame = compress ? undefined : frames.get(message);
      return frame !== undefined ? Promise.resolve(frame) : original.call(this, message, compress);
    };
    installed = true;
  } catch {
    installed = false;
  }
  return installed;
}
