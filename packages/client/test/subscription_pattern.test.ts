// subscribe(RegExp) keeps JavaScript's meaning on the wire: the coordinator matches the pattern
// it receives against whole topic names (^(?:pattern)$, Kafka's rule), and the pattern sent
// must select exactly the names the RegExp's test() accepts.
import { describe, expect, it } from "vitest";
import { subscriptionPattern } from "../src/consumer/consumer.js";
import { ConfigError } from "../src/errors.js";

const names = ["orders", "orders-eu", "orders-us", "eu-orders", "audit", "rx-", "rx-a", "xrx-a", "payments.v2", "paymentsXv2"];
const wholeName = (pattern: string) => new RegExp(`^(?:${pattern})$`);

describe("subscriptionPattern", () => {
  for (const re of [/^orders-/, /orders/, /-eu$/, /^(audit|rx-.*)$/, /payments\.v2/, /rx-a|audit/, /^$/]) {
    it(`selects what ${String(re)}.test() selects`, () => {
      const sent = wholeName(subscriptionPattern(re));
      expect(names.filter((n) => sent.test(n))).toEqual(names.filter((n) => re.test(n)));
    });
  }

  it("ignores the stateful flags and refuses the ones that change what matches", () => {
    expect(subscriptionPattern(/^a/g)).toBe(subscriptionPattern(/^a/));
    expect(() => subscriptionPattern(/^a/i)).toThrow(ConfigError);
    expect(() => subscriptionPattern(/^a/ms)).toThrow(/flags "ms" are not supported/);
  });
});
