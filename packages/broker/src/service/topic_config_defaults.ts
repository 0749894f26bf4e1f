// DescribeConfigs for a topic, as this broker applies it. The controller answers with the
// topic's own configs and, for the rest, the built-in defaults; but three topic defaults come
// from the broker's configuration (min.insync.replicas, flush.mode from log.flush.mode,
// max.message.bytes from message.max.bytes), and a broker started with
// --min.insync.replicas=2 enforces 2 where the controller would say 1. Kafka reports such a
// value from the broker's static config (source STATIC_BROKER_CONFIG); so does this.
import type { DescribeConfigsResponse } from "@brook/protocol/gen/brook/v1/broker";
import { ConfigResourceType } from "@brook/protocol/gen/brook/v1/broker";
import type { BrokerConfig } from "../config.js";

/** Topic config name -> the value this broker uses when the topic does not set it. */
export function brokerTopicDefaults(config: Pick<BrokerConfig, "minInsyncReplicas" | "flushMode" | "messageMaxBytes">): ReadonlyMap<string, string> {
  return new Map([
    ["min.insync.replicas", String(config.minInsyncReplicas)],
    ["flush.mode", config.flushMode],
    ["max.message.bytes", String(config.messageMaxBytes)],
  ]);
}

/** Replaces the defaulted values of topic resources with this broker's own defaults. */
export function withBrokerTopicDefaults(res: DescribeConfigsResponse, defaults: ReadonlyMap<string, string>): DescribeConfigsResponse {
  return {
    ...res,
    results: res.results.map((r) =>
      r.resource?.type !== ConfigResourceType.CONFIG_RESOURCE_TYPE_TOPIC
        ? r
        : { ...r, configs: r.configs.map((c) => (c.isDefault && defaults.has(c.name) ? { ...c, value: defaults.get(c.name)! } : c)) },
    ),
  };
}
