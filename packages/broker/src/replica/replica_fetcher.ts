// Follower side of replication for every partition this broker follows from ONE leader broker:
// one long-lived bidi ReplicaFetch stream, one request in flight at a time. Before a partition
// fetches under a new leader epoch it truncates its divergent suffix (OffsetsForLeaderEpoch,
// KIP-101/279). After appending a response it flushes (group commit across partitions) before
// the next request, so the offset a follower reports is durable and may count toward the HW.
import { credentials, Metadata, type ClientDuplexStream } from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  ReplicaClient,
  type ReplicaFetchRequest,
  type ReplicaFetchResponse,
} from "@brook/protocol/gen/brook/v1/replica";
import { Code } from "../errors.js";
import type { Partition } from "./partition.js";
import { truncationOffset } from "./truncation.js";

/**
 * First retry after the leader answered that it does not lead this epoch yet
 * (NOT_LEADER_OR_FOLLOWER, UNKNOWN_LEADER_EPOCH): right after an election both brokers apply
 * the same metadata record, so the leader is usually milliseconds behind. Doubles per failed
 * try up to NOT_READY_MAX_MS, so a leader that really does not serve is not hammered. (Was a
 * flat 100-200 ms, i.e. on every failover where the follower applied the election first.)
 */
const NOT_READY_FIRST_MS = 10;
const NOT_READY_MAX_MS = 320;

/** HTTP/2 receive window of the replica stream (bytes): above one full response (maxBytes). */
const REPLICA_FLOW_CONTROL_WINDOW = 64 * 1024 * 1024;

interface FollowedPartition {
  readonly partition: Partition;
  readonly leaderEpoch: number;
  truncated: boolean;
  /** After a fencing error: wait for metadata to move on instead of hammering the leader. */
  pausedUntilMs: number;
  /** Consecutive "leader not ready" answers, for the retry backoff. */
  notReady: number;
}

export class ReplicaFetcher {
  private readonly followed = new Map<string, FollowedPartition>();
  private client: ReplicaClient | undefined;
  private clientAddress: string | undefined;
  private stream: ClientDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse> | undefined;
  private pending: { id: number; resolve: (r: ReplicaFetchResponse | null) => void } | undefined;
  private correlation = 0;
  private running = true;
  private wakeIdle: (() => void) | undefined;
  /** The stream was dropped on purpose to restart the long poll: not a failure. */
  private pollRestart = false;

  constructor(
    private readonly opts: {
      leaderId: number;
      localId: number;
      brokerEpoch: () => number;
      address: () => string | undefined;
      maxWaitMs: number;
      maxBytes: number;
      logger: Logger;
    },
  ) {
    void this.loop();
  }

  size(): number {
    return this.followed.size;
  }

  add(key: string, partition: Partition, leaderEpoch: number): void {
    this.followed.set(key, { partition, leaderEpoch, truncated: false, pausedUntilMs: 0, notReady: 0 });
    this.wakeIdle?.();
    // The long poll in flight does not name this partition, and would leave it unfetched for
    // up to maxWaitMs (after a failover, the first acks=all produce on the new leader waits for
    // exactly this fetch). End the poll; the next request names every followed partition.
    if (this.pending !== undefined) {
      this.pollRestart = true;
      this.dropStream();
    }
  }

  remove(key: string): void {
    this.followed.delete(key);
  }

  close(): void {
    this.running = false;
    this.wakeIdle?.();
    this.dropStream();
    this.client?.close();
    this.client = undefined;
  }

  private async loop(): Promise<void> {
    let backoffMs = 50;
    while (this.running) {
      try {
        if (this.followed.size === 0) {
          await new Promise<void>((r) => {
            this.wakeIdle = r;
            setTimeout(r, 1_000).unref();
          });
          continue;
        }
        const client = this.ensureClient();
        if (client === undefined) throw new Error(`no address for leader ${this.opts.leaderId}`);
        await this.truncatePending(client);
        await this.fetchOnce(client);
        backoffMs = 50;
      } catch (err) {
        if (!this.running) return;
        this.opts.logger.debug({ err: String(err), leader: this.opts.leaderId }, "replica fetch failed; retrying");
        this.dropStream();
        await sleep(backoffMs);
        backoffMs = Math.min(1_000, backoffMs * 2);
      }
    }
  }

  private ensureClient(): ReplicaClient | undefined {
    const address = this.opts.address();
    if (address === undefined) return undefined;
    if (this.client === undefined || this.clientAddress !== address) {
      this.dropStream();
      this.client?.close();
      this.client = new ReplicaClient(address, credentials.createInsecure(), {
        "grpc.max_receive_message_length": 64 * 1024 * 1024,
        "grpc.max_send_message_length": 64 * 1024 * 1024,
        "grpc.keepalive_time_ms": 10_000,
        // Responses carry megabytes of batches: with HTTP/2's default 64 KiB window every
        // response would stall on WINDOW_UPDATE round trips between two busy event loops.
        "grpc-node.flow_control_window": REPLICA_FLOW_CONTROL_WINDOW,
      });
      this.clientAddress = address;
    }
    return this.client;
  }

  private async truncatePending(client: ReplicaClient): Promise<void> {
    const now = Date.now();
    const todo = [...this.followed.values()].filter((f) => !f.truncated && f.pausedUntilMs <= now);
    if (todo.length === 0) return;
    const req = {
      replicaId: this.opts.localId,
      partitions: todo.map((f) => ({
        topic: f.partition.topic,
        partition: f.partition.index,
        currentLeaderEpoch: f.leaderEpoch,
        leaderEpoch: f.partition.log.latestEpoch(),
      })),
    };
    const res = await new Promise<import("@brook/protocol/gen/brook/v1/replica").OffsetsForLeaderEpochResponse>((resolve, reject) =>
      client.offsetsForLeaderEpoch(req, new Metadata(), { deadline: Date.now() + 10_000 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    for (const f of todo) {
      const a = res.partitions.find((x) => x.topic === f.partition.topic && x.partition === f.partition.index);
      if (a === undefined || a.errorCode !== Code.NONE) {
        // The leader may not have applied its election yet; try again shortly.
        this.pauseAfter(f, a?.errorCode ?? Code.NOT_LEADER_OR_FOLLOWER);
        continue;
      }
      f.notReady = 0;
      const log = f.partition.log;
      const latest = log.latestEpoch();
      const target =
        latest < 0
          ? log.logEndOffset() // nothing written under any epoch: nothing can diverge
          : truncationOffset(
              { epoch: a.leaderEpoch, endOffset: a.endOffset },
              (e) => log.endOffsetForEpoch(e).endOffset,
              log.logEndOffset(),
              log.highWatermark(),
            );
      const done = await f.partition.runExclusive(async () => {
        if (!f.partition.isFollowerOf(f.leaderEpoch)) return false;
        // Always asked of the log, which decides in its own queue: an append still in flight
        // from our last leadership ends up after the log end read above, and must go too.
        const before = log.logEndOffset();
        await log.truncateTo(target);
        if (log.logEndOffset() < before) this.opts.logger.info({ partition: f.partition.name(), from: before, to: target }, "truncating divergent suffix");
        return true;
      });
      if (done) f.truncated = true;
    }
  }

  private openStream(client: ReplicaClient): ClientDuplexStream<ReplicaFetchRequest, ReplicaFetchResponse> {
    if (this.stream !== undefined) return this.stream;
    const stream = client.replicaFetch();
    stream.on("data", (r: ReplicaFetchResponse) => {
      if (this.pending !== undefined && this.pending.id === r.correlationId) {
        const p = this.pending;
        this.pending = undefined;
        p.resolve(r);
      }
    });
    const broken = () => {
      if (this.stream === stream) this.stream = undefined;
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(null);
    };
    stream.on("error", broken);
    stream.on("end", broken);
    stream.on("close", broken);
    this.stream = stream;
    return stream;
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s !== undefined) {
      s.removeAllListeners("data");
      s.on("error", () => {});
      s.cancel();
    }
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(null);
  }

  private async handleOutOfRange(f: FollowedPartition, leaderStart: number, leaderEnd: number): Promise<void> {
    await f.partition.runExclusive(async () => {
      if (!f.partition.isFollowerOf(f.leaderEpoch)) return;
      const log = f.partition.log;
      const action = outOfRangeTarget(log.logEndOffset(), leaderStart, leaderEnd);
      if (action === null) return;
      this.opts.logger.warn({ partition: f.partition.name(), leo: log.logEndOffset(), leaderStart, leaderEnd }, "fetch offset out of range on the leader");
      if (action.kind === "truncate") await log.truncateTo(action.to);
      else await log.truncateFullyAndStartAt(action.at);
    });
    f.pausedUntilMs = Date.now() + 50;
  }

  /** Pauses a partition after an error answer: briefly when the leader is just behind. */
  private pauseAfter(f: FollowedPartition, code: number): void {
    if (code === Code.NOT_LEADER_OR_FOLLOWER || code === Code.UNKNOWN_LEADER_EPOCH) {
      f.pausedUntilMs = Date.now() + Math.min(NOT_READY_MAX_MS, NOT_READY_FIRST_MS << Math.min(f.notReady, 10));
      f.notReady++;
    } else {
      // FENCED_LEADER_EPOCH and the like: this broker is behind; new metadata re-adds it.
      f.pausedUntilMs = Date.now() + 200;
    }
  }

  /** Sleeps until the first paused partition may go again (at most 50 ms); add() cuts it short. */
  private idle(): Promise<void> {
    const now = Date.now();
    let until = now + 50;
    for (const f of this.followed.values()) if (f.pausedUntilMs > now) until = Math.min(until, f.pausedUntilMs);
    return new Promise<void>((r) => {
      const t = setTimeout(done, Math.max(1, until - now));
      function done(): void {
        clearTimeout(t);
        r();
      }
      this.wakeIdle = done;
    });
  }

  private async fetchOnce(client: ReplicaClient): Promise<void> {
    const now = Date.now();
    const active = [...this.followed.values()].filter((f) => f.truncated && f.pausedUntilMs <= now);
    if (active.length === 0) {
      await this.idle();
      return;
    }
    // What we report as our fetch offset counts toward the leader's HW, so it must be durable
    // (after a restart the tail may be in the page cache only). A no-op once flushed.
    await Promise.all(active.filter((f) => f.partition.log.durableEndOffset() < f.partition.log.logEndOffset()).map((f) => f.partition.log.flush()));
    const stream = this.openStream(client);
    const id = ++this.correlation;
    const req: ReplicaFetchRequest = {
      correlationId: id,
      replicaId: this.opts.localId,
      brokerEpoch: this.opts.brokerEpoch(),
      maxWaitMs: this.opts.maxWaitMs,
      minBytes: 1,
      maxBytes: this.opts.maxBytes,
      partitions: active.map((f) => ({
        topic: f.partition.topic,
        partition: f.partition.index,
        currentLeaderEpoch: f.leaderEpoch,
        fetchOffset: f.partition.log.logEndOffset(),
        partitionMaxBytes: this.opts.maxBytes,
        logStartOffset: f.partition.log.logStartOffset(),
      })),
    };
    const fetchedFrom = new Map(active.map((f) => [f, f.partition.log.logEndOffset()]));
    const res = await new Promise<ReplicaFetchResponse | null>((resolve) => {
      this.pending = { id, resolve };
      stream.write(req);
    });
    if (res === null) {
      if (this.pollRestart) {
        this.pollRestart = false;
        return;
      }
      throw new Error("replica stream closed");
    }
    const byKey = new Map(active.map((f) => [keyOf(f), f]));
    // Partitions are independent logs: apply them in parallel, each under its own lock.
    await Promise.all(
      res.partitions.map(async (r): Promise<FollowedPartition | null> => {
        const f = byKey.get(`${r.topic}\u0000${r.partition}`);
        if (f === undefined || this.followed.get(keyOf(f)) !== f) return null; // removed meanwhile
        if (r.errorCode === Code.OFFSET_OUT_OF_RANGE && r.logEndOffset >= 0) {
          await this.handleOutOfRange(f, r.logStartOffset, r.logEndOffset);
          return null;
        }
        if (r.errorCode !== Code.NONE) {
          this.pauseAfter(f, r.errorCode);
          return null;
        }
        f.notReady = 0;
        let ok = false;
        if (r.records.length > 0) {
          try {
            ok = await f.partition.runExclusive(async () => {
              // Leadership may have moved while the response was in flight.
              if (!f.partition.isFollowerOf(f.leaderEpoch) || f.partition.log.logEndOffset() !== fetchedFrom.get(f)) return false;
              await f.partition.log.appendAsFollower(r.records);
              return true;
            });
          } catch (err) {
            // One partition's failure (a corrupt response, a failed disk) must not stall the
            // others on this stream: re-derive its position before fetching it again.
            this.opts.logger.warn({ partition: f.partition.name(), err: String(err) }, "follower append failed");
            f.truncated = false;
            f.pausedUntilMs = Date.now() + 500;
            return null;
          }
        }
        f.partition.followerUpdateHighWatermark(r.highWatermark);
        if (!ok) return null;
        // Durable before the next fetch reports this offset to the leader (group commit).
        await f.partition.log.flush();
        f.partition.followerUpdateHighWatermark(r.highWatermark);
        return f;
      }),
    );
  }
}

/** Kafka's ReplicaFetcher out-of-range handling, under the replica's exclusive lock. */
function outOfRangeTarget(logEndOffset: number, leaderStart: number, leaderEnd: number): { kind: "truncate"; to: number } | { kind: "restart"; at: number } | null {
  if (logEndOffset > leaderEnd) return { kind: "truncate", to: leaderEnd }; // ahead of the leader
  if (logEndOffset < leaderStart) return { kind: "restart", at: leaderStart }; // fell below retention
  return null;
}

function keyOf(f: FollowedPartition): string {
  return `${f.partition.topic}\u0000${f.partition.index}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
