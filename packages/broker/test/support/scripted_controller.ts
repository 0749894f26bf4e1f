// A deterministic stand-in for the controller quorum at the broker's ControllerChannel
// boundary, for broker-level integration tests (real gRPC between real brokers, real logs).
// It is not the product controller: it keeps one in-memory view, elects leaders only from the
// ISR (never unclean), checks leader and partition epochs on AlterPartition exactly as the
// controller contract says, and lets a test fence a broker as a missed session would.
import type {
  AlterPartitionRequest,
  AlterPartitionResult,
  BrokerRegistration,
  ControllerChannel,
  HeartbeatRequest,
  HeartbeatResult,
  MetadataView,
  PartitionView,
  ProducerIdBlock,
} from "../../src/index.js";
import type { BrokerView, TopicView } from "../../src/metadata/view.js";

const notImplemented = (what: string) => () => Promise.reject(new Error(`${what} is not part of the scripted controller`));

export class ScriptedController {
  private view: MetadataView = { offset: 0, clusterId: "scripted", brokers: new Map(), topics: new Map() };
  private readonly subscribers = new Set<(v: MetadataView) => void>();
  private epochs = 0;
  private nextPid = 1000;
  readonly alterLog: { req: AlterPartitionRequest; ok: boolean }[] = [];

  current(): MetadataView {
    return this.view;
  }

  private publish(next: Omit<MetadataView, "offset">): void {
    this.view = { ...next, offset: this.view.offset + 1 };
    for (const s of this.subscribers) s(this.view);
  }

  private setBroker(b: BrokerView): void {
    const brokers = new Map(this.view.brokers);
    brokers.set(b.id, b);
    this.publish({ ...this.view, brokers });
  }

  private setPartition(p: PartitionView): void {
    const t = this.view.topics.get(p.topic)!;
    const partitions = new Map(t.partitions);
    partitions.set(p.partition, p);
    const topics = new Map(this.view.topics);
    topics.set(p.topic, { ...t, partitions });
    this.publish({ ...this.view, topics });
  }

  createTopic(name: string, assignments: number[][], configs: Record<string, string> = {}): void {
    const topicId = `${(this.view.topics.size + 1).toString(16).padStart(32, "0")}`;
    const partitions = new Map<number, PartitionView>(
      assignments.map((replicas, i) => [
        i,
        { topic: name, topicId, partition: i, replicas, isr: replicas, leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 },
      ]),
    );
    const t: TopicView = { name, topicId, partitions, configs: new Map(Object.entries(configs)) };
    const topics = new Map(this.view.topics);
    topics.set(name, t);
    this.publish({ ...this.view, topics });
  }

  deleteTopic(name: string): void {
    const topics = new Map(this.view.topics);
    topics.delete(name);
    this.publish({ ...this.view, topics });
  }

  /** Moves a partition to `replicas` at once (no catch-up phase): leader = first live one. */
  reassign(topic: string, partition: number, replicas: number[]): void {
    const p = this.view.topics.get(topic)!.partitions.get(partition)!;
    const isr = p.isr.filter((r) => replicas.includes(r));
    const leader = replicas.includes(p.leader) ? p.leader : (isr[0] ?? -1);
    this.setPartition({ ...p, replicas, isr, leader, leaderEpoch: leader === p.leader ? p.leaderEpoch : p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 });
  }

  /** A missed session: fence the broker, move its leaderships to live ISR members, shrink ISRs. */
  fence(id: number): void {
    const b = this.view.brokers.get(id);
    if (b !== undefined) this.setBroker({ ...b, fenced: true });
    for (const t of this.view.topics.values())
      for (const p of t.partitions.values()) {
        if (!p.isr.includes(id) && p.leader !== id) continue;
        const isr = p.isr.length > 1 ? p.isr.filter((r) => r !== id) : p.isr; // never empty the ISR
        const live = isr.filter((r) => this.view.brokers.get(r)?.fenced === false);
        const leader = p.leader === id || p.leader < 0 ? (live[0] ?? -1) : p.leader;
        const leaderChanged = leader !== p.leader;
        this.setPartition({
          ...p,
          isr,
          leader,
          leaderEpoch: leaderChanged ? p.leaderEpoch + 1 : p.leaderEpoch,
          partitionEpoch: p.partitionEpoch + 1,
        });
      }
  }

  /** A leaderless partition gets a leader again when an ISR member comes back. */
  private maybeElect(id: number): void {
    for (const t of this.view.topics.values())
      for (const p of t.partitions.values())
        if (p.leader < 0 && p.isr.includes(id))
          this.setPartition({ ...p, leader: id, leaderEpoch: p.leaderEpoch + 1, partitionEpoch: p.partitionEpoch + 1 });
  }

  channel(): ControllerChannel {
    return {
      register: async (r: BrokerRegistration) => {
        const brokerEpoch = ++this.epochs;
        this.setBroker({ id: r.nodeId, epoch: brokerEpoch, host: r.host, port: r.port, rack: r.rack, fenced: true, inControlledShutdown: false });
        return { brokerEpoch };
      },
      heartbeat: async (h: HeartbeatRequest): Promise<HeartbeatResult> => {
        const b = this.view.brokers.get(h.nodeId);
        if (b === undefined || b.epoch !== h.brokerEpoch) return { isCaughtUp: false, isFenced: true, shouldShutDown: false };
        const caughtUp = h.currentMetadataOffset >= 0;
        if (h.wantShutDown) {
          if (!b.fenced) this.fence(h.nodeId);
          return { isCaughtUp: caughtUp, isFenced: true, shouldShutDown: true };
        }
        if (h.offlineLogDirs.length > 0 && !b.fenced) this.fence(h.nodeId);
        if (b.fenced && caughtUp && !h.wantFence && h.offlineLogDirs.length === 0) {
          this.setBroker({ ...b, fenced: false });
          this.maybeElect(h.nodeId);
        }
        return { isCaughtUp: caughtUp, isFenced: this.view.brokers.get(h.nodeId)!.fenced, shouldShutDown: false };
      },
      alterPartition: async (req: AlterPartitionRequest): Promise<AlterPartitionResult> => {
        const p = this.view.topics.get(req.topic)?.partitions.get(req.partition);
        const ok = p !== undefined && p.leaderEpoch === req.leaderEpoch && p.partitionEpoch === req.partitionEpoch;
        this.alterLog.push({ req, ok });
        if (!ok || p === undefined) return { ok: false, errorCode: p === undefined ? 3 : 74 };
        // Only live brokers may join (KIP-841).
        const isr = req.newIsr.filter((r) => r === p.leader || this.view.brokers.get(r)?.fenced === false);
        const next = { ...p, isr, partitionEpoch: p.partitionEpoch + 1 };
        this.setPartition(next);
        return { ok: true, isr, partitionEpoch: next.partitionEpoch, leaderEpoch: next.leaderEpoch };
      },
      followMetadata: (onView) => {
        this.subscribers.add(onView);
        queueMicrotask(() => onView(this.view));
        return { close: () => this.subscribers.delete(onView) };
      },
      activeControllerId: () => 0,
      close: () => {},
      allocateProducerIds: async (): Promise<ProducerIdBlock> => {
        const firstProducerId = this.nextPid;
        this.nextPid += 100;
        return { firstProducerId, size: 100 };
      },
      createTopics: notImplemented("createTopics"),
      deleteTopics: notImplemented("deleteTopics"),
      createPartitions: notImplemented("createPartitions"),
      describeConfigs: notImplemented("describeConfigs"),
      alterConfigs: notImplemented("alterConfigs"),
      describeCluster: notImplemented("describeCluster"),
    };
  }
}
