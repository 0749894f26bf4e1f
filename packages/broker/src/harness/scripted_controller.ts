// Harness (tests and benchmarks): a scripted stand-in for the controller quorum served over the real brook.v1.Controller gRPC
// service, for broker integration tests with real broker processes (SIGKILL, restart) while
// the product controller's runnable is not available. NOT the product controller: one
// process, no Raft. It follows the contract the brokers rely on: metadata as committed record
// batches with increasing offsets; brokers register fenced and are unfenced once caught up;
// a broker missing its session timeout is fenced and its leaderships move to a live ISR
// member with the leader epoch bumped (never outside the ISR: no unclean election);
// AlterPartition checks broker, leader and partition epochs; controlled shutdown moves
// leadership away before answering should_shut_down.
import { randomBytes } from "node:crypto";
import { Server, ServerCredentials, type ServerWritableStream } from "@grpc/grpc-js";
import {
  ControllerService,
  type ControllerServer,
  type FetchMetadataRequest,
  type FetchMetadataResponse,
} from "@brook/protocol/gen/brook/v1/controller";
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";

interface BrokerState {
  id: number;
  epoch: number;
  host: string;
  port: number;
  fenced: boolean;
  lastHeartbeatMs: number;
  registeredAt: number;
}

interface PartitionState {
  replicas: number[];
  isr: number[];
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
}

interface TopicState {
  id: Buffer;
  partitions: PartitionState[];
}

const ok = { code: 0, message: "" };
const err = (code: number, message: string) => ({ code, message });
const noHint = { id: -1, address: "" };

export class ScriptedControllerServer {
  private readonly batches: { offset: number; records: MetadataRecord[] }[] = [];
  private readonly streams = new Set<ServerWritableStream<FetchMetadataRequest, FetchMetadataResponse>>();
  readonly brokers = new Map<number, BrokerState>();
  readonly topics = new Map<string, TopicState>();
  /** Every leader change: [topic, partition, newLeader, isrBefore]. Tests check it stayed in the ISR. */
  readonly elections: { topic: string; partition: number; leader: number; isrBefore: number[] }[] = [];
  private nextPid = 1_000;
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  port = 0;

  /** Mutable so a benchmark can use a lenient timeout for load phases and a tight one for failover. */
  constructor(public sessionTimeoutMs = 1_500) {}

  async start(): Promise<void> {
    const server = new Server();
    server.addService(ControllerService, this.handlers());
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.server = server;
    this.timer = setInterval(() => this.expireSessions(), 100);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.streams) s.end();
    await new Promise<void>((r) => this.server?.tryShutdown(() => r()) ?? r());
  }

  private get offset(): number {
    return this.batches.length === 0 ? 0 : this.batches[this.batches.length - 1]!.offset;
  }

  private commit(records: MetadataRecord[]): number {
    const offset = this.offset + 1;
    this.batches.push({ offset, records });
    for (const s of this.streams) s.write({ offset, epoch: 1, records, highWatermark: offset });
    return offset;
  }

  private rec(record: MetadataRecord["record"]): MetadataRecord {
    return { version: 1, record };
  }

  createTopic(name: string, assignments: number[][], configs: Record<string, string> = {}): void {
    const id = randomBytes(16);
    const partitions = assignments.map((replicas) => ({ replicas, isr: [...replicas], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 }));
    this.topics.set(name, { id, partitions });
    this.commit([
      ...Object.entries(configs).map(([k, v]) => this.rec({ $case: "config", config: { resourceType: 2, resourceName: name, name: k, value: v, delete: false } })),
      this.rec({ $case: "topic", topic: { name, topicId: id } }),
      ...partitions.map((p, i) => this.rec({ $case: "partition", partition: { topicId: id, partition: i, ...p } })),
    ]);
  }

  leaderOf(topic: string, partition = 0): PartitionState {
    return this.topics.get(topic)!.partitions[partition]!;
  }

  private live(id: number): boolean {
    const b = this.brokers.get(id);
    return b !== undefined && !b.fenced;
  }

  /** Moves `p` to `leader` with `isr`, as one PartitionChangeRecord. */
  private change(topic: string, index: number, leader: number, isr: number[]): MetadataRecord {
    const t = this.topics.get(topic)!;
    const p = t.partitions[index]!;
    if (leader !== p.leader) {
      this.elections.push({ topic, partition: index, leader, isrBefore: [...p.isr] });
      p.leaderEpoch++;
    }
    p.partitionEpoch++;
    const unchanged = leader === p.leader;
    p.leader = leader;
    p.isr = isr;
    return this.rec({
      $case: "partitionChange",
      partitionChange: { topicId: t.id, partition: index, leader: unchanged ? -2 : leader, hasIsr: true, isr, hasReplicas: false, replicas: [] },
    });
  }

  /** Takes `id` out of every ISR and leadership (fencing or controlled shutdown). */
  private moveAway(id: number): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    for (const [name, t] of this.topics)
      t.partitions.forEach((p, i) => {
        if (!p.isr.includes(id) && p.leader !== id) return;
        // The last ISR member stays in the ISR (Kafka): electing anyone else would be unclean.
        const isr = p.isr.length > 1 ? p.isr.filter((r) => r !== id) : p.isr;
        let leader = p.leader;
        if (leader === id) leader = isr.find((r) => r !== id && this.live(r)) ?? -1;
        out.push(this.change(name, i, leader, isr));
      });
    return out;
  }

  fence(id: number): void {
    const b = this.brokers.get(id);
    if (b === undefined || b.fenced) return;
    b.fenced = true;
    this.commit([this.rec({ $case: "fenceBroker", fenceBroker: { brokerId: id, brokerEpoch: b.epoch } }), ...this.moveAway(id)]);
  }

  private expireSessions(): void {
    const now = Date.now();
    for (const b of this.brokers.values()) if (!b.fenced && now - b.lastHeartbeatMs > this.sessionTimeoutMs) this.fence(b.id);
  }

  private unfence(b: BrokerState): void {
    b.fenced = false;
    const recs: MetadataRecord[] = [this.rec({ $case: "unfenceBroker", unfenceBroker: { brokerId: b.id, brokerEpoch: b.epoch } })];
    for (const [name, t] of this.topics)
      t.partitions.forEach((p, i) => {
        if (p.leader < 0 && p.isr.includes(b.id)) recs.push(this.change(name, i, b.id, p.isr));
      });
    this.commit(recs);
  }

  private handlers(): ControllerServer {
    const unimplemented = (what: string) => (_c: unknown, cb: (e: Error) => void) => cb(new Error(`${what} is not scripted`));
    return {
      brokerRegistration: (call, cb) => {
        const r = call.request;
        const ep = r.endpoints[0];
        const offset = this.offset + 1;
        const prev = this.brokers.get(r.brokerId);
        const b: BrokerState = { id: r.brokerId, epoch: offset, host: ep?.host ?? "", port: ep?.port ?? 0, fenced: true, lastHeartbeatMs: Date.now(), registeredAt: offset };
        this.brokers.set(r.brokerId, b);
        const recs: MetadataRecord[] = [];
        if (prev !== undefined && !prev.fenced) recs.push(...this.moveAway(r.brokerId)); // a restarted incarnation
        recs.unshift(
          this.rec({
            $case: "registerBroker",
            registerBroker: { brokerId: r.brokerId, incarnationId: r.incarnationId, brokerEpoch: offset, endpoints: r.endpoints, rack: r.rack, fenced: true },
          }),
        );
        this.commit(recs);
        cb(null, { error: ok, controller: noHint, brokerEpoch: offset });
      },
      brokerHeartbeat: (call, cb) => {
        const r = call.request;
        const b = this.brokers.get(r.brokerId);
        if (b === undefined) return cb(null, { error: err(102, "not registered"), controller: noHint, isCaughtUp: false, isFenced: true, shouldShutDown: false });
        if (b.epoch !== r.brokerEpoch) return cb(null, { error: err(77, "stale broker epoch"), controller: noHint, isCaughtUp: false, isFenced: true, shouldShutDown: false });
        b.lastHeartbeatMs = Date.now();
        const caughtUp = r.currentMetadataOffset >= b.registeredAt;
        if (r.wantShutDown) {
          const recs = this.moveAway(b.id);
          if (recs.length > 0) this.commit(recs);
          const leads = [...this.topics.values()].some((t) => t.partitions.some((p) => p.leader === b.id));
          if (!leads) this.fence(b.id);
          return cb(null, { error: ok, controller: noHint, isCaughtUp: caughtUp, isFenced: b.fenced, shouldShutDown: !leads });
        }
        // A failed log directory: fenced (leaderships moved, out of the ISRs) while reported.
        if (r.offlineLogDirs.length > 0) this.fence(b.id);
        else if (b.fenced && caughtUp && !r.wantFence) this.unfence(b);
        cb(null, { error: ok, controller: noHint, isCaughtUp: caughtUp, isFenced: b.fenced, shouldShutDown: false });
      },
      alterPartition: (call, cb) => {
        const r = call.request;
        const entry = [...this.topics].find(([, t]) => t.id.equals(r.topicId));
        const p = entry?.[1].partitions[r.partition];
        const base = { controller: noHint, leader: p?.leader ?? -1, leaderEpoch: p?.leaderEpoch ?? -1, partitionEpoch: p?.partitionEpoch ?? -1, isr: p?.isr ?? [] };
        if (entry === undefined || p === undefined) return cb(null, { ...base, error: err(3, "unknown partition") });
        if (this.brokers.get(r.brokerId)?.epoch !== r.brokerEpoch) return cb(null, { ...base, error: err(77, "stale broker epoch") });
        if (p.leader !== r.brokerId || p.leaderEpoch !== r.leaderEpoch) return cb(null, { ...base, error: err(74, "fenced leader epoch") });
        if (p.partitionEpoch !== r.partitionEpoch) return cb(null, { ...base, error: err(95, "stale partition epoch") });
        if (r.newIsr.some((id) => id !== p.leader && !this.live(id))) return cb(null, { ...base, error: err(107, "ineligible replica") });
        this.commit([this.change(entry[0], r.partition, p.leader, [...r.newIsr])]);
        cb(null, { error: ok, controller: noHint, leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr });
      },
      allocateProducerIds: (_call, cb) => {
        const first = this.nextPid;
        this.nextPid += 1_000;
        cb(null, { error: ok, controller: noHint, firstProducerId: first, size: 1_000 });
      },
      fetchMetadata: (call) => {
        const from = call.request.fromOffset;
        for (const b of this.batches) if (b.offset >= from) call.write({ offset: b.offset, epoch: 1, records: b.records, highWatermark: this.offset });
        this.streams.add(call);
        const drop = () => this.streams.delete(call);
        call.on("cancelled", drop);
        call.on("close", drop);
        call.on("error", drop);
      },
      createTopics: unimplemented("createTopics"),
      deleteTopics: unimplemented("deleteTopics"),
      createPartitions: unimplemented("createPartitions"),
      electLeaders: unimplemented("electLeaders"),
      describeCluster: unimplemented("describeCluster"),
      describeQuorum: unimplemented("describeQuorum"),
      incrementalAlterConfigs: unimplemented("incrementalAlterConfigs"),
      describeConfigs: unimplemented("describeConfigs"),
    };
  }
}
