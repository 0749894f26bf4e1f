#!/usr/bin/env node
// raft-node: one Raft voter as a process, for the integration test and the benchmarks.
//
//   node dist/bin/raft-node.js --id 1 --voters 1@127.0.0.1:4101,2@127.0.0.1:4102,3@127.0.0.1:4103 \
//        --data /tmp/n1 [--snapshot-every 10000] [--election-timeout-ms 300] [--heartbeat-ms 20] [--log-level warn]
//
// The replicated state machine is a counter with a CRC-32 chain over every applied value, so
// two nodes agree on the whole applied sequence iff (count, hash) match.
// Control channel: JSON lines. Requests on stdin, `{ "id": n, "op": ... }`; answers on stdout,
// `{ "id": n, "ok": true, "result": ... }` or `{ "id": n, "ok": false, "error": {...} }`.
// The first stdout line is `{ "event": "ready" }`. Logs (pino) go to stderr.
//   status                         -> role, term, indexes, count, hash
//   propose { value }              -> { index, term } once committed and applied here
//   read                           -> readIndex barrier, then the state
//   load { count, size, concurrency } -> proposes `count` values keeping `concurrency` in flight;
//                                     { ms, committed, failed }
//   rate { rate, durationMs, size } -> proposes at a fixed rate; commit latency percentiles,
//        this process's CPU time per proposal and its event-loop delay (how much of a tail is
//        the machine not running us, rather than Raft waiting)
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { crc32 } from "node:zlib";
import { pino } from "pino";
import type { Entry, NodeId, Snapshot } from "../core/types.js";
import { RaftNode } from "../node/raft_node.js";
import type { StateMachine } from "../node/state_machine.js";

class ChainMachine implements StateMachine {
  count = 0;
  hash = 0;
  apply(entries: readonly Entry[]): void {
    for (const e of entries) {
      this.hash = crc32(e.data, this.hash);
      this.count++;
    }
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ count: this.count, hash: this.hash }));
  }
  restore(s: Snapshot): void {
    const v = JSON.parse(new TextDecoder().decode(s.data)) as { count: number; hash: number };
    this.count = v.count;
    this.hash = v.hash;
  }
}

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith("--") || argv[i + 1] === undefined) throw new Error(`bad argument ${k}`);
    args.set(k.slice(2), argv[i + 1]!);
  }
  return args;
}

function parseVoters(spec: string): Map<NodeId, string> {
  return new Map(
    spec.split(",").map((part) => {
      const at = part.indexOf("@");
      return [Number(part.slice(0, at)), part.slice(at + 1)] as [NodeId, string];
    }),
  );
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const id = Number(args.get("id"));
  const voters = parseVoters(args.get("voters") ?? "");
  const logger = pino({ level: args.get("log-level") ?? "warn", base: { node: id } }, pino.destination({ dest: 2, sync: false }));
  const sm = new ChainMachine();
  const electionTimeoutMs = args.get("election-timeout-ms");
  const heartbeatIntervalMs = args.get("heartbeat-ms");
  const node = await RaftNode.open({
    id,
    voters,
    dataDir: args.get("data")!,
    stateMachine: sm,
    logger,
    listen: voters.get(id)!,
    snapshotEveryEntries: Number(args.get("snapshot-every") ?? 10_000),
    ...(electionTimeoutMs !== undefined ? { electionTimeoutMs: Number(electionTimeoutMs) } : {}),
    ...(heartbeatIntervalMs !== undefined ? { heartbeatIntervalMs: Number(heartbeatIntervalMs) } : {}),
  });
  const out = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + "\n");
  const state = () => ({ ...node.status(), leaderId: node.leaderId, count: sm.count, hash: sm.hash });

  const ops: Record<string, (req: Record<string, unknown>) => Promise<unknown>> = {
    status: async () => state(),
    propose: async (req) => node.propose(new TextEncoder().encode(String(req.value))),
    read: async () => {
      await node.readIndex();
      return state();
    },
    load: async (req) => {
      const count = Number(req.count);
      const payload = new Uint8Array(Number(req.size)).fill(0x61);
      const concurrency = Number(req.concurrency ?? 1000);
      let issued = 0;
      let committed = 0;
      let failed = 0;
      const start = performance.now();
      await new Promise<void>((resolve) => {
        const next = (): void => {
          if (issued >= count) {
            if (committed + failed === count) resolve();
            return;
          }
          issued++;
          node.propose(payload).then(
            () => committed++,
            () => failed++,
          ).finally(next);
        };
        for (let i = 0; i < Math.min(concurrency, count); i++) next();
      });
      return { ms: performance.now() - start, committed, failed };
    },
    rate: async (req) => {
      const rate = Number(req.rate);
      const durationMs = Number(req.durationMs);
      const payload = new Uint8Array(Number(req.size)).fill(0x62);
      const latencies: number[] = [];
      let failed = 0;
      let issued = 0;
      const inflight = new Set<Promise<unknown>>();
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      while (performance.now() - start < durationMs) {
        const due = Math.floor(((performance.now() - start) * rate) / 1000);
        for (; issued < due; issued++) {
          const t0 = performance.now();
          const p = node.propose(payload).then(
            () => latencies.push(performance.now() - t0),
            () => failed++,
          );
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.all(inflight);
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      latencies.sort((a, b) => a - b);
      return {
        issued, failed, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0,
        cpuUsPerProposal: (cpu.user + cpu.system) / Math.max(issued, 1),
        loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6,
      };
    },
  };

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line) as Record<string, unknown>;
    } catch {
      out({ ok: false, error: { name: "BadRequest", message: "not JSON" } });
      return;
    }
    const op = ops[String(req.op)];
    if (op === undefined) {
      out({ id: req.id, ok: false, error: { name: "BadRequest", message: `unknown op ${String(req.op)}` } });
      return;
    }
    op(req).then(
      (result) => out({ id: req.id, ok: true, result }),
      (err: Error & { leaderId?: number }) =>
        out({ id: req.id, ok: false, error: { name: err.name, message: err.message, leaderId: err.leaderId ?? 0 } }),
    );
  });
  const stop = async (): Promise<void> => {
    await node.close();
    process.exit(0);
  };
  lines.on("close", () => void stop());
  process.on("SIGTERM", () => void stop());
  out({ event: "ready" });
}

main().catch((err: unknown) => {
  process.stderr.write(`raft-node failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
