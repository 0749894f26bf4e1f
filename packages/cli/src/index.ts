// @brook/cli: the brook command line for people: topics, produce, consume, groups, cluster,
// perf. The binary is dist/bin/brook.js; this entry exposes the program for embedding/tests.
export { buildProgram, DEFAULT_BOOTSTRAP, UsageError, type CliDeps } from "./program.js";
export { ClusterUnreachableError, type ClusterClient, type StartAt } from "./cluster/cluster-client.js";
