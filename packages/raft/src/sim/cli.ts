// `pnpm sim --seeds N --start S [--nodes 3|5] [--bug NAME] [--verbose]`: runs a range of
// simulator seeds (a soak), with a progress bar on stderr and a summary on stdout. Exits 1 if
// any seed fails, printing each failing seed and the command that replays it.
import { argv, exit, stderr, stdout } from "node:process";
import type { Logger, TestingBugs } from "../core/types.js";
import { replayCommand, runSeed, type SimResult } from "./cluster.js";

const BUGS = ["skipPersistVote", "commitPreviousTermByCount", "voteWithoutLogCheck", "commitUnpersistedSelf", "ackBeforePersist"] as const;

interface Args {
  seeds: number;
  start: number;
  nodes: number[];
  bug: (typeof BUGS)[number] | undefined;
  verbose: boolean;
}

function usage(msg: string): never {
  stderr.write(`sim: ${msg}\nusage: pnpm sim --seeds N --start S [--nodes 3|5|3,5] [--bug ${BUGS.join("|")}] [--verbose]\n`);
  exit(2);
}

function parse(args: readonly string[]): Args {
  const out: Args = { seeds: 100, start: 1, nodes: [3], bug: undefined, verbose: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = (): string => args[++i] ?? usage(`${a} needs a value`);
    const int = (): number => {
      const v = Number(val());
      if (!Number.isSafeInteger(v) || v < 0) usage(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === "--seeds") out.seeds = int();
    else if (a === "--start") out.start = int();
    else if (a === "--nodes") {
      out.nodes = val().split(",").map(Number);
      if (out.nodes.some((n) => n !== 3 && n !== 5)) usage("--nodes takes 3, 5 or 3,5");
    } else if (a === "--bug") {
      const b = val();
      if (!(BUGS as readonly string[]).includes(b)) usage(`unknown bug ${b}`);
      out.bug = b as (typeof BUGS)[number];
    } else if (a === "--verbose") out.verbose = true;
    else if (a === "--") continue;
    else usage(`unknown argument ${a}`);
  }
  return out;
}

function bar(done: number, total: number, failed: number, startedMs: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const rate = done / Math.max((performance.now() - startedMs) / 1000, 0.001);
  return `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} seeds, ${failed} failed, ${rate.toFixed(0)} seeds/s `;
}

const verboseLogger: Logger = {
  debug: () => {},
  info: (m) => stdout.write(`  INFO ${m}\n`),
  warn: (m) => stdout.write(`  WARN ${m}\n`),
};

function main(): void {
  const args = parse(argv.slice(2));
  const testingBugs: TestingBugs = args.bug === undefined ? {} : { [args.bug]: true };
  const total = args.seeds * args.nodes.length;
  const started = performance.now();
  const failures: SimResult[] = [];
  const totals = { leaders: 0, acked: 0, crashes: 0, partitions: 0, snapshotsSent: 0, reads: 0, messages: 0 };
  let done = 0;
  const tty = stderr.isTTY === true;
  for (const voters of args.nodes) {
    for (let seed = args.start; seed < args.start + args.seeds; seed++) {
      const r = runSeed(seed, voters, { testingBugs }, args.verbose ? verboseLogger : undefined);
      done++;
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k];
      if (args.verbose) stdout.write(`seed ${seed} (${voters} voters): ${r.ok ? "ok" : "FAILED"}\n  options ${JSON.stringify(r.options)}\n  stats ${JSON.stringify(r.stats)}\n`);
      if (!r.ok) {
        failures.push(r);
        stderr.write(`${tty ? "\n" : ""}seed ${seed} (${voters} voters) FAILED at t=${r.time}: ${r.failure}\n  replay: ${replayCommand(seed, voters, args.bug)}\n`);
      }
      if (tty ? done % 10 === 0 || done === total : done % Math.max(1, Math.floor(total / 20)) === 0 || done === total) {
        stderr.write(bar(done, total, failures.length, started) + (tty ? "" : "\n"));
      }
    }
  }
  if (tty) stderr.write("\n");
  const secs = (performance.now() - started) / 1000;
  stdout.write(
    `sim: ${total} runs (seeds ${args.start}..${args.start + args.seeds - 1}, voters ${args.nodes.join(",")}${args.bug ? `, bug ${args.bug}` : ""}) in ${secs.toFixed(1)} s: ` +
      `${total - failures.length} passed, ${failures.length} failed\n` +
      `  totals: ${totals.leaders} leaders elected, ${totals.acked} proposals acknowledged, ${totals.reads} linearizable reads, ` +
      `${totals.crashes} crashes, ${totals.partitions} partition changes, ${totals.snapshotsSent} snapshots sent, ${totals.messages} messages\n`,
  );
  for (const f of failures) stdout.write(`  FAILED seed ${f.seed} (${f.voters} voters): ${replayCommand(f.seed, f.voters, args.bug)}\n`);
  exit(failures.length === 0 ? 0 : 1);
}

main();
