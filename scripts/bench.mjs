#!/usr/bin/env node
// `pnpm bench [filter]`: builds, then runs every benchmark in packages/*/dist/bench/*.js one
// after another (each is a standalone program that prints its own figures and exits).
// Benchmarks live in packages/<pkg>/src/bench/<name>.ts. Timings belong here, never in tests.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const filter = process.argv[2] ?? "";
const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);

const benches = [];
for (const pkg of readdirSync(join(root, "packages"))) {
  const dir = join(root, "packages", pkg, "dist", "bench");
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir).sort()) {
    if (file.endsWith(".js") && `${pkg}/${file}`.includes(filter)) benches.push({ name: `${pkg}/${file.replace(/\.js$/, "")}`, path: join(dir, file) });
  }
}
if (benches.length === 0) {
  console.error(`bench: nothing matches "${filter}"`);
  process.exit(1);
}
let failed = 0;
for (const bench of benches) {
  console.log(`\n=== ${bench.name} ===`);
  const result = spawnSync(process.execPath, [bench.path], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    failed++;
    console.error(`bench ${bench.name} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed ? 1 : 0);
