// Loopback relays (config loopback.relays): accept on 127.0.0.1:<port> and forward each
// connection to <host>:<port>. In Docker every broker advertises 127.0.0.1:<published port>,
// which host clients reach through the port mapping; inside a container the same address
// lands here and is forwarded to the peer by name. A stopgap until brokers register one
// address per listener (Kafka's advertised.listeners per listener name).

import { connect, createServer, type Server, type Socket } from "node:net";
import type { LoopbackRelay } from "../config/resolve.js";
import { listenPatiently } from "./listen.js";

export interface RunningRelays {
  close(): Promise<void>;
}

export async function startLoopbackRelays(relays: readonly LoopbackRelay[], options: { signal: AbortSignal; onWaiting(message: string): void }): Promise<RunningRelays> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  for (const relay of relays) {
    const server = createServer((inbound) => {
      track(inbound);
      const outbound = connect({ host: relay.target.host, port: relay.target.port });
      track(outbound);
      // A failure on either side ends both: the peer sees a closed connection and retries.
      const end = (): void => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on("error", end).on("close", end);
      outbound.on("error", end).on("close", end);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    servers.push(server);
    await listenPatiently(server, { host: "127.0.0.1", port: relay.port, key: "loopback.relays", signal: options.signal, onWaiting: options.onWaiting });
  }
  return {
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
    },
  };
}
