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

function readReport(reportPath) {
  if (!existsSync(reportPath)) return undefined;
  const report = JSON.parse(readFileSync(reportPath, "utf8"));
  rmSync(reportPath, { force: true });
  return { passed: report.numPassedTests, failed: report.numFailedTests, skipped: report.numPendingTests + report.numTodoTests };
}

// The end-to-end suite needs a Docker engine, which setup-docker.sh installs from Debian's
// packages: that takes root and apt. Elsewhere (a laptop without root) it is skipped with a
// loud line saying so; CI always runs it. BROOK_E2E=0 skips it on purpose.
function e2eRunnable() {
  if (process.env.BROOK_E2E === "0") return "BROOK_E2E=0";
  if (process.env.CI) return undefined;
  if (process.platform !== "linux" || process.getuid?.() !== 0) return "not root on Linux (Docker cannot be installed here)";
  if (spawnSync("sh", ["-c", "command -v apt-get || command -v docker"]).status !== 0) return "neither apt-get nor docker is available";
  return undefined;
}

const command = process.argv[2];
if (command === "test") {
  installAndBuild();
  // vitest strips types without checking them: a test can pass while calling what does not exist.
  pnpm("type-check the tests (tsconfig.tests.json, test-e2e)", ["run", "typecheck"]);
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const add = (r) => { if (r) for (const k of Object.keys(totals)) totals[k] += r[k]; };
  const reportPath = join(root, ".vitest-report.json");
  console.log("\n▶ unit, simulation and integration tests (vitest)");
  const unit = spawnSync("npx", ["--yes", packageManager, "exec", "vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${reportPath}`], { cwd: root, stdio: "inherit" });
  add(readReport(reportPath));
  let status = unit.status ?? 1;
  const skipE2e = e2eRunnable();
  if (skipE2e) {
    console.log(`\n⚠ end-to-end Docker suite skipped: ${skipE2e}. Run it with: bash test-e2e/run.sh`);
  } else {
    console.log("\n▶ end-to-end Docker suite (test-e2e/run.sh: Docker engine, local base image, brook image, testcontainers)");
    const e2eReport = join(root, ".vitest-e2e-report.json");
    const e2e = spawnSync("bash", ["test-e2e/run.sh", "--reporter=default", "--reporter=json", `--outputFile.json=${e2eReport}`], { cwd: root, stdio: "inherit" });
    add(readReport(e2eReport));
    if (e2e.status !== 0) status = e2e.status ?? 1;
  }
  console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed` + (totals.skipped ? `, ${totals.skipped} skipped` : ""));
  process.exit(status);
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
