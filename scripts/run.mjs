#!/usr/bin/env node
// The one entry point a newcomer needs: `npm test` (install, build, every test) and
// `npm run cluster` (install, build, start a local three-node cluster). Only Node >= 20 and
// npm are assumed: pnpm itself is fetched through npx, pinned to the version in package.json.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { packageManager } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function step(title, command, args, options = {}) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`✖ ${title} failed after ${seconds}s (exit ${result.status ?? result.signal}).`);
    process.exit(result.status ?? 1);
  }
  console.log(`✔ ${title} (${seconds}s)`);
}

const pnpm = (title, args, options) => step(title, "npx", ["--yes", packageManager, ...args], options);

function installAndBuild() {
  const frozen = process.env.CI ? ["--frozen-lockfile"] : [];
  pnpm("install dependencies", ["install", ...frozen]);
  pnpm("build (generate proto code, compile TypeScript)", ["run", "build"]);
}

function summarize(reportPath) {
  if (!existsSync(reportPath)) return;
  const report = JSON.parse(readFileSync(reportPath, "utf8"));
  rmSync(reportPath, { force: true });
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`\ntests: ${report.numPassedTests} passed, ${report.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
}

const command = process.argv[2];
if (command === "test") {
  installAndBuild();
  const reportPath = join(root, ".vitest-report.json");
  const result = spawnSync("npx", ["--yes", packageManager, "exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${reportPath}`], { cwd: root, stdio: "inherit" });
  summarize(reportPath);
  process.exit(result.status ?? 1);
} else if (command === "build") {
  installAndBuild();
} else if (command === "cluster") {
  installAndBuild();
  // Ctrl-C reaches this process too: ignore it here and let cluster.mjs stop the nodes.
  process.on("SIGINT", () => {});
  const result = spawnSync(process.execPath, [join(root, "scripts", "cluster.mjs"), ...process.argv.slice(3)], { cwd: root, stdio: "inherit" });
  process.exit(result.status ?? 0);
} else {
  console.error("usage: node scripts/run.mjs test|build|cluster");
  process.exit(2);
}
