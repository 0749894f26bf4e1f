// Validation of user configuration at construction: every bad value is rejected with a
// ConfigError naming the key and what it accepts, before any connection is made. Pure.
import { ConfigError } from "./errors.js";

/**
 * A key/value (de)serializer option must be an object with that method. Plain JavaScript callers
 * pass `jsonSerde` (the factory) for `jsonSerde()` easily; without this check every send failed
 * later with "serialize is not a function".
 */
export function serdeOption<T>(key: string, value: T | undefined, method: "serialize" | "deserialize"): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "object" && value !== null && typeof (value as Record<string, unknown>)[method] === "function") return value;
  const hint = typeof value === "function" ? ` (a function was given: if it is a factory such as jsonSerde, call it: jsonSerde())` : "";
  throw new ConfigError(`${key} must be an object with a ${method}() method, got ${typeof value}${hint}`);
}

export function intInRange(key: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${key} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return v;
}

export function oneOf<T extends string | number>(key: string, value: T | undefined, fallback: T, allowed: readonly T[]): T {
  const v = value ?? fallback;
  if (!allowed.includes(v)) throw new ConfigError(`${key} must be one of ${allowed.join(", ")}, got ${String(value)}`);
  return v;
}

/** "host:port" list; at least one, ports 1-65535. */
export function parseBrokers(brokers: readonly string[] | undefined): { host: string; port: number }[] {
  if (brokers === undefined || !Array.isArray(brokers) || brokers.length === 0) {
    throw new ConfigError(`brokers must be a non-empty list of "host:port", got ${JSON.stringify(brokers)}`);
  }
  return brokers.map((b) => {
    const m = /^(.+):(\d{1,5})$/.exec(String(b));
    const port = m === null ? NaN : Number(m[2]);
    if (m === null || port < 1 || port > 65535) throw new ConfigError(`brokers entries must be "host:port" with port 1-65535, got "${b}"`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port };
  });
}
