// Turns each config source (properties or JSON file text, environment, command-line flags)
// into flat `key -> raw string` entries tagged with where they came from. Pure: the caller
// reads the file and hands over the text, process.env and process.argv.

export interface RawEntry {
  readonly value: string;
  /** Human-readable origin used in error messages, e.g. "brook.properties:12" or "env BROOK_NODE_ID". */
  readonly source: string;
}

export type RawConfig = Map<string, RawEntry>;

export class ConfigSyntaxError extends Error {
  override readonly name = "ConfigSyntaxError";
}

/** Java-style .properties: `key=value` or `key: value`, `#`/`!` comments, trailing `\` continues a line. */
export function parseProperties(text: string, fileName: string): RawConfig {
  const out: RawConfig = new Map();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.trim();
    }
    const sep = line.search(/[=:]/);
    if (sep <= 0) throw new ConfigSyntaxError(`${fileName}:${lineNo}: expected key=value, got "${line}"`);
    out.set(line.slice(0, sep).trim(), { value: line.slice(sep + 1).trim(), source: `${fileName}:${lineNo}` });
  }
  return out;
}

/** JSON: a flat object of Kafka keys (`{"node.id": 1}`); arrays become comma lists. */
export function parseJsonConfig(text: string, fileName: string): RawConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigSyntaxError(`${fileName}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigSyntaxError(`${fileName}: expected a JSON object of "key": value pairs`);
  }
  const out: RawConfig = new Map();
  for (const [key, value] of Object.entries(parsed)) {
    const raw = Array.isArray(value) ? value.map(String).join(",") : value;
    if (typeof raw === "object" && raw !== null) {
      throw new ConfigSyntaxError(`${fileName}: "${key}" must be a string, number, boolean or array, not an object`);
    }
    out.set(key, { value: String(raw), source: `${fileName} "${key}"` });
  }
  return out;
}

export function parseConfigFile(text: string, fileName: string): RawConfig {
  return fileName.endsWith(".json") || text.trimStart().startsWith("{")
    ? parseJsonConfig(text, fileName)
    : parseProperties(text, fileName);
}

/** Keys are recovered from BROOK_* names by the caller's key table (env names are lossy). */
export function parseEnv(env: Readonly<Record<string, string | undefined>>, envToKey: ReadonlyMap<string, string>): { config: RawConfig; unknown: string[] } {
  const config: RawConfig = new Map();
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("BROOK_") || value === undefined || NON_CONFIG_ENV.has(name)) continue;
    const key = envToKey.get(name);
    if (key === undefined) unknown.push(name);
    else config.set(key, { value, source: `env ${name}` });
  }
  return { config, unknown };
}

/** BROOK_* variables the process reads that are not settings: the config file, the log format. */
export const NON_CONFIG_ENV = new Set(["BROOK_CONFIG", "BROOK_LOG_FORMAT"]);

export interface ParsedArgs {
  readonly configFile?: string;
  readonly help: boolean;
  readonly config: RawConfig;
}

/**
 * Flags: `--config FILE`, `--help`, `--override key=value` (Kafka's spelling), and
 * `--key=value` / `--key value` for any key (`--node.id 1`).
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const config: RawConfig = new Map();
  let configFile: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = (): string => {
      const value = argv[++i];
      if (value === undefined) throw new ConfigSyntaxError(`flag ${arg} needs a value`);
      return value;
    };
    if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--config" || arg === "-c") configFile = next();
    else if (arg.startsWith("--config=")) configFile = arg.slice("--config=".length);
    else if (arg === "--override") {
      const pair = next();
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new ConfigSyntaxError(`--override expects key=value, got "${pair}"`);
      config.set(pair.slice(0, eq), { value: pair.slice(eq + 1), source: `flag --override ${pair.slice(0, eq)}` });
    } else if (arg.startsWith("--")) {
      const body = arg.slice(2);
      const eq = body.indexOf("=");
      const key = eq >= 0 ? body.slice(0, eq) : body;
      config.set(key, { value: eq >= 0 ? body.slice(eq + 1) : next(), source: `flag --${key}` });
    } else if (configFile === undefined && !arg.startsWith("-")) {
      // Kafka's `kafka-server-start.sh server.properties` form.
      configFile = arg;
    } else {
      throw new ConfigSyntaxError(`unexpected argument "${arg}" (flags are --key=value; see --help)`);
    }
  }
  return configFile === undefined ? { help, config } : { configFile, help, config };
}
