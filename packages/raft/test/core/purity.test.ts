// The core must stay pure: no I/O, clocks, timers or ambient randomness (there is no eslint in
// this repo, so this test is the enforcement). It scans every source file under src/core.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const CORE = join(import.meta.dirname, "../../src/core");

const FORBIDDEN_IMPORTS = [/^node:/, /^@grpc\//, /^level($|\/)/, /^pino($|\/)/, /^(fs|net|os|path|child_process|timers|crypto|dgram|http|https|worker_threads)$/];
const FORBIDDEN_CALLS = [/\bDate\.now\b/, /\bnew Date\b/, /\bMath\.random\b/, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bprocess\./, /\bperformance\.now\b/, /\bqueueMicrotask\b/];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith(".ts") ? [join(dir, d.name)] : [],
  );
}

/** Drops comments so prose about Date.now does not trip the scan. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

export function violations(text: string): string[] {
  const body = code(text);
  const out: string[] = [];
  for (const m of body.matchAll(/(?:import|export)[^"';]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|require\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (FORBIDDEN_IMPORTS.some((re) => re.test(spec))) out.push(`imports ${spec}`);
  }
  for (const re of FORBIDDEN_CALLS) if (re.test(body)) out.push(`uses ${re.source.replace(/\\b|\\/g, "")}`);
  return out;
}

describe("src/core purity", () => {
  it("finds the core's sources", () => {
    expect(sources(CORE).length).toBeGreaterThan(5);
  });

  it("imports no I/O modules and uses no clocks, timers or Math.random", () => {
    const bad: string[] = [];
    for (const f of sources(CORE)) for (const v of violations(readFileSync(f, "utf8"))) bad.push(`${f}: ${v}`);
    expect(bad).toEqual([]);
  });

  it("the scan itself flags what it must", () => {
    expect(violations(`import { readFile } from "node:fs";`)).toEqual(["imports node:fs"]);
    expect(violations(`import type { X } from "@grpc/grpc-js";`)).toEqual(["imports @grpc/grpc-js"]);
    expect(violations(`import { Level } from "level";`)).toEqual(["imports level"]);
    expect(violations(`import pino from "pino";`)).toEqual(["imports pino"]);
    expect(violations(`const t = Date.now();`)).toEqual(["uses Date.now"]);
    expect(violations(`const r = Math.random();`)).toEqual(["uses Math.random"]);
    expect(violations(`setTimeout(() => {}, 1);`)).toEqual(["uses setTimeout"]);
    expect(violations(`// Date.now is banned here\nconst x = 1;`)).toEqual([]);
  });
});
