// Data-driven scenario tests in the style of etcd's interaction tests: each file in
// test/testdata is a list of stanzas "command / ---- / expected output", run against RawNodes
// on the unit-test Harness. Output is what the nodes logged (INFO/WARN) during the command plus
// the command's own report. To regenerate after an intended change:
//   REWRITE_TESTDATA=1 npx vitest run --project raft test/core/interaction
// and only commit the diff if you understand what caused it.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EntryType, type NodeId } from "../../src/core/types.js";
import { Harness, data, text } from "./harness.js";

const DIR = join(import.meta.dirname, "../testdata");
const ROLE = ["Follower", "PreCandidate", "Candidate", "Leader", "Observer"];

interface Stanza {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string;
}

function parse(file: string): Stanza[] {
  const out: Stanza[] = [];
  for (const block of readFileSync(file, "utf8").split(/\n\s*\n/)) {
    const all = block.split("\n").filter((l) => l.trim() !== "");
    const comments = all.filter((l) => l.startsWith("#"));
    const lines = all.filter((l) => !l.startsWith("#"));
    if (lines.length === 0) continue;
    const sep = lines.indexOf("----");
    if (sep !== 1) throw new Error(`${file}: malformed stanza:\n${block}`);
    out.push({ comments, command: lines[0]!.trim(), expected: lines.slice(2).join("\n").trim() });
  }
  return out;
}

class Driver {
  h = new Harness([1]);
  #seen = new Map<NodeId, number>();

  run(command: string): string {
    const [cmd, ...args] = command.split(/\s+/);
    const kv = Object.fromEntries(args.filter((a) => a.includes("=")).map((a) => a.split("=") as [string, string]));
    const pos = args.filter((a) => !a.includes("="));
    const ids = (): NodeId[] => (pos[0] === "all" || pos[0] === undefined ? [...this.h.nodes.keys()] : pos[0].split(",").map(Number));
    let report: string[] = [];
    switch (cmd) {
      case "add-nodes": {
        const voters = Array.from({ length: Number(kv.voters ?? 3) }, (_, i) => i + 1);
        const observers = Array.from({ length: Number(kv.observers ?? 0) }, (_, i) => voters.length + i + 1);
        this.h = new Harness(voters, observers, { preVote: kv.prevote !== "false", checkQuorum: kv.checkquorum !== "false" });
        this.#seen.clear();
        report = [`voters=(${voters.join(",")}) observers=(${observers.join(",")})`];
        break;
      }
      case "campaign":
        for (const id of ids()) this.h.get(id).node.campaign();
        break;
      case "stabilize":
        this.h.stabilize();
        break;
      case "tick":
        for (let i = 0; i < Number(pos[1] ?? 1); i++) for (const id of ids()) this.h.get(id).node.tick();
        break;
      case "propose":
        try {
          const p = this.h.get(Number(pos[0])).node.propose(data(pos[1] ?? ""));
          report = [`accepted index=${p.index} term=${p.term}`];
        } catch (e) {
          report = [`${(e as Error).name}: ${(e as Error).message}`];
        }
        break;
      case "isolate":
        for (const id of ids()) this.h.isolate(id);
        break;
      case "heal":
        this.h.heal();
        break;
      case "transfer":
        this.h.get(Number(pos[0])).node.transferLeader(Number(pos[1]));
        break;
      case "read":
        this.h.get(Number(pos[0])).node.readIndex(data(pos[1] ?? ""));
        break;
      case "reads":
        for (const id of ids()) report.push(`${id}: ${this.h.get(id).reads.map((r) => `${text({ data: r.context } as never)}@${r.index}`).join(" ") || "none"}`);
        break;
      case "restart":
        for (const id of ids()) this.h.restart(id);
        break;
      case "compact":
        for (const id of ids()) {
          const n = this.h.get(id);
          const applied = n.node.status().applied;
          n.storage.createSnapshot(applied, data(`state@${applied}`));
          n.storage.compact(applied);
          report.push(`${id}: snapshot at ${applied}, first index ${n.storage.firstIndex()}`);
        }
        break;
      case "status":
        for (const id of ids()) {
          const s = this.h.get(id).node.status();
          report.push(`${id}: ${ROLE[s.role]} term=${s.term} vote=${s.vote} lead=${s.lead} commit=${s.commit} applied=${s.applied} last=${s.lastIndex}`);
        }
        break;
      case "log":
        for (const id of ids()) {
          const s = this.h.get(id).storage;
          const ents = s.lastIndex() >= s.firstIndex() ? s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER) : [];
          const shown = ents.map((e) => `${e.index}/${e.term}${e.type === EntryType.Empty ? "" : `:${text(e)}`}`);
          report.push(`${id}: ${s.snapshot().meta.index > 0 ? `[snapshot ${s.snapshot().meta.index}] ` : ""}${shown.join(" ") || "empty"}`);
        }
        break;
      case "applied":
        for (const id of ids()) report.push(`${id}: ${this.h.get(id).applied.filter((e) => e.type === EntryType.Normal).map(text).join(" ") || "none"}`);
        break;
      default:
        throw new Error(`unknown command ${cmd}`);
    }
    const logged: string[] = [];
    for (const [id, n] of this.h.nodes) {
      const from = this.#seen.get(id) ?? 0;
      for (const l of n.logger.lines.slice(from)) if (!l.startsWith("DEBUG")) logged.push(l);
      this.#seen.set(id, n.logger.lines.length);
    }
    const out = [...logged, ...report];
    return out.length === 0 ? "ok" : out.join("\n");
  }
}

const files = readdirSync(DIR).filter((f) => f.endsWith(".txt")).sort();

describe("interaction testdata", () => {
  it("has files", () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const f of files) {
    it(f, () => {
      const path = join(DIR, f);
      const d = new Driver();
      const stanzas = parse(path);
      const actual = stanzas.map((s) => ({ ...s, got: d.run(s.command) }));
      if (process.env.REWRITE_TESTDATA === "1") {
        writeFileSync(path, actual.map((a) => `${a.comments.map((c) => `${c}\n`).join("")}${a.command}\n----\n${a.got}\n`).join("\n"));
        return;
      }
      for (const a of actual) expect(`${a.command}\n${a.got}`).toBe(`${a.command}\n${a.expected}`);
    });
  }
});

