import { describe, expect, it } from "vitest";
import { ENV_TO_KEY, resolveConfig, type ResolveResult } from "../src/config/resolve.js";
import { parseArgs, parseConfigFile, parseEnv, type RawConfig } from "../src/config/sources.js";

const VOTERS = "1@127.0.0.1:19093,2@127.0.0.1:29093,3@127.0.0.1:39093";
const base = `node.id=1\ncontroller.quorum.voters=${VOTERS}\nlog.dirs=/data\nlisteners=PLAINTEXT://0.0.0.0:19092,CONTROLLER://0.0.0.0:19093\n`;

function resolve(...layers: RawConfig[]): ResolveResult {
  return resolveConfig({ layers, hostname: "myhost" });
}
function problems(result: ResolveResult): string[] {
  return result.ok ? [] : result.problems.map((p) => `${p.key}: ${p.message}`);
}

describe("config sources", () => {
  it("parses properties with comments, separators and continuation lines", () => {
    const raw = parseConfigFile("# c\n! c\nnode.id = 3\nlisteners: A://h:1,\\\n  B://h:2\n", "f.properties");
    expect(raw.get("node.id")).toEqual({ value: "3", source: "f.properties:3" });
    expect(raw.get("listeners")?.value).toBe("A://h:1,B://h:2");
  });

  it("rejects a properties line without a separator, naming the line", () => {
    expect(() => parseConfigFile("node.id 3\n", "f.properties")).toThrow(/f.properties:1: expected key=value/);
  });

  it("parses JSON, joining arrays into lists", () => {
    const raw = parseConfigFile('{"node.id": 2, "process.roles": ["broker"]}', "n.json");
    expect(raw.get("node.id")?.value).toBe("2");
    expect(raw.get("process.roles")?.value).toBe("broker");
    expect(() => parseConfigFile("{nope", "n.json")).toThrow(/n.json: not valid JSON/);
  });

  it("maps BROOK_* variables to keys and reports unknown ones", () => {
    const { config, unknown } = parseEnv({ BROOK_NODE_ID: "4", BROOK_CONTROLLER_QUORUM_VOTERS: VOTERS, BROOK_NOPE: "1", BROOK_CONFIG: "x", BROOK_LOG_FORMAT: "json", PATH: "/bin" }, ENV_TO_KEY);
    expect(config.get("node.id")).toEqual({ value: "4", source: "env BROOK_NODE_ID" });
    expect(config.get("controller.quorum.voters")?.value).toBe(VOTERS);
    expect(unknown).toEqual(["BROOK_NOPE"]);
  });

  it("parses flags in every spelling", () => {
    const args = parseArgs(["server.properties", "--node.id=5", "--log.dirs", "/d", "--override", "num.partitions=3"]);
    expect(args.configFile).toBe("server.properties");
    expect(args.config.get("node.id")?.value).toBe("5");
    expect(args.config.get("log.dirs")?.value).toBe("/d");
    expect(args.config.get("num.partitions")?.source).toBe("flag --override num.partitions");
    expect(() => parseArgs(["--override", "bad"])).toThrow(/key=value/);
    expect(() => parseArgs(["--node.id"])).toThrow(/needs a value/);
  });
});

describe("resolveConfig", () => {
  it("fills defaults and types every value; a wildcard host is advertised as the hostname", () => {
    const result = resolve(parseConfigFile(base, "f"));
    if (!result.ok) throw new Error(problems(result).join("\n"));
    const c = result.config;
    expect(c.nodeId).toBe(1);
    expect([...c.roles].sort()).toEqual(["broker", "controller"]);
    expect(c.voters).toEqual([
      { id: 1, host: "127.0.0.1", port: 19093 },
      { id: 2, host: "127.0.0.1", port: 29093 },
      { id: 3, host: "127.0.0.1", port: 39093 },
    ]);
    expect(c.advertisedListeners).toEqual([{ name: "PLAINTEXT", host: "myhost", port: 19092 }]);
    expect(c.topicDefaults.segmentBytes).toBe(1024 ** 3);
    expect(c.http).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(c.dataDir).toBe("/data");
  });

  it("lets later layers win: file < env < flags", () => {
    const file = parseConfigFile(base + "num.partitions=2\n", "f");
    const env = parseEnv({ BROOK_NUM_PARTITIONS: "4", BROOK_DEFAULT_REPLICATION_FACTOR: "3" }, ENV_TO_KEY).config;
    const flags = parseArgs(["--num.partitions=6"]).config;
    const result = resolve(file, env, flags);
    expect(result.ok && result.config.topicDefaults).toMatchObject({ numPartitions: 6, replicationFactor: 3 });
  });

  it("accepts Kafka's topic-level names as aliases of broker defaults", () => {
    const result = resolve(parseConfigFile(base + "retention.ms=1000\nsegment.bytes=4096\n", "f"));
    expect(result.ok && result.config.topicDefaults).toMatchObject({ retentionMs: 1000, segmentBytes: 4096 });
  });

  it("reports every problem at once, naming key, source and what is allowed", () => {
    const file = parseConfigFile("node.id=abc\nprocess.roles=broker,zookeeper\nnum.partitons=3\nauto.create.topics.enable=yes\nlog.flush.mode=fast\n", "bad.properties");
    const p = problems(resolve(file));
    expect(p).toContain('num.partitons: unknown setting (from bad.properties:3); did you mean "num.partitions"?');
    expect(p).toContain('node.id: "abc" (from bad.properties:1) is not an integer; allowed: an integer from 0 to 2147483647');
    expect(p).toContain('process.roles: "broker,zookeeper" (from bad.properties:2) contains "zookeeper"; allowed: broker, controller (comma-separated)');
    expect(p).toContain('auto.create.topics.enable: "yes" (from bad.properties:4) is not a boolean; allowed: true, false');
    expect(p).toContain('log.flush.mode: "fast" (from bad.properties:5) is not allowed; allowed: durable, replicated');
    expect(p.some((m) => m.startsWith("controller.quorum.voters: is required"))).toBe(true);
    expect(p.some((m) => m.startsWith("log.dirs: is required"))).toBe(true);
  });

  it("rejects values out of range", () => {
    expect(problems(resolve(parseConfigFile(base + "num.partitions=0\n", "f")))).toEqual(['num.partitions: "0" (from f:5) is out of range; allowed: an integer from 1 to 100000']);
  });

  it("cross-checks voters, node id and the controller listener", () => {
    const notAVoter = parseConfigFile(base.replace("node.id=1", "node.id=9"), "f");
    expect(problems(resolve(notAVoter))).toEqual([expect.stringMatching(/^controller.quorum.voters: does not list node.id=9/)]);
    const brokerOnly = parseArgs(["--process.roles=broker", "--node.id=9"]).config;
    expect(resolve(parseConfigFile(base, "f"), brokerOnly).ok).toBe(true);
    const wrongPort = parseArgs(["--listeners=PLAINTEXT://:19092,CONTROLLER://:9999"]).config;
    expect(problems(resolve(parseConfigFile(base, "f"), wrongPort))).toEqual([expect.stringMatching(/port 19093, but listeners has CONTROLLER:\/\/...:9999/)]);
    const malformed = parseArgs(["--controller.quorum.voters=1@h:1,x@y"]).config;
    expect(problems(resolve(parseConfigFile(base, "f"), malformed))).toContain('controller.quorum.voters: entry "x@y" is malformed; expected id@host:port, e.g. 1@node1:9093');
  });

  it("checks advertised listeners against listeners and refuses wildcard hosts", () => {
    const two = parseArgs([
      "--listeners=INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:19092,CONTROLLER://0.0.0.0:19093",
      "--advertised.listeners=INTERNAL://node1:9092,EXTERNAL://127.0.0.1:19092",
      "--inter.broker.listener.name=INTERNAL",
      "--listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
    ]).config;
    const ok = resolve(parseConfigFile(base, "f"), two);
    expect(ok.ok && ok.config.advertisedListeners.map((l) => `${l.name}://${l.host}:${l.port}`)).toEqual(["INTERNAL://node1:9092", "EXTERNAL://127.0.0.1:19092"]);
    const bad = parseArgs(["--advertised.listeners=OTHER://h:1,PLAINTEXT://0.0.0.0:1"]).config;
    const p = problems(resolve(parseConfigFile(base, "f"), bad));
    expect(p).toContain("advertised.listeners: names listener OTHER, which is not in listeners (PLAINTEXT)");
    expect(p).toContain('advertised.listeners: PLAINTEXT advertises the wildcard host "0.0.0.0"; advertise a host clients can reach');
  });

  describe("listeners, advertised.listeners, inter.broker.listener.name, listener.security.protocol.map", () => {
    const MAP = "--listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT";
    const twoListeners = [
      "--listeners=INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:19092,CONTROLLER://0.0.0.0:19093",
      "--advertised.listeners=INTERNAL://node1:9092,EXTERNAL://127.0.0.1:19092",
      "--inter.broker.listener.name=INTERNAL",
      MAP,
    ];
    const check = (...flags: string[]): string[] => problems(resolve(parseConfigFile(base, "f"), parseArgs([...twoListeners, ...flags]).config));

    it("accepts two named client listeners with their protocols (names compared upper-cased)", () => {
      expect(check()).toEqual([]);
      const r = resolve(parseConfigFile(base, "f"), parseArgs([...twoListeners, "--inter.broker.listener.name=internal"]).config);
      expect(r.ok && r.config.interBrokerListenerName).toBe("INTERNAL");
      expect(r.ok && [...r.config.securityProtocols]).toEqual([["INTERNAL", "PLAINTEXT"], ["EXTERNAL", "PLAINTEXT"], ["CONTROLLER", "PLAINTEXT"]]);
    });

    it("keeps the single PLAINTEXT listener working without a protocol map", () => {
      const r = resolve(parseConfigFile(base, "f"));
      expect(r.ok && r.config.interBrokerListenerName).toBe("PLAINTEXT");
      expect(r.ok && r.config.securityProtocols.get("CONTROLLER")).toBe("PLAINTEXT");
    });

    it("refuses bad listener names, naming the key", () => {
      expect(check("--listeners=IN-TERNAL://0.0.0.0:9092,CONTROLLER://0.0.0.0:19093")).toContain(
        'listeners: entry "IN-TERNAL://0.0.0.0:9092" has an invalid listener name "IN-TERNAL"; allowed: letters, digits and _, starting with a letter (e.g. INTERNAL)',
      );
      expect(check("--advertised.listeners=9INTERNAL://node1:9092,INTERNAL://node1:9092")).toEqual([expect.stringMatching(/^advertised.listeners: entry "9INTERNAL:\/\/node1:9092" has an invalid listener name/)]);
      expect(check("--listeners=INTERNAL:/0.0.0.0:9092,CONTROLLER://0.0.0.0:19093")).toContain(
        'listeners: entry "INTERNAL:/0.0.0.0:9092" is malformed; expected NAME://host:port, e.g. PLAINTEXT://0.0.0.0:9092 (empty host = all interfaces)',
      );
      expect(check("--listeners=INTERNAL://0.0.0.0:9092,internal://0.0.0.0:9094,CONTROLLER://0.0.0.0:19093")).toContain("listeners: names listener INTERNAL twice");
    });

    it("refuses an advertised listener that is not in listeners", () => {
      expect(check("--advertised.listeners=INTERNAL://node1:9092,PUBLIC://example.com:19092")).toEqual([
        "advertised.listeners: names listener PUBLIC, which is not in listeners (INTERNAL, EXTERNAL)",
      ]);
      expect(check("--advertised.listeners=INTERNAL://node1:9092,CONTROLLER://node1:19093")).toEqual([
        "advertised.listeners: must not contain the controller listener CONTROLLER (controllers are found through controller.quorum.voters)",
      ]);
    });

    it("refuses a missing or unadvertised inter-broker listener", () => {
      const noName = problems(resolve(parseConfigFile(base, "f"), parseArgs(twoListeners.filter((f) => !f.startsWith("--inter.broker"))).config));
      expect(noName).toEqual(["inter.broker.listener.name: is PLAINTEXT (the default), but listeners has no PLAINTEXT listener; set it to one of INTERNAL, EXTERNAL"]);
      expect(check("--inter.broker.listener.name=REPLICATION")).toEqual(["inter.broker.listener.name: is REPLICATION, but listeners has no REPLICATION listener; set it to one of INTERNAL, EXTERNAL"]);
      expect(check("--advertised.listeners=EXTERNAL://127.0.0.1:19092")).toEqual([
        "inter.broker.listener.name: is INTERNAL, which is not an advertised listener (EXTERNAL); add it to advertised.listeners",
      ]);
      expect(check("--inter.broker.listener.name=CONTROLLER")).toEqual(["inter.broker.listener.name: is the controller listener CONTROLLER; name a broker listener (INTERNAL, EXTERNAL)"]);
      expect(check("--inter.broker.listener.name=in-ternal")).toContain('inter.broker.listener.name: "IN-TERNAL" is not a listener name; allowed: letters, digits and _, starting with a letter');
    });

    it("refuses two listeners (or HTTP) on one port", () => {
      expect(check("--listeners=INTERNAL://0.0.0.0:9092,EXTERNAL://127.0.0.1:9092,CONTROLLER://0.0.0.0:19093")).toEqual([
        "listeners: INTERNAL and EXTERNAL both bind port 9092; give each listener its own port",
      ]);
      expect(check("--http.listener=0.0.0.0:19092")).toEqual(["http.listener: port 19092 is also the port of listener EXTERNAL (listeners); give HTTP its own port"]);
      // Distinct specific hosts may share a port, and port 0 (pick a free one) never clashes.
      expect(check("--listeners=INTERNAL://10.0.0.1:9092,EXTERNAL://127.0.0.1:9092,CONTROLLER://0.0.0.0:19093")).toEqual([]);
      expect(check("--listeners=INTERNAL://0.0.0.0:0,EXTERNAL://0.0.0.0:0,CONTROLLER://0.0.0.0:19093", "--advertised.listeners=INTERNAL://node1:0,EXTERNAL://127.0.0.1:0")).toEqual([]);
    });

    it("needs a security protocol for every listener, and only PLAINTEXT is served", () => {
      expect(check("--listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT")).toEqual([
        "listener.security.protocol.map: has no entry for listener EXTERNAL (listeners); add EXTERNAL:PLAINTEXT",
      ]);
      expect(problems(resolve(parseConfigFile(base, "f"), parseArgs(twoListeners.filter((f) => f !== MAP)).config))).toEqual([
        "listener.security.protocol.map: has no entry for listener INTERNAL (listeners); add INTERNAL:PLAINTEXT",
        "listener.security.protocol.map: has no entry for listener EXTERNAL (listeners); add EXTERNAL:PLAINTEXT",
      ]);
      expect(check("--listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SSL,CONTROLLER:PLAINTEXT")).toEqual([
        'listener.security.protocol.map: entry "EXTERNAL:SSL": SSL is not supported yet; allowed: PLAINTEXT',
      ]);
      expect(check("--listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:TLS,CONTROLLER:PLAINTEXT")).toEqual([
        'listener.security.protocol.map: entry "EXTERNAL:TLS" names an unknown security protocol; allowed: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL',
      ]);
      expect(check("--listener.security.protocol.map=INTERNAL=PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT")).toEqual([
        'listener.security.protocol.map: entry "INTERNAL=PLAINTEXT" is malformed; expected LISTENER_NAME:PROTOCOL, e.g. INTERNAL:PLAINTEXT',
        "listener.security.protocol.map: has no entry for listener INTERNAL (listeners); add INTERNAL:PLAINTEXT",
      ]);
    });

    it("has no loopback.relays any more: the key is unknown", () => {
      expect(check("--loopback.relays=29092=node2:29092")).toEqual([expect.stringMatching(/^loopback.relays: unknown setting \(from flag --loopback.relays\)/)]);
    });
  });

  it("refuses min.insync.replicas above the default replication factor", () => {
    const p = problems(resolve(parseConfigFile(base + "min.insync.replicas=2\n", "f")));
    expect(p).toEqual([expect.stringMatching(/^min.insync.replicas: \(2\) exceeds default.replication.factor \(1\)/)]);
  });
});
