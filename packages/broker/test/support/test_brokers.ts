// In-process brokers for broker-level integration tests: real Broker instances on real files
// under one temp root, real gRPC on loopback, a TestClient each. The controller is whatever
// ControllerChannel the test passes (the ScriptedController, or a ControllerLink to the
// product controller), so these helpers hold only what every such test sets up the same way.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Broker, type BrokerConfig, type ControllerChannel } from "../../src/index.js";
import { TestClient } from "../../src/harness/client.js";
import type { LogIo } from "../../src/log/index.js";
import { type ClosableLogStore, openLogStore } from "../../src/log_store.js";

/** Silent unless BROOK_TEST_LOG names a level: a failing run can be replayed with logs. */
export const testLogger = pino({ level: process.env["BROOK_TEST_LOG"] ?? "silent" });

export interface TestBrokerOptions {
  readonly channel: ControllerChannel;
  readonly config: Partial<BrokerConfig>;
  /** Default: no voters, for a channel that stands in for the quorum. */
  readonly controllerQuorum?: ReadonlyMap<number, string>;
  /** File seam of the broker's log directory, for injected disk faults; default real I/O. */
  readonly io?: LogIo;
  readonly onFatal?: (err: unknown) => void;
  /** Sees the broker before it registers, for a channel that needs the broker's epoch. */
  readonly onCreated?: (b: Broker) => void;
  /** Wraps the broker's log store, e.g. to hold a partition's epoch write at a gate. */
  readonly wrapLogs?: (store: ClosableLogStore) => ClosableLogStore;
}

/** Starts broker `id` on `dataDir`, listening on a free loopback port. */
export async function startTestBroker(id: number, dataDir: string, o: TestBrokerOptions): Promise<Broker> {
  return Broker.startWith(
    {
      nodeId: id,
      dataDir,
      listen: "127.0.0.1:0",
      advertised: "127.0.0.1:0",
      controllerQuorum: o.controllerQuorum ?? new Map(),
      config: o.config,
      logger: testLogger,
      ...(o.onFatal !== undefined ? { onFatal: o.onFatal } : {}),
    },
    { logs: await wrapped(dataDir, o), channel: o.channel },
    o.onCreated,
  );
}

async function wrapped(dataDir: string, o: TestBrokerOptions): Promise<ClosableLogStore> {
  const store = await openLogStore(dataDir, { logger: testLogger, ...(o.io !== undefined ? { io: o.io } : {}) });
  return o.wrapLogs === undefined ? store : o.wrapLogs(store);
}

/** Brokers under one temp root (broker N in `b<N>`), a client each; `open` in beforeAll, `close` in afterAll. */
export class TestBrokers {
  /** The running brokers: a test that stops one deletes it here, so `close` skips it. */
  readonly brokers = new Map<number, Broker>();
  readonly clients = new Map<number, TestClient>();
  root = "";

  async open(prefix: string): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), prefix));
  }

  dataDir(id: number): string {
    return join(this.root, `b${id}`);
  }

  /** Starts (or restarts) broker `id`; the client of an earlier start is closed and replaced. */
  async start(id: number, o: TestBrokerOptions): Promise<Broker> {
    const b = await startTestBroker(id, this.dataDir(id), o);
    this.brokers.set(id, b);
    this.clients.get(id)?.close();
    this.clients.set(id, new TestClient(`127.0.0.1:${b.port}`));
    return b;
  }

  /** `stopAll`, then `removeRoot`. */
  async close(opts: { readonly tolerateShutdownErrors: boolean }): Promise<void> {
    await this.stopAll(opts);
    await this.removeRoot();
  }

  /**
   * Closes the clients and stops every broker still running without a controlled shutdown.
   * Tests that leave a broker broken (a failed disk) tolerate its shutdown failing; the others
   * let such a failure fail the suite.
   */
  async stopAll(opts: { readonly tolerateShutdownErrors: boolean }): Promise<void> {
    for (const c of this.clients.values()) c.close();
    for (const b of this.brokers.values()) {
      const stopped = b.shutdown({ controlled: false });
      await (opts.tolerateShutdownErrors ? stopped.catch(() => undefined) : stopped);
    }
  }

  /** Separate from `stopAll` for tests that keep other processes writing under the root. */
  async removeRoot(): Promise<void> {
    if (this.root) await rm(this.root, { recursive: true, force: true });
  }
}
