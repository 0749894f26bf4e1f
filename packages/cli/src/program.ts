// The `brook` command tree (commander). Every command gets its ClusterClient from the
// injected `connect`, writes to the injected streams, and reads time from the injected
// clocks, so the whole CLI runs in tests against a fake of the ClusterClient seam.
//
//   brook [-b host:port,...] topics create|list|describe|delete|alter
//   brook produce TOPIC [--file F] [--key-separator SEP] [--header k=v] [--parse-headers]
//   brook consume TOPIC [--group G] [--from-beginning|--offset N|--from-time T] [--to-end] [--format value|key-value|json]
//   brook groups list|describe|delete|reset-offsets
//   brook cluster describe
//   brook perf produce|consume

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { Command, InvalidArgumentError, Option } from "commander";
import type { ClusterClient, OutRecord, QuorumMember, StartAt } from "./cluster/cluster-client.js";
import { DEFAULT_LINE_FORMAT, formatRecord, parseRecordLine, type OutputFormat } from "./format/records.js";
import { parseStartAt } from "./format/start-at.js";
import { renderJson, renderTable } from "./format/table.js";
import { PerfStats, renderProgress, summaryRows } from "./perf/stats.js";

export const DEFAULT_BOOTSTRAP = "127.0.0.1:19092,127.0.0.1:29092,127.0.0.1:39092";

export interface CliDeps {
  connect(bootstrap: readonly string[], clientId: string): ClusterClient;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  nowMs(): number;
  monotonicMs(): number;
}

/** A usage mistake: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function buildProgram(deps: CliDeps): Command {
  const out = (text: string): void => void deps.stdout.write(text.endsWith("\n") ? text : text + "\n");
  const program = new Command("brook")
    .description("The Brook command line: topics, produce, consume, groups, cluster, perf.")
    .option("-b, --bootstrap <addresses>", "bootstrap brokers host:port,... (env BROOK_BOOTSTRAP)", deps.env["BROOK_BOOTSTRAP"] ?? DEFAULT_BOOTSTRAP)
    .option("--client-id <id>", "client id sent to the cluster", "brook-cli")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s) });

  async function withClient<T>(fn: (client: ClusterClient) => Promise<T>): Promise<T> {
    const opts = program.opts<{ bootstrap: string; clientId: string }>();
    const bootstrap = opts.bootstrap.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const client = deps.connect(bootstrap, opts.clientId);
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }
  const configs = (pairs: readonly string[]): Record<string, string> => {
    const result: Record<string, string> = {};
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq <= 0) throw new UsageError(`--config ${JSON.stringify(pair)}: expected key=value`);
      result[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return result;
  };
  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  const startAt = (o: { fromBeginning?: boolean; offset?: string; fromTime?: string }, fallback?: StartAt): StartAt => {
    const parsed = parseStartAt(o, deps.nowMs());
    if ("error" in parsed) throw new UsageError(parsed.error);
    return fallback && !o.fromBeginning && o.offset === undefined && o.fromTime === undefined ? fallback : parsed;
  };

  // ---- topics ----------------------------------------------------------------------
  const topics = program.command("topics").description("create, list, describe, delete and alter topics");
  topics
    .command("create <topic>")
    .option("-p, --partitions <n>", "partition count (default: the cluster's num.partitions)", positiveInt)
    .option("-r, --replication-factor <n>", "replicas per partition (default: the cluster's default.replication.factor)", positiveInt)
    .option("-c, --config <key=value>", "topic config, repeatable (retention.ms=..., min.insync.replicas=...)", collect, [])
    .action(async (topic: string, o: { partitions?: number; replicationFactor?: number; config: string[] }) => {
      await withClient((c) => c.createTopic(topic, { ...(o.partitions ? { partitions: o.partitions } : {}), ...(o.replicationFactor ? { replicationFactor: o.replicationFactor } : {}), configs: configs(o.config) }));
      out(`created topic ${topic}`);
    });
  topics
    .command("list")
    .option("--internal", "include internal topics (__consumer_offsets)")
    .option("--json", "machine-readable output")
    .action(async (o: { internal?: boolean; json?: boolean }) => {
      const list = await withClient((c) => c.listTopics(o.internal === true));
      list.sort((a, b) => a.name.localeCompare(b.name));
      out(o.json ? renderJson(list) : list.length === 0 ? "(no topics)" : renderTable(["TOPIC", "PARTITIONS", "RF"], list.map((t) => [t.name, t.partitions, t.replicationFactor])));
    });
  topics
    .command("describe <topics...>")
    .option("--json", "machine-readable output")
    .action(async (names: string[], o: { json?: boolean }) => {
      const described = await withClient((c) => c.describeTopics(names));
      if (o.json) return out(renderJson(described));
      for (const t of described) {
        // As kafka-topics --describe: the configs set on the topic; --json carries every value.
        const set = t.overrides.map((k) => `${k}=${t.configs[k] ?? ""}`).join(", ");
        out(`Topic ${t.name}  partitions ${t.partitions}  replication factor ${t.replicationFactor}  configs ${set || "(all defaults)"}`);
        out(renderTable(["PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR"], t.partitionDetails.map((p) => [p.partition, p.leader, p.leaderEpoch, p.replicas.join(","), p.isr.join(",")])));
      }
    });
  topics
    .command("delete <topics...>")
    .action(async (names: string[]) => {
      await withClient((c) => c.deleteTopics(names));
      out(`deleted ${names.join(", ")}`);
    });
  topics
    .command("alter <topic>")
    .option("-p, --partitions <n>", "grow to this many partitions", positiveInt)
    .option("-c, --config <key=value>", "set a topic config, repeatable", collect, [])
    .option("--delete-config <key>", "remove a topic config override (back to the cluster default), repeatable", collect, [])
    .action(async (topic: string, o: { partitions?: number; config: string[]; deleteConfig: string[] }) => {
      if (o.partitions === undefined && o.config.length === 0 && o.deleteConfig.length === 0) {
        throw new UsageError("topics alter: give --partitions, --config key=value and/or --delete-config key");
      }
      const changes: Record<string, string | null> = configs(o.config);
      for (const key of o.deleteConfig) {
        if (key in changes) throw new UsageError(`topics alter: ${key} is both set (--config) and deleted (--delete-config); pick one`);
        changes[key] = null;
      }
      await withClient((c) => c.alterTopic(topic, { ...(o.partitions ? { partitions: o.partitions } : {}), configs: changes }));
      out(`altered topic ${topic}`);
    });

  // ---- produce / consume ------------------------------------------------------------
  program
    .command("produce <topic>")
    .description("send lines from stdin (or --file) as records, one per line")
    .option("-f, --file <path>", "read lines from this file instead of stdin")
    .option("-k, --key-separator <sep>", "each line is key<sep>value")
    .option("-H, --header <key=value>", "header on every record, repeatable", collect, [])
    .option("--parse-headers", "each line starts with h1:v1,h2:v2 and a tab (Kafka console producer format)")
    .addOption(new Option("--acks <acks>", "acknowledgement level").choices(["all", "1", "0"]).default("all"))
    .option("--batch <n>", "records per send call", positiveInt, 100)
    .action(async (topic: string, o: { file?: string; keySeparator?: string; header: string[]; parseHeaders?: boolean; acks: string; batch: number }) => {
      const format = { ...DEFAULT_LINE_FORMAT, ...(o.keySeparator !== undefined ? { keySeparator: o.keySeparator } : {}), parseHeaders: o.parseHeaders === true, headers: configs(o.header) };
      const acks = o.acks === "all" ? -1 : (Number(o.acks) as 0 | 1);
      const lines = createInterface({ input: o.file ? createReadStream(o.file) : deps.stdin, crlfDelay: Infinity });
      let sent = 0;
      await withClient(async (c) => {
        let batch: OutRecord[] = [];
        let lineNo = 0;
        for await (const line of lines) {
          lineNo++;
          if (line === "") continue;
          batch.push(parseRecordLine(line, lineNo, format));
          if (batch.length >= o.batch) {
            await c.produce(topic, batch, acks);
            sent += batch.length;
            batch = [];
          }
        }
        if (batch.length > 0) {
          await c.produce(topic, batch, acks);
          sent += batch.length;
        }
      });
      deps.stderr.write(`produced ${sent} record(s) to ${topic}\n`);
    });
  program
    .command("consume <topic>")
    .description("print records; follows new records unless --to-end")
    .option("-g, --group <id>", "consume in this group (commits offsets)")
    .option("-p, --partition <n>", "only this partition", nonNegativeInt)
    .option("--from-beginning", "start at the earliest offset")
    .option("-o, --offset <n|earliest|latest>", "start offset")
    .option("--from-time <time>", "start at the first record at or after ISO time, epoch ms, or -15m")
    .option("--to-end", "stop at the end of the log instead of following")
    .option("-n, --max-records <n>", "stop after this many records", positiveInt)
    .addOption(new Option("--format <format>", "output format").choices(["value", "key-value", "json"]).default("value"))
    .option("--key-separator <sep>", "separator for --format key-value", "\t")
    .action(async (topic: string, o: { group?: string; partition?: number; fromBeginning?: boolean; offset?: string; fromTime?: string; toEnd?: boolean; maxRecords?: number; format: OutputFormat; keySeparator: string }) => {
      const abort = new AbortController();
      // Ctrl-C, and SIGTERM from a supervisor (docker stop, timeout, kill): stop cleanly, so a
      // group consumer commits what it printed and leaves its group instead of being timed out.
      const release = abortOnStopSignals(abort);
      let count = 0;
      try {
        await withClient(async (c) => {
          for await (const record of c.consume({ topic, ...(o.group ? { groupId: o.group } : {}), ...(o.partition !== undefined ? { partition: o.partition } : {}), startAt: startAt(o), toEnd: o.toEnd === true, ...(o.maxRecords ? { maxRecords: o.maxRecords } : {}), signal: abort.signal })) {
            out(formatRecord(record, o.format, o.keySeparator));
            if (o.maxRecords !== undefined && ++count >= o.maxRecords) break;
          }
        });
      } finally {
        release();
      }
    });

  // ---- groups -------------------------------------------------------------------------
  const groups = program.command("groups").description("list, describe, delete consumer groups and reset their offsets");
  groups
    .command("list")
    .option("--json", "machine-readable output")
    .action(async (o: { json?: boolean }) => {
      const list = await withClient((c) => c.listGroups());
      out(o.json ? renderJson(list) : list.length === 0 ? "(no groups)" : renderTable(["GROUP", "STATE", "MEMBERS"], list.map((g) => [g.groupId, g.state, g.members])));
    });
  groups
    .command("describe <groups...>")
    .option("--json", "machine-readable output")
    .action(async (ids: string[], o: { json?: boolean }) => {
      const described = await withClient((c) => c.describeGroups(ids));
      if (o.json) return out(renderJson(described));
      for (const g of described) {
        out(`Group ${g.groupId}  state ${g.state}  epoch ${g.epoch}  members ${g.members}`);
        out(renderTable(["TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG"], g.offsets.map((x) => [x.topic, x.partition, x.committed, x.logEnd, x.lag])));
        if (g.memberDetails.length > 0) out(renderTable(["MEMBER", "CLIENT", "HOST", "ASSIGNMENT"], g.memberDetails.map((m) => [m.memberId, m.clientId, m.host, m.assignment.map((a) => `${a.topic}-${a.partition}`).join(",")])));
      }
    });
  groups
    .command("delete <groups...>")
    .action(async (ids: string[]) => {
      await withClient((c) => c.deleteGroups(ids));
      out(`deleted ${ids.join(", ")}`);
    });
  groups
    .command("reset-offsets <group>")
    .requiredOption("-t, --topic <topic>", "topic whose committed offsets to move")
    .option("--to-earliest", "move to the earliest offset")
    .option("--to-latest", "move to the latest offset")
    .option("--to-offset <n>", "move to this offset")
    .option("--to-time <time>", "move to the first offset at or after this time")
    .option("--execute", "apply the change (default: dry run that prints the plan)")
    .option("--json", "machine-readable output")
    .action(async (group: string, o: { topic: string; toEarliest?: boolean; toLatest?: boolean; toOffset?: string; toTime?: string; execute?: boolean; json?: boolean }) => {
      const chosen = [o.toEarliest, o.toLatest, o.toOffset !== undefined, o.toTime !== undefined].filter(Boolean).length;
      if (chosen !== 1) throw new UsageError("groups reset-offsets: choose exactly one of --to-earliest, --to-latest, --to-offset, --to-time");
      const to = o.toEarliest ? { kind: "earliest" as const } : o.toLatest ? { kind: "latest" as const } : startAt(o.toOffset !== undefined ? { offset: o.toOffset } : { fromTime: o.toTime! });
      const plan = await withClient((c) => c.resetOffsets(group, o.topic, to, o.execute !== true));
      if (o.json) return out(renderJson(plan));
      out(renderTable(["TOPIC", "PARTITION", "NEW-OFFSET"], plan.map((p) => [p.topic, p.partition, p.offset])));
      if (o.execute !== true) out("(dry run: add --execute to apply; the group must have no active members)");
    });

  // ---- cluster ------------------------------------------------------------------------
  program
    .command("cluster")
    .description("cluster-wide information")
    .command("describe")
    .option("--json", "machine-readable output")
    .action(async (o: { json?: boolean }) => {
      const d = await withClient((c) => c.describeCluster());
      if (o.json) return out(renderJson(d));
      out(`Cluster ${d.clusterId}  controller ${d.controllerId}  quorum leader ${d.quorum.leaderId} (term ${d.quorum.term})`);
      out(`Under-replicated partitions ${d.underReplicatedPartitions}  offline partitions ${d.offlinePartitions}`);
      out(renderTable(["BROKER", "ADDRESS", "RACK", "STATE"], d.brokers.map((b) => [b.id, `${b.host}:${b.port}`, b.rack ?? "-", b.fenced ? "fenced" : "active"])));
      // Like kafka-metadata-quorum --replication: each member's metadata log against the leader's.
      const leaderEnd = d.quorum.voters.find((v) => v.id === d.quorum.leaderId)?.logEndOffset ?? -1;
      const known = (n: number) => (n < 0 ? "-" : n);
      const row = (m: QuorumMember, status: string) => [m.id, status, known(m.logEndOffset), m.logEndOffset < 0 || leaderEnd < 0 ? "-" : Math.max(0, leaderEnd - m.logEndOffset), known(m.caughtUpMsAgo)];
      out(
        renderTable(
          ["NODE", "STATUS", "LOG-END", "LAG", "CAUGHT-UP-MS-AGO"],
          [...d.quorum.voters.map((v) => row(v, v.id === d.quorum.leaderId ? "leader" : "follower")), ...d.quorum.observers.map((o) => row(o, "observer"))],
        ),
      );
    });

  // ---- perf ---------------------------------------------------------------------------
  const perf = program.command("perf").description("throughput and latency tests (like kafka-*-perf-test)");
  perf
    .command("produce <topic>")
    .option("-n, --num-records <n>", "records to send", positiveInt, 100_000)
    .option("-s, --record-size <bytes>", "value size", positiveInt, 1024)
    .option("--batch <n>", "records per send call", positiveInt, 100)
    .option("--in-flight <n>", "send calls outstanding at once (the SDK batches them further)", positiveInt, 16)
    .addOption(new Option("--acks <acks>", "acknowledgement level").choices(["all", "1", "0"]).default("all"))
    .option("--json", "print the final figures as JSON")
    .action(async (topic: string, o: { numRecords: number; recordSize: number; batch: number; inFlight: number; acks: string; json?: boolean }) => {
      const value = "x".repeat(o.recordSize);
      const acks = o.acks === "all" ? -1 : (Number(o.acks) as 0 | 1);
      const stats = new PerfStats(deps.monotonicMs());
      const progress = makeProgress(deps, o.numRecords, stats);
      await withClient(async (c) => {
        let next = 0;
        // Each worker keeps one send call outstanding; latency is measured per call.
        const worker = async (): Promise<void> => {
          while (next < o.numRecords) {
            const n = Math.min(o.batch, o.numRecords - next);
            next += n;
            const batch = Array.from({ length: n }, () => ({ value }));
            const t0 = deps.monotonicMs();
            try {
              await c.produce(topic, batch, acks);
              const latency = deps.monotonicMs() - t0;
              for (let i = 0; i < n; i++) stats.record(o.recordSize, latency);
            } catch {
              for (let i = 0; i < n; i++) stats.error();
            }
            progress.tick();
          }
        };
        await Promise.all(Array.from({ length: o.inFlight }, worker));
      });
      progress.done();
      printSummary(deps, stats, o.json === true);
    });
  perf
    .command("consume <topic>")
    .option("-n, --num-records <n>", "records to read", positiveInt, 100_000)
    .option("-g, --group <id>", "consume in this group")
    .option("--timeout <ms>", "stop when no record arrived for this long (kafka-consumer-perf-test's --timeout)", positiveInt, 10_000)
    .option("--json", "print the final figures as JSON")
    .action(async (topic: string, o: { numRecords: number; group?: string; timeout: number; json?: boolean }) => {
      const stats = new PerfStats(deps.monotonicMs());
      const progress = makeProgress(deps, o.numRecords, stats);
      const abort = new AbortController();
      // A topic holding fewer records than asked for would otherwise be waited on forever.
      let idle: NodeJS.Timeout | undefined;
      let timedOut = false;
      const arm = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          timedOut = true;
          abort.abort();
        }, o.timeout);
      };
      const release = abortOnStopSignals(abort);
      arm();
      try {
        await withClient(async (c) => {
          for await (const r of c.consume({ topic, ...(o.group ? { groupId: o.group } : {}), startAt: { kind: "earliest" }, toEnd: false, maxRecords: o.numRecords, signal: abort.signal })) {
            stats.record((r.value?.length ?? 0) + (r.key?.length ?? 0));
            progress.tick();
            arm();
            if (stats.records >= o.numRecords) break;
          }
        });
      } finally {
        clearTimeout(idle);
        release();
      }
      progress.done();
      if (timedOut) deps.stderr.write(`brook: stopped after ${stats.records} of ${o.numRecords} records: none arrived for ${o.timeout} ms (--timeout)\n`);
      printSummary(deps, stats, o.json === true);
    });

  return program;
}

/** Ctrl-C and SIGTERM (docker stop, timeout, kill) abort `abort` once; returns the undo. */
function abortOnStopSignals(abort: AbortController): () => void {
  const stop = (): void => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  };
}

function makeProgress(deps: CliDeps, total: number, stats: PerfStats): { tick(): void; done(): void } {
  // The bar redraws in place on a terminal at most 10 times a second; elsewhere it is silent.
  const tty = (deps.stderr as { isTTY?: boolean }).isTTY === true;
  let last = 0;
  const draw = (): void => void deps.stderr.write(`\r${renderProgress(stats.records, total, stats.summary(deps.monotonicMs()))}`);
  return {
    tick() {
      const now = deps.monotonicMs();
      if (tty && now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      if (tty) {
        draw();
        deps.stderr.write("\n");
      }
    },
  };
}

function printSummary(deps: CliDeps, stats: PerfStats, json: boolean): void {
  const summary = stats.summary(deps.monotonicMs());
  deps.stdout.write((json ? renderJson(summary) : renderTable(["METRIC", "VALUE"], summaryRows(summary))) + "\n");
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}
