// Wires a GroupCoordinator into a running Broker: builds the OffsetsLog adapter, feeds it the
// broker's leadership changes of __consumer_offsets (including partitions already led at
// install time), installs it as the service's group hook and runs member expiry on a timer.
// Returns a stop function for shutdown.
import { randomUUID } from "node:crypto";
import type { Broker } from "../broker.js";
import { type GroupConfig } from "./consumer_group.js";
import { GroupCoordinator } from "./group_coordinator.js";
import { brokerOffsetsLog } from "./offsets_log_adapter.js";
import { offsetsTopicCreator, type OffsetsTopicSettings } from "./offsets_topic.js";
import type { CreateTopicsRequest, CreateTopicsResponse } from "@brook/protocol/gen/brook/v1/broker";

export interface InstallOptions {
  readonly config?: GroupConfig;
  /**
   * How often expired members are removed; default 50 ms (a crashed member's partitions move
   * at most this long after its session ends; a tick compares each member's two deadlines).
   */
  readonly expiryIntervalMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
  /** When set, a FindCoordinator while __consumer_offsets is missing creates it this way. */
  readonly offsetsTopic?: OffsetsTopicSettings & { readonly createTopics: (req: CreateTopicsRequest) => Promise<CreateTopicsResponse> };
}

export function installGroupCoordinator(broker: Broker, opts: InstallOptions = {}): { coordinator: GroupCoordinator; stop: () => void } {
  const clock = (): number => Date.now();
  const coordinator = new GroupCoordinator({
    nodeId: broker.nodeId,
    log: brokerOffsetsLog(
      {
        append: (t, p, records, acks, timeoutMs) => broker.append(t, p, records, acks, timeoutMs),
        readCommitted: (t, p, from, max) => broker.readCommitted(t, p, from, max),
        logEndOffset: (t, p) => broker.replicas.partition(t, p)?.log.logEndOffset() ?? -1,
      },
      clock,
    ),
    metadata: () => broker.replicas.metadata,
    clock,
    newMemberId: () => randomUUID(),
    ...(opts.config === undefined ? {} : { config: opts.config }),
    ...(opts.onError === undefined ? {} : { onError: opts.onError }),
    ...(opts.offsetsTopic === undefined
      ? {}
      : {
          createOffsetsTopic: offsetsTopicCreator(opts.offsetsTopic, () => broker.replicas.metadata, opts.offsetsTopic.createTopics, (e) =>
            opts.onError?.(e, "creating __consumer_offsets"),
          ),
        }),
  });
  const unsubscribe = broker.onLeadershipChange((topic, partition, isLeader, epoch) => coordinator.onLeadershipChange(topic, partition, isLeader, epoch));
  for (const p of broker.replicas.ledPartitions()) coordinator.onLeadershipChange(p.view.topic, p.view.partition, true, p.view.leaderEpoch);
  broker.setGroupCoordinator(coordinator);
  const timer = setInterval(() => coordinator.expireMembers(), opts.expiryIntervalMs ?? 50);
  timer.unref();
  return {
    coordinator,
    stop: () => {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
