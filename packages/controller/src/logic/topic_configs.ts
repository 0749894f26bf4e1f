// The per-topic (and per-broker) config keys the controller accepts, with Kafka's names,
// defaults and value checks. Unknown keys and bad values are rejected with a message naming
// the key and what it accepts, so typos never become silent no-ops.

export interface ConfigDef {
  readonly default: string;
  /** undefined when the value is fine, else what to change. */
  check(value: string): string | undefined;
}

const long = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  if (!/^-?\d+$/.test(v)) return `must be an integer between ${min} and ${max}`;
  const n = Number(v);
  return n < min || n > max ? `must be an integer between ${min} and ${max}` : undefined;
};
const oneOf = (...allowed: string[]) => (v: string) => (allowed.includes(v) ? undefined : `must be one of ${allowed.join(", ")}`);
const bool = oneOf("true", "false");
const ratio = (v: string) => (/^(0(\.\d+)?|1(\.0+)?)$/.test(v) ? undefined : "must be a number between 0 and 1");

export const TOPIC_CONFIGS: ReadonlyMap<string, ConfigDef> = new Map<string, ConfigDef>([
  // The broker's log cleaner compacts "compact" topics (keeps the latest record per key).
  ["cleanup.policy", { default: "delete", check: oneOf("delete", "compact", "compact,delete", "delete,compact") }],
  ["min.cleanable.dirty.ratio", { default: "0.5", check: ratio }],
  ["delete.retention.ms", { default: "86400000", check: long(0) }],
  ["retention.ms", { default: "604800000", check: long(-1) }],
  ["retention.bytes", { default: "-1", check: long(-1) }],
  ["segment.bytes", { default: "1073741824", check: long(14, 2 ** 31 - 1) }],
  ["segment.ms", { default: "604800000", check: long(1) }],
  ["max.message.bytes", { default: "1048588", check: long(0, 2 ** 31 - 1) }],
  ["min.insync.replicas", { default: "1", check: long(1, 32767) }],
  ["unclean.leader.election.enable", { default: "false", check: bool }],
  // DESIGN.md's vocabulary, the same as the broker's log and the server's log.flush.mode.
  ["flush.mode", { default: "durable", check: oneOf("durable", "replicated") }],
  // Brokers keep every batch as its producer compressed it (no per-record work on the write
  // path), so a broker-side codec would be a setting with no effect: refused, not ignored.
  [
    "compression.type",
    {
      default: "producer",
      check: (v) =>
        v === "producer" ? undefined : `only "producer" is supported: brokers store each batch as its producer compressed it; set the codec on the producer instead (compression: "${v === "uncompressed" ? "none" : v}")`,
    },
  ],
  ["message.timestamp.type", { default: "CreateTime", check: oneOf("CreateTime", "LogAppendTime") }],
]);

export const BROKER_CONFIGS: ReadonlyMap<string, ConfigDef> = new Map<string, ConfigDef>([
  ["log.retention.ms", { default: "604800000", check: long(-1) }],
  ["unclean.leader.election.enable", { default: "false", check: bool }],
]);

export function configProblem(defs: ReadonlyMap<string, ConfigDef>, name: string, value: string): string | undefined {
  const def = defs.get(name);
  if (def === undefined) return `unknown config "${name}"; known keys: ${[...defs.keys()].join(", ")}`;
  const p = def.check(value);
  return p === undefined ? undefined : `config ${name}=${JSON.stringify(value)} is invalid: ${p}`;
}

export function isUncleanAllowed(configs: ReadonlyMap<string, string>): boolean {
  return configs.get("unclean.leader.election.enable") === "true";
}
