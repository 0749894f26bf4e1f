// Binding a server to its port with patience: a port in use is reported once (and again
// every `repeatMs`) with what to do, and the bind is retried until it succeeds or the
// caller aborts, so a restarting neighbour does not make this node crash-loop.

import type { Server } from "node:net";

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Config key that sets this port, named in the log line. */
  readonly key: string;
  readonly retryMs?: number;
  readonly repeatMs?: number;
  readonly signal?: AbortSignal;
  onWaiting(message: string): void;
}

export async function listenPatiently(server: Server, options: ListenOptions): Promise<number> {
  const retryMs = options.retryMs ?? 2000;
  const repeatMs = options.repeatMs ?? 30_000;
  let lastLoggedAt = -Infinity;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once("error", onError);
        server.listen(options.port, options.host, () => {
          server.off("error", onError);
          resolve();
        });
      });
      const address = server.address();
      return typeof address === "object" && address !== null ? address.port : options.port;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw error;
      const now = performance.now();
      if (now - lastLoggedAt >= repeatMs) {
        lastLoggedAt = now;
        options.onWaiting(
          code === "EADDRINUSE"
            ? `port ${options.host}:${options.port} (${options.key}) is in use by another process: stop that process or change ${options.key}; retrying every ${retryMs / 1000}s`
            : `no permission to bind ${options.host}:${options.port} (${options.key}): use a port above 1023 or run with the needed privilege; retrying every ${retryMs / 1000}s`,
        );
      }
      if (options.signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      if (options.signal?.aborted) throw error;
    }
  }
}
