// A real grpc-js server and client on loopback: the server must advertise the widened
// window in its SETTINGS (what the client's session sees as the peer's initial window) and
// widen its connection window, so a large message crosses without WINDOW_UPDATE stalls.
import { type Http2Session } from "node:http2";
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { widenReceiveWindow } from "../src/server_receive_window.js";

const identity = (b: Buffer): Buffer => b;
const service: ServiceDefinition = {
  echo: { path: "/t.T/Echo", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

let server: Server | undefined;
afterEach(() => server?.forceShutdown());

async function start(widen: boolean): Promise<{ port: number; sessions: Http2Session[] }> {
  server = new Server();
  const sessions: Http2Session[] = [];
  if (widen) expect(widenReceiveWindow(server, 8 * 1024 * 1024)).toBe(true);
  // Watch the server's sessions through the same hook, to read the connection window it keeps.
  const internals = server as unknown as { _setupHandlers: (h: import("node:http2").Http2Server, ...rest: unknown[]) => void };
  const setup = internals._setupHandlers;
  internals._setupHandlers = function (this: unknown, h, ...rest) {
    h.on("session", (s: Http2Session) => sessions.push(s));
    setup.call(this, h, ...rest);
  };
  server.addService(service, { echo: (call: { request: Buffer }, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.from([call.request.length % 256])) });
  const port = await new Promise<number>((resolve, reject) => server!.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { port, sessions };
}

async function echoOnce(port: number, bytes: number): Promise<void> {
  const Client = makeGenericClientConstructor(service, "T");
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    echo(req: Buffer, cb: (e: Error | null, r: Buffer) => void): void;
    close(): void;
  };
  await new Promise<void>((resolve, reject) => client.echo(Buffer.alloc(bytes, 7), (e) => (e ? reject(e) : resolve())));
  client.close();
}

describe("widenReceiveWindow", () => {
  it("advertises the window per stream and opens the connection window on every session", async () => {
    const { port, sessions } = await start(true);
    await echoOnce(port, 3 * 1024 * 1024);
    expect(sessions.length).toBe(1);
    const state = sessions[0]!.state;
    expect(sessions[0]!.localSettings.initialWindowSize).toBe(8 * 1024 * 1024);
    // After 3 MiB arrived the connection window is still far above HTTP/2's 64 KiB default.
    expect(state.effectiveLocalWindowSize).toBeGreaterThan(4 * 1024 * 1024);
  });

  it("leaves a server it is not applied to at HTTP/2's default (the check above can fail)", async () => {
    const { port, sessions } = await start(false);
    await echoOnce(port, 256 * 1024);
    expect(sessions[0]!.localSettings.initialWindowSize).toBe(65_535);
    expect(sessions[0]!.state.effectiveLocalWindowSize).toBeLessThanOrEqual(65_535);
  });
});
