// Preframed messages: grpc-js's identity path hands the frame the serializer wrote over as it
// is (no copy), a real client and server on loopback still see exactly the message bytes, and
// messages that were not preframed, or are compressed, go the usual way.
import { createRequire } from "node:module";
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { allocPreframed, frameOf, installPreframing } from "../src/preframed_message.js";

const identity = (b: Buffer): Buffer => b;
const service: ServiceDefinition = {
  echo: { path: "/t.T/Echo", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

/** grpc-js's identity handler, as its channels use it. */
function identityHandler(): { writeMessage(message: Buffer, compress: boolean): Promise<Buffer> } {
  const require = createRequire(import.meta.url);
  const mod = require(require.resolve("@grpc/grpc-js").replace(/index\.js$/, "compression-filter.js")) as {
    CompressionFilter: new (o: object, s: object) => { sendCompression: { writeMessage(message: Buffer, compress: boolean): Promise<Buffer> } };
  };
  return new mod.CompressionFilter({}, {}).sendCompression;
}

let server: Server | undefined;
afterEach(() => server?.forceShutdown());

describe("preframed messages", () => {
  it("are sent in the frame they were written in, other messages are copied into a new frame", async () => {
    expect(installPreframing()).toBe(true);
    const message = allocPreframed(3);
    message.set([1, 2, 3]);
    const frame = frameOf(message)!;
    expect([...frame]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
    const h = identityHandler();
    expect(await h.writeMessage(message, false)).toBe(frame); // no copy
    const plain = Buffer.from([9, 9]);
    const framed = await h.writeMessage(plain, false);
    expect([...framed]).toEqual([0, 0, 0, 0, 2, 9, 9]);
    expect(framed.buffer === plain.buffer && framed.byteOffset + 5 === plain.byteOffset).toBe(false);
  });

  it("reach a real server byte for byte, also from a pooled slab", async () => {
    expect(installPreframing()).toBe(true);
    server = new Server();
    const seen: Buffer[] = [];
    server.addService(service, {
      echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => {
        seen.push(Buffer.from(call.request));
        cb(null, Buffer.from([call.request.length % 256]));
      },
    });
    const port = await new Promise<number>((resolve, reject) => server!.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const Client = makeGenericClientConstructor(service, "T");
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
      echo(req: Buffer, cb: (e: Error | null, r: Buffer) => void): void;
      close(): void;
    };
    const slab = new ArrayBuffer(2 * 1024 * 1024);
    const big = allocPreframed(1024 * 1024 + 17, (n) => Buffer.from(slab, 0, n));
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const small = allocPreframed(5);
    small.write("hello");
    for (const m of [big, small, Buffer.from("not preframed")]) {
      await new Promise<void>((resolve, reject) => client.echo(m, (e) => (e ? reject(e) : resolve())));
    }
    client.close();
    expect(seen.map((b) => b.length)).toEqual([1024 * 1024 + 17, 5, 13]);
    expect(seen[0]!.equals(big)).toBe(true);
    expect(seen[1]!.toString()).toBe("hello");
    expect(seen[2]!.toString()).toBe("not preframed");
  });
});
