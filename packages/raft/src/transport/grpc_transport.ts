// GrpcTransport: moves the core's messages between nodes over the brook.v1.Raft service.
//
// Contract (the core assumes no more than this, as Kafka's NetworkChannel says: "We do not
// assume ordering of requests or even that every outbound request will receive a response"):
// - send() never blocks and never throws. Per peer there is one long-lived Send stream; what
//   cannot be written (peer down, in backoff, queue full) is dropped and the peer is reported
//   unreachable so the leader falls back to probing it.
// - A broken stream is redialled after an exponential backoff with jitter; a stream is also
//   rotated before its deadline, because every call carries one.
// - Snap messages go through InstallSnapshot in CRC-checked chunks; the outcome is reported
//   through onSnapshotStatus. A chunk that fails its checks is rejected with a logged reason.
// - Inbound messages from unknown node ids, for another node, or of a local-only type are
//   dropped with a logged reason; they never reach the core.
// The service can be registered on an existing grpc.Server (the controller's port 9093) or on
// a server of its own (`listen`).
import * as grpc from "@grpc/grpc-js";
import { widenReceiveWindow } from "@brook/protocol";
import { RaftClient, RaftService, type RaftMessage, type RaftServer, type SnapshotChunk } from "@brook/protocol/gen/brook/v1/raft";
import type { Logger } from "pino";
import { MessageType, type Message, type NodeId, type Snapshot } from "../core/types.js";
import { DEFAULT_BACKOFF, backoffDelayMs, type BackoffPolicy } from "./backoff.js";
import { fromWireMessage, isStreamType, toWireMessage } from "./message_codec.js";
import { SnapshotAssembler, SnapshotReassemblyError, chunkSnapshot } from "./snapshot_chunks.js";

export interface TransportHandler {
  /** A validated message for the core. */
  onMessage(m: Message): void;
  /** Messages to `peer` were dropped because it is unreachable. */
  onUnreachable(peer: NodeId): void;
  /** An InstallSnapshot to `peer` finished (accepted or not). */
  onSnapshotStatus(peer: NodeId, ok: boolean): void;
}

export interface GrpcTransportOptions {
  readonly id: NodeId;
  /** Every other node (voters and observers) and its host:port. */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly handler: TransportHandler;
  readonly logger: Logger;
  /** Register on this server (the caller binds and starts it). */
  readonly server?: grpc.Server;
  /** Otherwise create a server bound here, e.g. "127.0.0.1:0". */
  readonly listen?: string;
  /** Lifetime of one Send stream; it is rotated before this passes. */
  readonly streamDeadlineMs?: number;
  readonly snapshotDeadlineMs?: number;
  readonly snapshotChunkBytes?: number;
  readonly maxSnapshotBytes?: number;
  /** Messages buffered per peer while its stream is not writable; beyond this they drop. */
  readonly maxQueuedMessages?: number;
  readonly backoff?: BackoffPolicy;
  /** Uniform [0, 1); injected so tests can pin the jitter. */
  readonly random?: () => number;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // grpc-js' own subchannel backoff defaults to 1 s growing to 120 s; a restarted peer must be
  // found again within about a second, so keep its ceiling at ours.
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1_000,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
};

export class GrpcTransport {
  readonly #opts: Required<Omit<GrpcTransportOptions, "server" | "listen">>;
  readonly #peerIds: ReadonlySet<NodeId>;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #ownServer: grpc.Server | undefined;
  readonly #log: Logger;
  #port: number | undefined;
  #closed = false;
  /** Rejections per reason, so a misbehaving sender cannot flood the log. */
  readonly #rejections = new Map<string, number>();

  private constructor(opts: GrpcTransportOptions, ownServer: grpc.Server | undefined) {
    this.#opts = {
      id: opts.id,
      peers: opts.peers,
      handler: opts.handler,
      logger: opts.logger,
      streamDeadlineMs: opts.streamDeadlineMs ?? 60_000,
      snapshotDeadlineMs: opts.snapshotDeadlineMs ?? 60_000,
      snapshotChunkBytes: opts.snapshotChunkBytes ?? 1024 * 1024,
      maxSnapshotBytes: opts.maxSnapshotBytes ?? 1024 * 1024 * 1024,
      maxQueuedMessages: opts.maxQueuedMessages ?? 4096,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      random: opts.random ?? Math.random,
    };
    this.#log = opts.logger.child({ component: "raft-transport" });
    this.#peerIds = new Set(opts.peers.keys());
    this.#ownServer = ownServer;
    for (const [peer, address] of opts.peers) {
      if (peer !== opts.id) this.#links.set(peer, new PeerLink(peer, address, this.#opts, this.#log));
    }
  }

  /** Registers the Raft service (on `server`, or a new one bound to `listen`) and returns. */
  static async start(opts: GrpcTransportOptions): Promise<GrpcTransport> {
    if ((opts.server === undefined) === (opts.listen === undefined)) {
      throw new Error("GrpcTransport needs exactly one of `server` or `listen`");
    }
    const own = opts.server === undefined ? new grpc.Server({ "grpc.max_receive_message_length": 64 * 1024 * 1024 }) : undefined;
    // AppendEntries of 64 KiB entries would otherwise wait for a WINDOW_UPDATE per 64 KiB.
    if (own !== undefined) widenReceiveWindow(own);
    const t = new GrpcTransport(opts, own);
    (opts.server ?? own!).addService(RaftService, t.#service());
    if (own !== undefined) {
      t.#port = await new Promise<number>((resolve, reject) =>
        own.bindAsync(opts.listen!, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
      );
    }
    return t;
  }

  /** The bound port when the transport created its own server. */
  get port(): number | undefined {
    return this.#port;
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      const link = this.#links.get(m.to);
      if (link === undefined) {
        this.#log.warn({ to: m.to, type: m.type }, "dropping message for a node with no address");
      } else if (m.type === MessageType.Snap) {
        if (m.snapshot === undefined) this.#log.warn({ to: m.to }, "dropping Snap message without a snapshot");
        else link.sendSnapshot({ ...m, snapshot: m.snapshot });
      } else if (isStreamType(m.type)) {
        link.send(toWireMessage(m));
      } else {
        this.#log.warn({ to: m.to, type: m.type }, "dropping local-only message type");
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    if (this.#ownServer !== undefined) {
      const server = this.#ownServer;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
  }

  #reject(reason: string): void {
    const n = (this.#rejections.get(reason) ?? 0) + 1;
    this.#rejections.set(reason, n);
    // Log the first of each reason and then every 1000th.
    if (n === 1 || n % 1000 === 0) this.#log.warn({ count: n }, `rejected inbound raft message: ${reason}`);
  }

  #service(): RaftServer {
    return {
      send: (call, callback) => {
        call.on("data", (w: RaftMessage) => {
          if (this.#closed) return;
          const decoded = fromWireMessage(w, this.#opts.id, this.#peerIds);
          if (decoded.ok) this.#opts.handler.onMessage(decoded.value);
          else this.#reject(decoded.reason);
        });
        call.on("end", () => callback(null, {}));
        call.on("error", () => undefined); // the peer went away; nothing to answer
      },
      installSnapshot: (call, callback) => {
        const assembler = new SnapshotAssembler(this.#opts.id, this.#peerIds, this.#opts.maxSnapshotBytes);
        let failure: string | undefined;
        call.on("data", (chunk: SnapshotChunk) => {
          if (failure !== undefined) return;
          try {
            assembler.add(chunk);
          } catch (err) {
            if (!(err instanceof SnapshotReassemblyError)) throw err;
            failure = err.message;
          }
        });
        call.on("end", () => {
          let message: Message | undefined;
          if (failure === undefined) {
            try {
              message = assembler.finish();
            } catch (err) {
              if (!(err instanceof SnapshotReassemblyError)) throw err;
              failure = err.message;
            }
          }
          if (message !== undefined && !this.#closed) {
            this.#log.info({ from: message.from, index: message.snapshot?.meta.index }, "received snapshot");
            this.#opts.handler.onMessage(message);
            callback(null, { accepted: true, reason: "" });
          } else {
            const reason = failure ?? "transport closed";
            this.#reject(`snapshot: ${reason}`);
            callback(null, { accepted: false, reason });
          }
        });
        call.on("error", () => undefined);
      },
    };
  }
}

type LinkOptions = Required<Omit<GrpcTransportOptions, "server" | "listen">>;

/**
 * One outbound peer. States: idle (no stream) -> open (stream writable, or buffering up to
 * maxQueuedMessages until 'drain') -> backoff (stream failed; drop everything until the
 * delay passes) -> idle. Rotation swaps open -> open and carries the queue across.
 * close() ends everything.
 */
class PeerLink {
  readonly #client: RaftClient;
  #stream: grpc.ClientWritableStream<RaftMessage> | undefined;
  #streamOpenedAt = 0;
  #writable = true;
  readonly #queue: RaftMessage[] = [];
  #backoffUntil = 0;
  #attempt = 0;
  #dropped = 0;
  #snapshotInFlight = false;
  #closed = false;

  constructor(
    readonly peer: NodeId,
    readonly address: string,
    private readonly opts: LinkOptions,
    private readonly log: Logger,
  ) {
    this.#client = new RaftClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }

  send(m: RaftMessage): void {
    if (this.#closed) return;
    const now = Date.now();
    if (now < this.#backoffUntil) return this.#drop();
    if (this.#stream !== undefined && now - this.#streamOpenedAt > this.opts.streamDeadlineMs * 0.8) this.#rotate(now);
    if (this.#stream === undefined) this.#open(now);
    this.#enqueue(m);
  }

  sendSnapshot(m: Message & { snapshot: Snapshot }): void {
    if (this.#closed) return;
    if (this.#snapshotInFlight) {
      // The core sends one snapshot at a time per peer; a second one means it gave up on the first.
      this.log.warn({ peer: this.peer }, "snapshot already in flight; dropping another");
      this.opts.handler.onSnapshotStatus(this.peer, false);
      return;
    }
    this.#snapshotInFlight = true;
    const started = Date.now();
    const done = (ok: boolean, reason: string): void => {
      this.#snapshotInFlight = false;
      if (ok) this.log.info({ peer: this.peer, index: m.snapshot.meta.index, ms: Date.now() - started }, "snapshot sent");
      else this.log.warn({ peer: this.peer, index: m.snapshot.meta.index, reason }, "snapshot send failed");
      if (!this.#closed) this.opts.handler.onSnapshotStatus(this.peer, ok);
    };
    const call = this.#client.installSnapshot({ deadline: started + this.opts.snapshotDeadlineMs }, (err, res) => {
      if (err) done(false, err.message);
      else done(res.accepted, res.reason);
    });
    const chunks = chunkSnapshot(m, this.opts.snapshotChunkBytes);
    const pump = (): void => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!call.write(next.value)) {
          call.once("drain", pump);
          return;
        }
      }
      call.end();
    };
    pump();
  }

  close(): void {
    this.#closed = true;
    this.#stream?.end();
    this.#stream = undefined;
    this.#client.close();
  }

  #open(now: number): void {
    const stream = this.#client.send({ deadline: now + this.opts.streamDeadlineMs }, (err) => {
      if (this.#stream === stream) {
        this.#stream = undefined;
        this.#writable = true;
        this.#queue.length = 0;
      }
      if (err === null || this.#closed) return;
      if (err.code === grpc.status.DEADLINE_EXCEEDED || err.code === grpc.status.CANCELLED) return;
      // A stream that lived a while was healthy: start the backoff over.
      if (Date.now() - this.#streamOpenedAt > 2_000) this.#attempt = 0;
      const delay = backoffDelayMs(this.opts.backoff, this.#attempt++, this.opts.random());
      this.#backoffUntil = Date.now() + delay;
      if (this.#attempt <= 1) this.log.warn({ peer: this.peer, code: err.code, err: err.details, delay }, "raft stream to peer failed");
      this.opts.handler.onUnreachable(this.peer);
    });
    stream.on("drain", () => {
      if (this.#stream !== stream) return;
      this.#writable = true;
      while (this.#queue.length > 0 && this.#writable) this.#writable = stream.write(this.#queue.shift()!);
    });
    this.#stream = stream;
    this.#streamOpenedAt = now;
    this.#writable = true;
  }

  /** Writes to the open stream, or queues (bounded) while it waits for 'drain'. */
  #enqueue(m: RaftMessage): void {
    if (!this.#writable) {
      if (this.#queue.length >= this.opts.maxQueuedMessages) return this.#drop();
      this.#queue.push(m);
      return;
    }
    this.#writable = this.#stream!.write(m);
  }

  /**
   * Swaps in a fresh stream and ends the old one gracefully (what it already accepted is
   * flushed). Messages still queued behind the old stream's backpressure move to the new one:
   * the peer was healthy, so losing them would only cost a retransmit round.
   */
  #rotate(now: number): void {
    const old = this.#stream!;
    const pending = this.#queue.splice(0);
    this.#open(now);
    old.end();
    for (const m of pending) this.#enqueue(m);
  }

  #drop(): void {
    this.#dropped++;
    if (this.#dropped % 1000 === 1) this.log.debug({ peer: this.peer, dropped: this.#dropped }, "dropping messages to unreachable peer");
  }
}
