// Folds committed metadata records (proto/brook/v1/metadata.proto) into successive immutable
// MetadataViews, as Kafka's MetadataDelta/MetadataImage do. Pure: no I/O, no clock. A snapshot
// replaces everything; a batch applies all its records and yields one view at its offset.
// Records of an unknown schema version are refused (throw) rather than misread.
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import type { BrokerView, MetadataView, PartitionView, TopicView } from "./view.js";
import { EMPTY_VIEW } from "./view.js";

export const KNOWN_RECORD_VERSION = 1;

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export class MetadataReplayer {
  private view: MetadataView = EMPTY_VIEW;
  private readonly nameById = new Map<string, string>();

  /** `preferredListener`: the inter-broker listener, whose endpoint becomes BrokerView.host/port. */
  constructor(private readonly preferredListener = "CLIENT") {}

  current(): MetadataView {
    return this.view;
  }

  /** Replaces the whole state with a snapshot's records (reflecting `offset`). */
  loadSnapshot(records: readonly MetadataRecord[], offset: number): MetadataView {
    this.view = EMPTY_VIEW;
    this.nameById.clear();
    return this.applyBatch(records, offset);
  }

  /** Applies one committed batch; returns the view as of `offset`. */
  applyBatch(records: readonly MetadataRecord[], offset: number): MetadataView {
    const brokers = new Map(this.view.brokers);
    const topics = new Map(this.view.topics);
    let clusterId = this.view.clusterId;
    const topicById = (idBytes: Uint8Array): { name: string; topic: TopicView } | undefined => {
      const name = this.nameById.get(hex(idBytes));
      const topic = name === undefined ? undefined : topics.get(name);
      return name === undefined || topic === undefined ? undefined : { name, topic };
    };
    const putPartition = (name: string, topic: TopicView, p: PartitionView) => {
      const partitions = new Map(topic.partitions);
      partitions.set(p.partition, p);
      topics.set(name, { ...topic, partitions });
    };
    for (const rec of records) {
      if (rec.version > KNOWN_RECORD_VERSION)
        throw new Error(`metadata record version ${rec.version} is newer than this broker understands (${KNOWN_RECORD_VERSION})`);
      const r = rec.record;
      if (r === undefined) continue;
      switch (r.$case) {
        case "registerBroker": {
          const b = r.registerBroker;
          const ep = b.endpoints.find((e) => e.name === this.preferredListener) ?? b.endpoints[0];
          brokers.set(b.brokerId, {
            id: b.brokerId,
            epoch: b.brokerEpoch,
            host: ep?.host ?? "",
            port: ep?.port ?? -1,
            endpoints: b.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
            rack: b.rack,
            fenced: b.fenced,
            inControlledShutdown: false,
          });
          break;
        }
        case "unregisterBroker": {
          const b = brokers.get(r.unregisterBroker.brokerId);
          if (b !== undefined && b.epoch === r.unregisterBroker.brokerEpoch) brokers.delete(b.id);
          break;
        }
        case "fenceBroker":
        case "unfenceBroker": {
          const rr = r.$case === "fenceBroker" ? r.fenceBroker : r.unfenceBroker;
          const b = brokers.get(rr.brokerId);
          if (b !== undefined && b.epoch === rr.brokerEpoch)
            brokers.set(b.id, { ...b, fenced: r.$case === "fenceBroker", inControlledShutdown: r.$case === "fenceBroker" ? false : b.inControlledShutdown });
          break;
        }
        case "brokerRegistrationChange": {
          const c = r.brokerRegistrationChange;
          const b = brokers.get(c.brokerId);
          if (b !== undefined && b.epoch === c.brokerEpoch && c.inControlledShutdown !== 0)
            brokers.set(b.id, { ...b, inControlledShutdown: c.inControlledShutdown === 1 });
          break;
        }
        case "topic": {
          const id = hex(r.topic.topicId);
          this.nameById.set(id, r.topic.name);
          topics.set(r.topic.name, { name: r.topic.name, topicId: id, partitions: new Map(), configs: topics.get(r.topic.name)?.configs ?? new Map() });
          break;
        }
        case "partition": {
          const pr = r.partition;
          const t = topicById(pr.topicId);
          if (t === undefined) break;
          putPartition(t.name, t.topic, {
            topic: t.name,
            topicId: t.topic.topicId,
            partition: pr.partition,
            replicas: [...pr.replicas],
            isr: [...pr.isr],
            leader: pr.leader,
            leaderEpoch: pr.leaderEpoch,
            partitionEpoch: pr.partitionEpoch,
          });
          break;
        }
        case "partitionChange": {
          const pc = r.partitionChange;
          const t = topicById(pc.topicId);
          const old = t?.topic.partitions.get(pc.partition);
          if (t === undefined || old === undefined) break;
          const leader = pc.leader === -2 ? old.leader : pc.leader;
          putPartition(t.name, t.topic, {
            ...old,
            leader,
            isr: pc.hasIsr ? [...pc.isr] : old.isr,
            replicas: pc.hasReplicas ? [...pc.replicas] : old.replicas,
            leaderEpoch: leader !== old.leader ? old.leaderEpoch + 1 : old.leaderEpoch,
            partitionEpoch: old.partitionEpoch + 1,
          });
          break;
        }
        case "removeTopic": {
          const id = hex(r.removeTopic.topicId);
          const name = this.nameById.get(id);
          if (name !== undefined && topics.get(name)?.topicId === id) topics.delete(name);
          this.nameById.delete(id);
          break;
        }
        case "config": {
          const c = r.config;
          if (c.resourceType !== 2 /* TOPIC */) break;
          const t = topics.get(c.resourceName);
          const configs = new Map(t?.configs ?? []);
          if (c.delete) configs.delete(c.name);
          else configs.set(c.name, c.value);
          // Configs may precede the TopicRecord in one CreateTopics batch: keep a shell.
          topics.set(c.resourceName, t !== undefined ? { ...t, configs } : { name: c.resourceName, topicId: "", partitions: new Map(), configs });
          break;
        }
        case "clusterId":
          clusterId = r.clusterId.clusterId;
          break;
        case "producerIds":
        case "noOp":
          break;
      }
    }
    // Drop config-only shells that never got a TopicRecord in this batch or before.
    for (const [name, t] of topics) if (t.topicId === "" && t.partitions.size === 0 && !this.hasName(name)) topics.delete(name);
    this.view = { offset, clusterId, brokers: brokers as ReadonlyMap<number, BrokerView>, topics };
    return this.view;
  }

  private hasName(name: string): boolean {
    for (const n of this.nameById.values()) if (n === name) return true;
    return false;
  }
}
