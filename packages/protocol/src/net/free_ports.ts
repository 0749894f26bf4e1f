// Loopback ports for the local clusters the tests, benchmarks and the soak start as child
// processes. Binding port 0 and releasing it handed out the same port twice in one run (a soak
// node then answered /readyz for another), and a port from the kernel's ephemeral range can be
// taken meanwhile by any outgoing connection's source port. So: random ports below that range
// (Linux uses 32768-60999), each held open until all `count` are picked.
import { createServer, type Server } from "node:net";

const LOW = 20_000;
const HIGH = 32_768; // exclusive: the start of Linux's default ephemeral range

/** `count` distinct ports on `host` that were free a moment ago; `random` is injectable for tests. */
export async function pickFreePorts(count: number, host = "127.0.0.1", random: () => number = Math.random): Promise<number[]> {
  const held: Server[] = [];
  const picked: number[] = [];
  try {
    for (let attempts = 0; picked.length < count; attempts++) {
      if (attempts > 10_000) throw new Error(`no ${count} free ports on ${host} in [${LOW}, ${HIGH})`);
      const port = LOW + Math.floor(random() * (HIGH - LOW));
      if (picked.includes(port)) continue;
      const server = await listenOn(port, host);
      if (server === null) continue;
      held.push(server);
      picked.push(port);
    }
    return picked;
  } finally {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function listenOn(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(null));
    server.listen(port, host, () => resolve(server));
  });
}
