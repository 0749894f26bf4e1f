#!/usr/bin/env node
// `npm run soak`: a process-level chaos soak on loopback, no Docker. Three real `brook` node
// processes (cluster.ts), a topic with RF 3 and min.insync.replicas=2, N idempotent acks=all
// producers through the SDK (workload.ts), and a seeded fault schedule (chaos.ts) of
// SIGKILL + restart, SIGSTOP/SIGCONT pauses and SIGTERM + restart, one node at a time, each
// node ready again (/readyz) before the next fault. Then faults stop, producers finish, every
// partition is read back from offset 0 and history.ts judges it: nothing acknowledged lost,
// duplicated or reordered. Exit 0 and a summary when clean; otherwise exit 1 with the
// violations (first 20), any node crash, and the seed that replays the fault sequence.
//
//   npm run soak -- --minutes 12 [--seed S] [--producers 4] [--partitions 6]
//                   [--inflight 32] [--rate 1000] [--keep]
// Env: BROOK_SOAK_BASE_PORT=B puts node N on B+10N..B+10N+2 (else free ports are picked).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Brook } from "@brook/client";
import { type Fault, type FaultKind, FAULT_KINDS, faultSchedule } from "./chaos.js";
import { scanLogs, sleep, SoakCluster } from "./cluster.js";
import { checkHistory, readPastAcked, type ReadRecord, type Violation } from "./history.js";
import { readBack, Workload } from "./workload.js";

const NODES = 3;
const TOPIC = "soak";
const READY_TIMEOUT_MS = 180_000;
const READ_BACK_TIMEOUT_MS = 600_000;

interface Options {
  readonly minutes: number;
  readonly seed: number;
  readonly producers: number;
  readonly partitions: number;
  readonly inflight: number;
  readonly rate: number;
  readonly keep: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      minutes: { type: "string", default: "5" },
      seed: { type: "string" },
      producers: { type: "string", default: "4" },
      partitions: { type: "string", default: "6" },
      inflight: { type: "string", default: "32" },
      rate: { type: "string", default: "1000" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log("npm run soak -- [--minutes 5] [--seed S] [--producers 4] [--partitions 6] [--inflight 32] [--rate 1000 records/s, 0 = unthrottled] [--keep]");
    process.exit(0);
  }
  const num = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) {
      console.error(`soak: --${name} ${JSON.stringify(raw)} must be a number >= ${min}`);
      process.exit(2);
    }
    return n;
  };
  return {
    minutes: num("minutes", values.minutes, 0),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 32) : num("seed", values.seed, 0) >>> 0,
    producers: Math.floor(num("producers", values.producers, 1)),
    partitions: Math.floor(num("partitions", values.partitions, 1)),
    inflight: Math.floor(num("inflight", values.inflight, 1)),
    rate: num("rate", values.rate, 0),
    keep: values.keep,
  };
}

const SIGNAL_NAME: Record<FaultKind, string> = { kill: "SIGKILL", pause: "SIGSTOP", terminate: "SIGTERM" };

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const clock = (): string => {
    const s = Math.floor((Date.now() - started) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  };
  const replay = `npm run soak -- --minutes ${opts.minutes} --seed ${opts.seed} --producers ${opts.producers} --partitions ${opts.partitions}`;
  console.log(`soak: seed ${opts.seed} (replay: ${replay})`);

  const dir = mkdtempSync(join(tmpdir(), "brook-soak-"));
  const basePort = process.env["BROOK_SOAK_BASE_PORT"];
  const cluster = await SoakCluster.create(dir, NODES, basePort === undefined ? undefined : Number(basePort));
  process.on("exit", () => cluster.killAllSync());
  process.on("SIGINT", () => {
    console.log(`\nsoak: interrupted at ${clock()}; nodes killed; seed ${opts.seed}; data and logs kept in ${dir}`);
    cluster.killAllSync();
    process.exit(130);
  });
  process.on("SIGTERM", () => {
    cluster.killAllSync();
    process.exit(143);
  });

  // A node that dies on its own is the most interesting event of a soak: say so at once.
  cluster.onCrash = (crash) => console.log(`[${clock()}] ✖ node ${crash.node} ${crash.what}`);
  console.log(`soak: ${NODES} nodes, data and logs in ${dir}`);
  for (const n of cluster.nodes) {
    cluster.start(n.id);
    console.log(`  node ${n.id}: client 127.0.0.1:${n.ports.client}  http http://127.0.0.1:${n.ports.http}/readyz  log ${n.logPath}`);
  }
  await Promise.all(cluster.nodes.map((n) => cluster.waitReady(n.id, READY_TIMEOUT_MS)));
  console.log(`[${clock()}] cluster ready`);

  const admin = new Brook({ brokers: [...cluster.bootstrap], clientId: "brook-soak-admin" });
  await admin.admin().createTopics([{ topic: TOPIC, numPartitions: opts.partitions, replicationFactor: NODES, configs: { "min.insync.replicas": "2" } }]);
  await admin.close();
  console.log(`[${clock()}] topic ${TOPIC}: ${opts.partitions} partitions, RF ${NODES}, min.insync.replicas=2`);

  const workload = new Workload({ bootstrap: cluster.bootstrap, topic: TOPIC, producers: opts.producers, inflight: opts.inflight, rate: opts.rate });
  workload.start();
  const status = (): string => `acks ${workload.acked.length}, errors ${workload.errors.count}`;
  let lastLine = Date.now();
  const say = (line: string): void => {
    console.log(`[${clock()}] ${line}`);
    lastLine = Date.now();
  };
  const heartbeat = setInterval(() => {
    if (Date.now() - lastLine > 25_000) say(`… ${status()}`);
  }, 5_000);

  // Chaos phase.
  const faultsEnd = started + opts.minutes * 60_000;
  const schedule = faultSchedule(opts.seed, NODES);
  const faultCount = new Map<FaultKind, number>(FAULT_KINDS.map((k) => [k, 0]));
  const liveness: string[] = [];
  let index = 0;
  while (Date.now() < faultsEnd && liveness.length === 0) {
    const fault: Fault = schedule.next().value;
    await sleep(Math.min(fault.gapMs, Math.max(0, faultsEnd - Date.now())));
    if (Date.now() >= faultsEnd) break;
    index++;
    const t0 = Date.now();
    try {
      if (fault.kind === "pause") {
        cluster.pause(fault.node);
        await sleep(fault.downMs);
        cluster.resume(fault.node);
      } else {
        await (fault.kind === "kill" ? cluster.kill(fault.node) : cluster.terminate(fault.node));
        const stoppedMs = Date.now() - t0;
        await sleep(fault.downMs);
        if (cluster.node(fault.node).state === "down") cluster.start(fault.node);
        if (fault.kind === "terminate") say(`  (node ${fault.node} shut down in ${(stoppedMs / 1000).toFixed(1)}s)`);
      }
      const readyMs = await cluster.waitReady(fault.node, READY_TIMEOUT_MS);
      faultCount.set(fault.kind, faultCount.get(fault.kind)! + 1);
      say(`fault ${index}: ${SIGNAL_NAME[fault.kind]} node ${fault.node}, ${fault.kind === "pause" ? "paused" : "down"} ${(fault.downMs / 1000).toFixed(1)}s, ready ${(readyMs / 1000).toFixed(1)}s later | ${status()}`);
    } catch (error) {
      liveness.push(`fault ${index} (${SIGNAL_NAME[fault.kind]} node ${fault.node}): ${error instanceof Error ? error.message : String(error)}`);
      say(`✖ ${liveness.at(-1)}`);
    }
    // A node that died on its own (reported by onCrash): bring it back so the run can finish.
    const crashed = cluster.nodes.filter((n) => n.state === "down");
    for (const n of crashed) cluster.start(n.id);
    for (const n of crashed) await cluster.waitReady(n.id, READY_TIMEOUT_MS).catch((e: unknown) => liveness.push(String(e)));
  }

  say(`faults stopped; every node ready? ${(await Promise.all(cluster.nodes.map((n) => cluster.ready(n.id)))).every(Boolean)}; producing 5 s more`);
  await sleep(5_000);
  await workload.stop();
  clearInterval(heartbeat);
  say(`producers finished: ${status()}`);

  // Check phase.
  let violations: Violation[] = [];
  let readCount = 0;
  let readRecords: readonly ReadRecord[] = [];
  let readError: string | undefined;
  try {
    const back = await readBack(cluster.bootstrap, TOPIC, READ_BACK_TIMEOUT_MS, (read, total) => say(`  reading back: ${read} of ${total}`));
    readCount = back.records.length;
    readRecords = back.records;
    say(`read back ${readCount} records (end offsets ${[...back.endOffsets].map(([p, o]) => `${p}:${o}`).join(" ")})`);
    violations = checkHistory(workload.acked, back.records);
    if (!readPastAcked(workload.acked, back.records)) violations.push({ kind: "lost", detail: "the read-back ended before the last acknowledged offset of some partition" });
  } catch (error) {
    readError = error instanceof Error ? error.message : String(error);
    say(`✖ read-back failed: ${readError}`);
  }

  await cluster.stopAll();
  const crashes = [...cluster.crashes];
  const logs = scanLogs(cluster);

  const elapsed = ((Date.now() - started) / 60_000).toFixed(1);
  const errors = workload.errors;
  console.log("\n=== soak summary ===");
  console.log(`seed          ${opts.seed}`);
  console.log(`elapsed       ${elapsed} min (faults for ${opts.minutes} min)`);
  console.log(`acks          ${workload.acked.length} (${opts.producers} producers, ${opts.partitions} partitions)`);
  console.log(`send errors   ${errors.count}${errors.count > 0 ? ` (${[...errors.byKind].map(([k, n]) => `${k} ${n}`).join(", ")})` : ""}`);
  for (const s of errors.samples) console.log(`                ${s}`);
  console.log(`faults        ${index} (${[...faultCount].map(([k, n]) => `${SIGNAL_NAME[k]} ${n}`).join(", ")})`);
  console.log(`records read  ${readCount}`);
  console.log(`violations    ${violations.length}`);
  console.log(`node crashes  ${crashes.length}`);
  for (const f of logs) {
    console.log(`node ${f.node} log   ${f.errors.length} error/fatal lines, ${f.raw.length} non-JSON lines (${f.logPath})`);
    for (const line of [...f.errors.slice(0, 3), ...f.raw.slice(0, 3)]) console.log(`                ${line.slice(0, 300)}`);
  }

  const clean = violations.length === 0 && crashes.length === 0 && liveness.length === 0 && readError === undefined;
  if (clean) {
    console.log("\n✔ clean: nothing acknowledged was lost, duplicated or reordered");
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`data and logs kept in ${dir}`);
    return 0;
  }
  // The whole history, for whoever investigates: one JSON object per line.
  writeFileSync(join(dir, "acked.jsonl"), workload.acked.map((a) => JSON.stringify(a)).join("\n") + "\n");
  writeFileSync(join(dir, "read.jsonl"), readRecords.map((r) => JSON.stringify(r)).join("\n") + "\n");
  console.log("\n✖ NOT clean");
  for (const v of violations.slice(0, 20)) console.log(`  ${v.kind}: ${v.detail}`);
  if (violations.length > 20) console.log(`  ... and ${violations.length - 20} more`);
  for (const c of crashes) console.log(`  crash: node ${c.node} ${c.what} at ${(c.atMs / 1000).toFixed(0)}s`);
  for (const l of liveness) console.log(`  liveness: ${l}`);
  if (readError !== undefined) console.log(`  read-back: ${readError}`);
  console.log(`seed ${opts.seed}; replay: ${replay}`);
  console.log(`data, logs and the history (acked.jsonl, read.jsonl) kept in ${dir}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("soak failed:", error);
    process.exit(1);
  },
);
