// @brook/server: the brook node process: config, roles, wiring, metrics, health.
// The binary is dist/bin/brook.js; this entry exposes the pieces for embedding a node in a
// test or another process, and the metric hooks roles feed.
export { resolveConfig, ENV_TO_KEY, type NodeConfig, type Listener, type Voter, type HostPort, type Role, type TopicDefaults, type ConfigProblem, type ResolveResult } from "./config/resolve.js";
export { CONFIG_KEYS, envName, type KeySpec } from "./config/schema.js";
export { parseArgs, parseConfigFile, parseEnv, parseProperties, parseJsonConfig, ConfigSyntaxError, type RawConfig, type RawEntry } from "./config/sources.js";
export { deriveClusterId } from "./data/meta-properties.js";
export { openDataDir, dataDirLayout, DataDirError, type OpenedDataDir, type DataDirLayout } from "./data/data-dir.js";
export { PrometheusNodeMetrics, type NodeMetrics } from "./http/metrics.js";
export type { ReadinessCheck, ReadinessReport } from "./http/readiness.js";
export { createNodeLogger, type Logger } from "./logger.js";
export { BrookNode, type BrookNodeOptions } from "./node.js";
export { DEFAULT_ROLE_FACTORIES } from "./roles/default-roles.js";
export { unavailableRole, type NodeRole, type RoleContext, type RoleFactory } from "./roles/role.js";
