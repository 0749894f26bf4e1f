// The HTTP/2 receive window of a grpc-js Server. grpc-js reads `grpc-node.flow_control_window`
// on channels only (the server side is grpc/grpc-node PR #3058, open), so every server
// advertises Node's default of 64 KiB per stream and per connection. A producer's 1 MiB batch
// then crosses in 64 KiB steps, each waiting for a WINDOW_UPDATE from a busy event loop.
// Measured on a grpc-js bidi stream on loopback with 128 KiB messages: 1,714 -> 5,760
// messages/s and client CPU 329 -> 152 us per message once the server's windows are 64 MiB;
// raising only the stream window (not the connection's) changed nothing.
// This does what that PR does, through the two grpc-js internals it touches; if a grpc-js
// upgrade renames them, widenReceiveWindow returns false and the test in this package fails.
import type { Http2Server, Http2Session, Settings } from "node:http2";
import type { Server } from "@grpc/grpc-js";

interface ServerInternals {
  commonServerOptions?: { settings?: Settings };
  _setupHandlers?: (http2Server: Http2Server, ...rest: unknown[]) => void;
}

/** The receive window Brook's servers use: room for several large produce and replication messages in flight. */
export const SERVER_RECEIVE_WINDOW = 16 * 1024 * 1024;

/**
 * Makes `server` advertise a `bytes` receive window per stream and per connection. Call it
 * before `bindAsync`. Returns false (and changes nothing) when this grpc-js lacks the
 * internals it needs.
 */
export function widenReceiveWindow(server: Server, bytes = SERVER_RECEIVE_WINDOW): boolean {
  const internals = server as unknown as ServerInternals;
  const common = internals.commonServerOptions;
  const setup = internals._setupHandlers;
  if (typeof common !== "object" || common === null || typeof setup !== "function") return false;
  common.settings = { ...common.settings, initialWindowSize: bytes };
  internals._setupHandlers = function (this: unknown, http2Server: Http2Server, ...rest: unknown[]): void {
    // SETTINGS covers each stream's window; the connection's own window only grows by WINDOW_UPDATE.
    http2Server.on("session", (session: Http2Session) => {
      try {
        session.setLocalWindowSize(bytes);
      } catch {
        // A session destroyed before this runs has no window left to set.
      }
    });
    setup.call(this, http2Server, ...rest);
  };
  return true;
}
