// Creates __consumer_offsets through the controller the first time a client looks for a
// group coordinator, as Kafka does (the topic then exists only in clusters that use groups).
//
// Why on first FindCoordinator rather than at controller activation: at activation the
// brokers may not have registered yet, so the replication factor could not be chosen; by the
// time a client asks for a coordinator the brokers it talks to are registered.
//
// Contract: ensure() starts at most one CreateTopics at a time and never throws; the caller
// answers COORDINATOR_NOT_AVAILABLE (retriable) until the topic shows up in committed
// metadata. Replication factor = min(offsets.topic.replication.factor, registered brokers).
// The topic is compacted (cleanup.policy=compact): the broker's log cleaner keeps the latest
// record per key (one commit per group/topic/partition, one metadata record per group), and
// tombstones of deleted groups go after delete.retention.ms. Time retention never applies
// (retention.ms=-1 as well): it would delete the commits of a group idle for a week.
import type { CreateTopicsRequest, CreateTopicsResponse } from "@brook/protocol/gen/brook/v1/broker";
import type { MetadataView } from "../metadata/view.js";

export const OFFSETS_TOPIC = "__consumer_offsets";
const OFFSETS_SEGMENT_BYTES = 100 * 1024 * 1024;

export interface OffsetsTopicSettings {
  /** offsets.topic.num.partitions */
  readonly partitions: number;
  /** offsets.topic.replication.factor (upper bound; capped by the registered brokers). */
  readonly replicationFactor: number;
}

/** The CreateTopics request for __consumer_offsets given the current view (pure). */
export function offsetsTopicRequest(settings: OffsetsTopicSettings, view: MetadataView): CreateTopicsRequest {
  const replicationFactor = Math.max(1, Math.min(settings.replicationFactor, view.brokers.size));
  return {
    topics: [
      {
        name: OFFSETS_TOPIC,
        numPartitions: settings.partitions,
        replicationFactor,
        configs: [
          { name: "cleanup.policy", value: "compact", isDefault: false, readOnly: false },
          // Kafka's offsets.topic.segment.bytes: segments roll (and so become cleanable) at 100 MiB, not 1 GiB.
          { name: "segment.bytes", value: String(OFFSETS_SEGMENT_BYTES), isDefault: false, readOnly: false },
          { name: "retention.ms", value: "-1", isDefault: false, readOnly: false },
        ],
        assignments: [],
      },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  };
}

export function offsetsTopicCreator(
  settings: OffsetsTopicSettings,
  metadata: () => MetadataView,
  createTopics: (req: CreateTopicsRequest) => Promise<CreateTopicsResponse>,
  onError: (err: unknown) => void,
): () => void {
  let inFlight = false;
  return () => {
    if (inFlight || metadata().topics.has(OFFSETS_TOPIC)) return;
    inFlight = true;
    createTopics(offsetsTopicRequest(settings, metadata()))
      .then((res) => {
        const e = res.topics[0]?.error;
        // TOPIC_ALREADY_EXISTS (36): another broker won the race; fine.
        if (e !== undefined && e.code !== 0 && e.code !== 36) onError(new Error(`creating ${OFFSETS_TOPIC}: ${e.code} ${e.message}`));
      }, onError)
      .finally(() => {
        inFlight = false;
      });
  };
}
