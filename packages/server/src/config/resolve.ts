// Merges config sources (defaults < file < environment < flags), validates every value
// against CONFIG_KEYS and cross-checks the settings that must agree (voters vs node.id vs
// the controller listener). Pure: returns every problem found, each naming the key, where
// the value came from and what is allowed, so one start shows all mistakes at once.

import { CONFIG_KEYS, envName, type KeySpec } from "./schema.js";
import type { RawConfig, RawEntry } from "./sources.js";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}
export interface Listener extends HostPort {
  readonly name: string;
}
export interface Voter extends HostPort {
  readonly id: number;
}
export type Role = "broker" | "controller";

export interface TopicDefaults {
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly flushMode: "durable" | "replicated";
}

export interface NodeConfig {
  readonly nodeId: number;
  readonly roles: ReadonlySet<Role>;
  /** Absent: derived from the voter set when the data directory is first formatted. */
  readonly clusterId?: string;
  readonly voters: readonly Voter[];
  readonly listeners: readonly Listener[];
  /** Client/broker-facing listeners only (the controller listener is never advertised to clients). */
  readonly advertisedListeners: readonly Listener[];
  readonly controllerListenerName: string;
  readonly interBrokerListenerName: string;
  /** Security protocol of every listener (listener.security.protocol.map); PLAINTEXT only today. */
  readonly securityProtocols: ReadonlyMap<string, string>;
  readonly http: HostPort;
  readonly dataDir: string;
  readonly rack?: string;
  readonly topicDefaults: TopicDefaults;
  readonly messageMaxBytes: number;
  readonly producerIdExpirationMs: number;
  readonly logRetentionCheckIntervalMs: number;
  readonly autoCreateTopics: boolean;
  readonly uncleanLeaderElection: boolean;
  readonly replicaLagTimeMaxMs: number;
  readonly brokerSessionTimeoutMs: number;
  readonly brokerHeartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly offsetsTopicPartitions: number;
  readonly offsetsTopicReplicationFactor: number;
  readonly groupSessionTimeoutMs: number;
  readonly groupHeartbeatIntervalMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** Effective value of every set key by its canonical Kafka name, for logs and describe-configs. */
  readonly effective: Readonly<Record<string, string>>;
}

export interface ConfigProblem {
  readonly key: string;
  readonly message: string;
}

export type ResolveResult = { readonly ok: true; readonly config: NodeConfig } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

export interface ResolveInput {
  /** Later sources win: typically [file, env, flags]. */
  readonly layers: readonly RawConfig[];
  /** Used to fill a wildcard host in advertised.listeners; injected to keep this pure. */
  readonly hostname: string;
}

const SPEC_BY_NAME = new Map<string, KeySpec>();
for (const spec of CONFIG_KEYS) {
  SPEC_BY_NAME.set(spec.key, spec);
  for (const alias of spec.aliases ?? []) SPEC_BY_NAME.set(alias, spec);
}

/** Maps BROOK_* names back to keys (aliases included) for parseEnv. */
export const ENV_TO_KEY: ReadonlyMap<string, string> = new Map(
  [...SPEC_BY_NAME.keys()].map((key) => [envName(key), key] as const),
);

export function resolveConfig(input: ResolveInput): ResolveResult {
  const problems: ConfigProblem[] = [];
  const merged = new Map<string, RawEntry>();
  for (const layer of input.layers) {
    for (const [name, entry] of layer) {
      const spec = SPEC_BY_NAME.get(name);
      if (spec === undefined) {
        const hint = closestKey(name);
        problems.push({ key: name, message: `unknown setting (from ${entry.source})${hint ? `; did you mean "${hint}"?` : ""}` });
        continue;
      }
      merged.set(spec.key, entry);
    }
  }

  const values = new Map<string, string | number | boolean | string[]>();
  for (const spec of CONFIG_KEYS) {
    const entry = merged.get(spec.key);
    const raw = entry?.value ?? spec.default;
    if (raw === undefined) {
      if (!spec.optional) problems.push({ key: spec.key, message: `is required: ${spec.doc} (set it in the config file, as ${envName(spec.key)}, or as --${spec.key}=...)` });
      continue;
    }
    const from = entry ? ` (from ${entry.source})` : "";
    const parsed = parseValue(spec, raw);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed) problems.push({ key: spec.key, message: `${JSON.stringify(raw)}${from} ${parsed.error}` });
    else values.set(spec.key, parsed);
  }
  if (problems.length > 0) return { ok: false, problems };

  const str = (key: string): string => values.get(key) as string;
  const int = (key: string): number => values.get(key) as number;
  const bool = (key: string): boolean => values.get(key) as boolean;

  const roles = new Set(values.get("process.roles") as Role[]);
  if (roles.size === 0) problems.push({ key: "process.roles", message: `is empty; allowed: broker, controller, or broker,controller` });
  const nodeId = int("node.id");

  const voters = parseVoters(str("controller.quorum.voters"), problems);
  const listeners = parseListeners("listeners", str("listeners"), problems);
  const controllerListenerName = str("controller.listener.names").toUpperCase();
  const interBrokerListenerName = str("inter.broker.listener.name").toUpperCase();
  if (!LISTENER_NAME.test(interBrokerListenerName)) problems.push({ key: "inter.broker.listener.name", message: `"${interBrokerListenerName}" is not a listener name; allowed: letters, digits and _, starting with a letter` });
  const http = parseHostPort("http.listener", str("http.listener"), problems);
  checkPorts(listeners, http, problems);
  const securityProtocols = parseSecurityProtocolMap(values.has("listener.security.protocol.map") ? str("listener.security.protocol.map") : undefined, controllerListenerName, problems);
  for (const l of listeners) {
    if (!securityProtocols.has(l.name))
      problems.push({ key: "listener.security.protocol.map", message: `has no entry for listener ${l.name} (listeners); add ${l.name}:PLAINTEXT` });
  }

  if (roles.has("controller")) {
    const self = voters.find((v) => v.id === nodeId);
    const controllerListener = listeners.find((l) => l.name === controllerListenerName);
    if (self === undefined) {
      problems.push({ key: "controller.quorum.voters", message: `does not list node.id=${nodeId}, but this node has the controller role; add ${nodeId}@host:port or remove "controller" from process.roles` });
    }
    if (controllerListener === undefined) {
      problems.push({ key: "listeners", message: `has no ${controllerListenerName}:// listener (controller.listener.names), needed by the controller role` });
    } else if (self !== undefined && self.port !== controllerListener.port) {
      problems.push({ key: "controller.quorum.voters", message: `says node ${nodeId} listens on port ${self.port}, but listeners has ${controllerListenerName}://...:${controllerListener.port}; make them agree` });
    }
  }
  const clientListeners = listeners.filter((l) => l.name !== controllerListenerName);
  if (roles.has("broker") && clientListeners.length === 0) {
    problems.push({ key: "listeners", message: `has no broker listener (only ${controllerListenerName}); add e.g. PLAINTEXT://0.0.0.0:9092` });
  }

  let advertisedListeners: Listener[];
  if (values.has("advertised.listeners")) {
    advertisedListeners = parseListeners("advertised.listeners", str("advertised.listeners"), problems);
    for (const l of advertisedListeners) {
      if (l.name === controllerListenerName) problems.push({ key: "advertised.listeners", message: `must not contain the controller listener ${l.name} (controllers are found through controller.quorum.voters)` });
      else if (!clientListeners.some((c) => c.name === l.name)) problems.push({ key: "advertised.listeners", message: `names listener ${l.name}, which is not in listeners (${clientListeners.map((c) => c.name).join(", ") || "none"})` });
      if (isWildcard(l.host)) problems.push({ key: "advertised.listeners", message: `${l.name} advertises the wildcard host "${l.host}"; advertise a host clients can reach` });
    }
  } else {
    advertisedListeners = clientListeners.map((l) => (isWildcard(l.host) ? { ...l, host: input.hostname } : l));
  }
  if (roles.has("broker") && interBrokerListenerName === controllerListenerName) {
    problems.push({ key: "inter.broker.listener.name", message: `is the controller listener ${controllerListenerName}; name a broker listener (${clientListeners.map((l) => l.name).join(", ") || "none"})` });
  } else if (roles.has("broker") && clientListeners.length > 0 && !clientListeners.some((l) => l.name === interBrokerListenerName)) {
    const set = merged.has("inter.broker.listener.name") ? "" : " (the default)";
    problems.push({ key: "inter.broker.listener.name", message: `is ${interBrokerListenerName}${set}, but listeners has no ${interBrokerListenerName} listener; set it to one of ${clientListeners.map((l) => l.name).join(", ")}` });
  } else if (roles.has("broker") && !advertisedListeners.some((l) => l.name === interBrokerListenerName)) {
    problems.push({ key: "inter.broker.listener.name", message: `is ${interBrokerListenerName}, which is not an advertised listener (${advertisedListeners.map((l) => l.name).join(", ") || "none"}); add it to advertised.listeners` });
  }
  if (int("min.insync.replicas") > int("default.replication.factor")) {
    problems.push({ key: "min.insync.replicas", message: `(${int("min.insync.replicas")}) exceeds default.replication.factor (${int("default.replication.factor")}): acks=all produces to default topics would always fail` });
  }
  if (int("broker.heartbeat.interval.ms") >= int("broker.session.timeout.ms")) {
    problems.push({ key: "broker.heartbeat.interval.ms", message: `must be below broker.session.timeout.ms (${int("broker.session.timeout.ms")})` });
  }
  const dataDirs = str("log.dirs").split(",").map((d) => d.trim()).filter((d) => d !== "");
  if (dataDirs.length !== 1) problems.push({ key: "log.dirs", message: `must name exactly one directory (JBOD is not supported yet), got ${dataDirs.length}` });
  if (problems.length > 0) return { ok: false, problems };

  const effective: Record<string, string> = {};
  for (const spec of CONFIG_KEYS) {
    const raw = merged.get(spec.key)?.value ?? spec.default;
    if (raw !== undefined) effective[spec.key] = raw;
  }
  const clusterId = values.get("cluster.id") as string | undefined;
  const rack = values.get("broker.rack") as string | undefined;
  const config: NodeConfig = {
    nodeId,
    roles,
    ...(clusterId !== undefined ? { clusterId } : {}),
    voters,
    listeners,
    advertisedListeners,
    controllerListenerName,
    interBrokerListenerName,
    securityProtocols,
    http,
    dataDir: dataDirs[0]!,
    ...(rack !== undefined ? { rack } : {}),
    topicDefaults: {
      numPartitions: int("num.partitions"),
      replicationFactor: int("default.replication.factor"),
      minInsyncReplicas: int("min.insync.replicas"),
      retentionMs: int("log.retention.ms"),
      retentionBytes: int("log.retention.bytes"),
      segmentBytes: int("log.segment.bytes"),
      segmentMs: int("log.roll.ms"),
      flushMode: str("log.flush.mode") as "durable" | "replicated",
    },
    messageMaxBytes: int("message.max.bytes"),
    producerIdExpirationMs: int("producer.id.expiration.ms"),
    logRetentionCheckIntervalMs: int("log.retention.check.interval.ms"),
    autoCreateTopics: bool("auto.create.topics.enable"),
    uncleanLeaderElection: bool("unclean.leader.election.enable"),
    replicaLagTimeMaxMs: int("replica.lag.time.max.ms"),
    brokerSessionTimeoutMs: int("broker.session.timeout.ms"),
    brokerHeartbeatIntervalMs: int("broker.heartbeat.interval.ms"),
    electionTimeoutMs: int("controller.quorum.election.timeout.ms"),
    offsetsTopicPartitions: int("offsets.topic.num.partitions"),
    offsetsTopicReplicationFactor: int("offsets.topic.replication.factor"),
    groupSessionTimeoutMs: int("group.consumer.session.timeout.ms"),
    groupHeartbeatIntervalMs: int("group.consumer.heartbeat.interval.ms"),
    shutdownTimeoutMs: int("shutdown.timeout.ms"),
    logLevel: str("log.level") as NodeConfig["logLevel"],
    effective,
  };
  return { ok: true, config };
}

function parseValue(spec: KeySpec, raw: string): string | number | boolean | string[] | { error: string } {
  const t = spec.type;
  switch (t.kind) {
    case "int": {
      const range = t.min !== undefined && t.max !== undefined ? `an integer from ${t.min} to ${t.max}` : t.min !== undefined ? `an integer >= ${t.min}` : "an integer";
      if (!/^-?\d+$/.test(raw.trim())) return { error: `is not an integer; allowed: ${range}` };
      const n = Number(raw.trim());
      if (!Number.isSafeInteger(n) || (t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) return { error: `is out of range; allowed: ${range}` };
      return n;
    }
    case "bool": {
      const v = raw.trim().toLowerCase();
      if (v === "true") return true;
      if (v === "false") return false;
      return { error: "is not a boolean; allowed: true, false" };
    }
    case "enum": {
      const v = raw.trim();
      return t.values.includes(v) ? v : { error: `is not allowed; allowed: ${t.values.join(", ")}` };
    }
    case "list": {
      const items = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const bad = t.values ? items.filter((i) => !t.values!.includes(i)) : [];
      if (bad.length > 0) return { error: `contains ${bad.map((b) => `"${b}"`).join(", ")}; allowed: ${t.values!.join(", ")} (comma-separated)` };
      return [...new Set(items)];
    }
    case "string": {
      const v = raw.trim();
      return v === "" && !spec.optional ? { error: "is empty" } : v;
    }
  }
}

export function parseVoters(raw: string, problems: ConfigProblem[]): Voter[] {
  const voters: Voter[] = [];
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^(\d+)@(.+):(\d+)$/.exec(item);
    const port = match ? Number(match[3]) : NaN;
    if (!match || port < 1 || port > 65535) {
      problems.push({ key: "controller.quorum.voters", message: `entry "${item}" is malformed; expected id@host:port, e.g. 1@node1:9093` });
      continue;
    }
    const id = Number(match[1]);
    if (voters.some((v) => v.id === id)) problems.push({ key: "controller.quorum.voters", message: `lists node ${id} twice` });
    voters.push({ id, host: stripBrackets(match[2]!), port });
  }
  if (voters.length === 0 && problems.every((p) => p.key !== "controller.quorum.voters")) {
    problems.push({ key: "controller.quorum.voters", message: "is empty; expected id@host:port,..." });
  }
  return voters;
}

/** Kafka's listener names: a letter, then letters, digits or _ (compared upper-cased). */
const LISTENER_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const SECURITY_PROTOCOLS = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] as const;

export function parseListeners(key: string, raw: string, problems: ConfigProblem[]): Listener[] {
  const listeners: Listener[] = [];
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([^:/]*):\/\/(.*):(\d+)$/.exec(item);
    const port = match ? Number(match[3]) : NaN;
    if (!match || port > 65535) {
      problems.push({ key, message: `entry "${item}" is malformed; expected NAME://host:port, e.g. PLAINTEXT://0.0.0.0:9092 (empty host = all interfaces)` });
      continue;
    }
    if (!LISTENER_NAME.test(match[1]!)) {
      problems.push({ key, message: `entry "${item}" has an invalid listener name "${match[1]}"; allowed: letters, digits and _, starting with a letter (e.g. INTERNAL)` });
      continue;
    }
    const name = match[1]!.toUpperCase();
    if (listeners.some((l) => l.name === name)) problems.push({ key, message: `names listener ${name} twice` });
    listeners.push({ name, host: stripBrackets(match[2]!) || "0.0.0.0", port });
  }
  return listeners;
}

/**
 * listener.security.protocol.map as in Kafka. Unset: every protocol name maps to itself and
 * the controller listener to PLAINTEXT (Kafka's KRaft default), so PLAINTEXT/CONTROLLER
 * configs need no map. Only PLAINTEXT can be served today; other protocols are refused.
 */
export function parseSecurityProtocolMap(raw: string | undefined, controllerListenerName: string, problems: ConfigProblem[]): Map<string, string> {
  const key = "listener.security.protocol.map";
  const map = new Map<string, string>();
  if (raw === undefined) {
    for (const p of SECURITY_PROTOCOLS) map.set(p, p);
    map.set(controllerListenerName, "PLAINTEXT");
    return map;
  }
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([^:]+):([^:]+)$/.exec(item);
    if (!match || !LISTENER_NAME.test(match[1]!.trim())) {
      problems.push({ key, message: `entry "${item}" is malformed; expected LISTENER_NAME:PROTOCOL, e.g. INTERNAL:PLAINTEXT` });
      continue;
    }
    const name = match[1]!.trim().toUpperCase();
    const protocol = match[2]!.trim().toUpperCase();
    if (map.has(name)) problems.push({ key, message: `maps listener ${name} twice` });
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) problems.push({ key, message: `entry "${item}" names an unknown security protocol; allowed: ${SECURITY_PROTOCOLS.join(", ")}` });
    else if (protocol !== "PLAINTEXT") problems.push({ key, message: `entry "${item}": ${protocol} is not supported yet; allowed: PLAINTEXT` });
    map.set(name, protocol);
  }
  return map;
}

/** Two listeners (or a listener and http.listener) cannot bind the same port on overlapping hosts; port 0 is always free to pick. */
function checkPorts(listeners: readonly Listener[], http: HostPort, problems: ConfigProblem[]): void {
  const overlaps = (a: HostPort, b: HostPort): boolean => a.port !== 0 && a.port === b.port && (a.host === b.host || isWildcard(a.host) || isWildcard(b.host));
  listeners.forEach((l, i) => {
    const other = listeners.slice(0, i).find((o) => overlaps(o, l));
    if (other !== undefined) problems.push({ key: "listeners", message: `${other.name} and ${l.name} both bind port ${l.port}; give each listener its own port` });
    if (overlaps(l, http)) problems.push({ key: "http.listener", message: `port ${http.port} is also the port of listener ${l.name} (listeners); give HTTP its own port` });
  });
}

function parseHostPort(key: string, raw: string, problems: ConfigProblem[]): HostPort {
  const match = /^(.*):(\d+)$/.exec(raw);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    problems.push({ key, message: `"${raw}" is malformed; expected host:port, e.g. 0.0.0.0:8080` });
    return { host: "", port: 0 };
  }
  return { host: stripBrackets(match[1]!) || "0.0.0.0", port };
}

const stripBrackets = (host: string): string => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host);
const isWildcard = (host: string): boolean => host === "0.0.0.0" || host === "::" || host === "";

function closestKey(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(name.length / 4)) + 1;
  for (const key of SPEC_BY_NAME.keys()) {
    const d = editDistance(name.toLowerCase(), key);
    if (d < bestDistance) [best, bestDistance] = [key, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
