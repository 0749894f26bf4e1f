#!/usr/bin/env node
// The `brook` command. Exit codes: 0 ok, 1 the cluster refused or failed, 2 usage error,
// 3 the cluster could not be reached.
import { CommanderError } from "commander";
import { ClusterUnreachableError } from "../cluster/cluster-client.js";
import { connectCluster } from "../cluster/sdk-client.js";
import { buildProgram, UsageError } from "../program.js";
import { RecordParseError } from "../format/records.js";

const program = buildProgram({
  connect: connectCluster,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
});

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    if (error instanceof UsageError || error instanceof RecordParseError) {
      process.stderr.write(`brook: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof ClusterUnreachableError) {
      process.stderr.write(`brook: ${error.message}\n`);
      process.exit(3);
    }
    process.stderr.write(`brook: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
