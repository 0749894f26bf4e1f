// MetadataDelta: the changes of a run of records on top of a base image. replay() takes
// records in log order; apply() freezes a new image that shares every sub-image (and every
// topic) the records did not touch. Deterministic: every controller and every follower that
// replays the same records gets the same image. Throws MetadataReplayError on a record that
// contradicts the image (a bug or a corrupt log), never on user input, which logic/ checks first.
import type { MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { MetadataReplayError } from "../errors.js";
import {
  configKey,
  type BrokerRegistration,
  type ClusterImage,
  type ConfigsImage,
  type MetadataImage,
  type PartitionState,
  type ProducerIdsImage,
  type TopicImage,
  type TopicsImage,
} from "./image.js";

export const METADATA_RECORD_VERSION = 1;

export const LEADER_NONE = -1;
export const LEADER_UNCHANGED = -2;

interface MutableTopic {
  id: string;
  name: string;
  partitions: Map<number, PartitionState>;
}

export class MetadataDelta {
  readonly #base: MetadataImage;
  #clusterId: string | undefined;
  #brokers: Map<number, BrokerRegistration> | undefined;
  #nextBrokerEpoch: number;
  #topicsById: Map<string, TopicImage> | undefined;
  #topicsByName: Map<string, string> | undefined;
  readonly #touchedTopics = new Map<string, MutableTopic>();
  #configs: Map<string, ReadonlyMap<string, string>> | undefined;
  readonly #touchedConfigs = new Map<string, Map<string, string>>();
  #nextProducerId: number;

  constructor(base: MetadataImage) {
    this.#base = base;
    this.#nextBrokerEpoch = base.cluster.nextBrokerEpoch;
    this.#nextProducerId = base.producerIds.nextProducerId;
  }

  get base(): MetadataImage {
    return this.#base;
  }

  replay(record: MetadataRecord): void {
    if (record.version > METADATA_RECORD_VERSION) {
      throw new MetadataReplayError(`metadata record version ${record.version} is newer than this node understands (${METADATA_RECORD_VERSION}); upgrade the node`);
    }
    const r = record.record;
    if (r === undefined) throw new MetadataReplayError("metadata record without a payload");
    switch (r.$case) {
      case "clusterId":
        this.#clusterId = r.clusterId.clusterId;
        return;
      case "noOp":
        return;
      case "registerBroker": {
        const x = r.registerBroker;
        this.#brokersMut().set(x.brokerId, {
          id: x.brokerId,
          incarnationId: x.incarnationId,
          epoch: x.brokerEpoch,
          endpoints: x.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
          rack: x.rack,
          fenced: x.fenced,
          inControlledShutdown: false,
        });
        this.#nextBrokerEpoch = Math.max(this.#nextBrokerEpoch, x.brokerEpoch + 1);
        return;
      }
      case "unregisterBroker": {
        this.#broker(r.unregisterBroker.brokerId, r.unregisterBroker.brokerEpoch);
        this.#brokersMut().delete(r.unregisterBroker.brokerId);
        return;
      }
      case "fenceBroker": {
        const b = this.#broker(r.fenceBroker.brokerId, r.fenceBroker.brokerEpoch);
        this.#brokersMut().set(b.id, { ...b, fenced: true, inControlledShutdown: false });
        return;
      }
      case "unfenceBroker": {
        const b = this.#broker(r.unfenceBroker.brokerId, r.unfenceBroker.brokerEpoch);
        this.#brokersMut().set(b.id, { ...b, fenced: false });
        return;
      }
      case "brokerRegistrationChange": {
        const x = r.brokerRegistrationChange;
        const b = this.#broker(x.brokerId, x.brokerEpoch);
        if (x.inControlledShutdown === 1) this.#brokersMut().set(b.id, { ...b, inControlledShutdown: true });
        else if (x.inControlledShutdown === 2) this.#brokersMut().set(b.id, { ...b, inControlledShutdown: false });
        return;
      }
      case "topic": {
        const id = hexId(r.topic.topicId);
        const byName = this.#byNameMut();
        if (byName.has(r.topic.name)) throw new MetadataReplayError(`topic ${r.topic.name} already exists`);
        if (this.#topic(id) !== undefined) throw new MetadataReplayError(`topic id ${id} already exists`);
        byName.set(r.topic.name, id);
        this.#touchedTopics.set(id, { id, name: r.topic.name, partitions: new Map() });
        this.#byIdMut();
        return;
      }
      case "partition": {
        const x = r.partition;
        const t = this.#topicMut(hexId(x.topicId));
        if (t.partitions.has(x.partition)) throw new MetadataReplayError(`partition ${t.name}-${x.partition} already exists`);
        t.partitions.set(x.partition, {
          replicas: Object.freeze([...x.replicas]),
          isr: Object.freeze([...x.isr]),
          leader: x.leader,
          leaderEpoch: x.leaderEpoch,
          partitionEpoch: x.partitionEpoch,
        });
        return;
      }
      case "partitionChange": {
        const x = r.partitionChange;
        const t = this.#topicMut(hexId(x.topicId));
        const p = t.partitions.get(x.partition);
        if (p === undefined) throw new MetadataReplayError(`partition ${t.name}-${x.partition} does not exist`);
        const leader = x.leader === LEADER_UNCHANGED ? p.leader : x.leader;
        t.partitions.set(x.partition, {
          replicas: x.hasReplicas ? Object.freeze([...x.replicas]) : p.replicas,
          isr: x.hasIsr ? Object.freeze([...x.isr]) : p.isr,
          leader,
          leaderEpoch: leader !== p.leader ? p.leaderEpoch + 1 : p.leaderEpoch,
          partitionEpoch: p.partitionEpoch + 1,
        });
        return;
      }
      case "removeTopic": {
        const id = hexId(r.removeTopic.topicId);
        const t = this.#topic(id);
        if (t === undefined) throw new MetadataReplayError(`topic id ${id} does not exist`);
        this.#byIdMut().delete(id);
        this.#touchedTopics.delete(id);
        this.#byNameMut().delete(t.name);
        const key = configKey("topic", t.name);
        this.#configsMut().delete(key);
        this.#touchedConfigs.delete(key);
        return;
      }
      case "config": {
        const x = r.config;
        const kind = x.resourceType === 4 ? "broker" : x.resourceType === 2 ? "topic" : undefined;
        if (kind === undefined) throw new MetadataReplayError(`config record with unknown resource type ${x.resourceType}`);
        const key = configKey(kind, x.resourceName);
        let m = this.#touchedConfigs.get(key);
        if (m === undefined) {
          m = new Map(this.#configsMut().get(key) ?? []);
          this.#touchedConfigs.set(key, m);
        }
        if (x.delete) m.delete(x.name);
        else m.set(x.name, x.value);
        return;
      }
      case "producerIds": {
        const x = r.producerIds;
        if (x.firstProducerId < this.#nextProducerId) {
          throw new MetadataReplayError(`producer id block at ${x.firstProducerId} overlaps ids already handed out (next ${this.#nextProducerId})`);
        }
        this.#nextProducerId = x.firstProducerId + x.size;
        return;
      }
    }
  }

  /** The image after every replayed record, at the given log position. */
  apply(offset: number, epoch: number): MetadataImage {
    const base = this.#base;
    const cluster: ClusterImage =
      this.#clusterId === undefined && this.#brokers === undefined && this.#nextBrokerEpoch === base.cluster.nextBrokerEpoch
        ? base.cluster
        : Object.freeze({
            clusterId: this.#clusterId ?? base.cluster.clusterId,
            brokers: this.#brokers ?? base.cluster.brokers,
            nextBrokerEpoch: this.#nextBrokerEpoch,
          });
    let topics: TopicsImage = base.topics;
    if (this.#topicsById !== undefined || this.#topicsByName !== undefined) {
      const byId = this.#topicsById ?? new Map(base.topics.byId);
      for (const [id, t] of this.#touchedTopics) {
        byId.set(id, Object.freeze({ id: t.id, name: t.name, partitions: t.partitions }));
      }
      topics = Object.freeze({ byId, byName: this.#topicsByName ?? base.topics.byName });
    }
    let configs: ConfigsImage = base.configs;
    if (this.#configs !== undefined) {
      const resources = this.#configs;
      for (const [k, m] of this.#touchedConfigs) {
        if (m.size === 0) resources.delete(k);
        else resources.set(k, m);
      }
      configs = Object.freeze({ resources });
    }
    const producerIds: ProducerIdsImage =
      this.#nextProducerId === base.producerIds.nextProducerId ? base.producerIds : Object.freeze({ nextProducerId: this.#nextProducerId });
    return Object.freeze({ offset, epoch, cluster, topics, configs, producerIds });
  }

  #broker(id: number, epoch: number): BrokerRegistration {
    const b = (this.#brokers ?? this.#base.cluster.brokers).get(id);
    if (b === undefined) throw new MetadataReplayError(`broker ${id} is not registered`);
    if (b.epoch !== epoch) throw new MetadataReplayError(`broker ${id} has epoch ${b.epoch}, record says ${epoch}`);
    return b;
  }

  #brokersMut(): Map<number, BrokerRegistration> {
    this.#brokers ??= new Map(this.#base.cluster.brokers);
    return this.#brokers;
  }

  #byIdMut(): Map<string, TopicImage> {
    this.#topicsById ??= new Map(this.#base.topics.byId);
    return this.#topicsById;
  }

  #byNameMut(): Map<string, string> {
    this.#topicsByName ??= new Map(this.#base.topics.byName);
    return this.#topicsByName;
  }

  #configsMut(): Map<string, ReadonlyMap<string, string>> {
    this.#configs ??= new Map(this.#base.configs.resources);
    return this.#configs;
  }

  #topic(id: string): TopicImage | MutableTopic | undefined {
    return this.#touchedTopics.get(id) ?? (this.#topicsById ?? this.#base.topics.byId).get(id);
  }

  #topicMut(id: string): MutableTopic {
    let t = this.#touchedTopics.get(id);
    if (t !== undefined) return t;
    const old = (this.#topicsById ?? this.#base.topics.byId).get(id);
    if (old === undefined) throw new MetadataReplayError(`topic id ${id} does not exist`);
    t = { id, name: old.name, partitions: new Map(old.partitions) };
    this.#touchedTopics.set(id, t);
    this.#byIdMut();
    return t;
  }
}

export function hexId(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function idBytes(hex: string): Buffer {
  return Buffer.from(hex, "hex");
}

/** Replays records onto an image in one step (tests, snapshots, simulations). */
export function applyRecords(image: MetadataImage, records: readonly MetadataRecord[], offset: number, epoch: number): MetadataImage {
  const d = new MetadataDelta(image);
  for (const r of records) d.replay(r);
  return d.apply(offset, epoch);
}
