// DescribeConfigs of a topic reports the defaults this broker applies (its own
// min.insync.replicas, flush mode and message.max.bytes), not the built-in ones, and leaves
// values the topic sets, and broker resources, as the controller answered them.
import { ConfigResourceType, type DescribeConfigsResponse } from "@brook/protocol/gen/brook/v1/broker";
import { describe, expect, it } from "vitest";
import { brokerTopicDefaults, withBrokerTopicDefaults } from "../../src/service/topic_config_defaults.js";

const entry = (name: string, value: string, isDefault: boolean) => ({ name, value, isDefault, readOnly: false });
const OK = { code: 0, message: "" };

describe("withBrokerTopicDefaults", () => {
  const defaults = brokerTopicDefaults({ minInsyncReplicas: 2, flushMode: "replicated", messageMaxBytes: 2_000_000 });
  const res: DescribeConfigsResponse = {
    results: [
      {
        resource: { type: ConfigResourceType.CONFIG_RESOURCE_TYPE_TOPIC, name: "orders" },
        error: OK,
        configs: [entry("min.insync.replicas", "1", true), entry("flush.mode", "durable", false), entry("max.message.bytes", "1048588", true), entry("retention.ms", "604800000", true)],
      },
      { resource: { type: ConfigResourceType.CONFIG_RESOURCE_TYPE_BROKER, name: "1" }, error: OK, configs: [entry("min.insync.replicas", "1", true)] },
    ],
  };

  it("fills defaulted topic values from the broker's configuration", () => {
    expect(withBrokerTopicDefaults(res, defaults).results[0]!.configs).toEqual([
      entry("min.insync.replicas", "2", true),
      entry("flush.mode", "durable", false), // set on the topic: the topic's value stands
      entry("max.message.bytes", "2000000", true),
      entry("retention.ms", "604800000", true), // no broker-level default: the built-in one
    ]);
  });

  it("leaves other resource types alone", () => {
    expect(withBrokerTopicDefaults(res, defaults).results[1]).toEqual(res.results[1]);
  });
});
