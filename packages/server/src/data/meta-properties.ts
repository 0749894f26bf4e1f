// meta.properties: the identity stamp of a data directory (as in Kafka KRaft), written at
// first start and checked at every start so a node never serves another cluster's or
// another node's data. Pure: format, parse, derive and compare; data-dir.ts does the I/O.

import { createHash } from "node:crypto";
import type { Voter } from "../config/resolve.js";

export interface MetaProperties {
  readonly version: 1;
  readonly clusterId: string;
  readonly nodeId: number;
}

export function formatMetaProperties(meta: MetaProperties): string {
  return [
    "# Written by brook at first start. Do not edit: it binds this directory to one cluster and one node.",
    `version=${meta.version}`,
    `cluster.id=${meta.clusterId}`,
    `node.id=${meta.nodeId}`,
    "",
  ].join("\n");
}

export function parseMetaProperties(text: string): MetaProperties | { error: string } {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq > 0) fields.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).trim());
  }
  const clusterId = fields.get("cluster.id");
  const nodeId = Number(fields.get("node.id"));
  if (fields.get("version") !== "1") return { error: `unsupported version "${fields.get("version") ?? ""}" (expected 1)` };
  if (!clusterId) return { error: "cluster.id is missing" };
  if (!Number.isInteger(nodeId)) return { error: "node.id is missing or not an integer" };
  return { version: 1, clusterId, nodeId };
}

/**
 * A cluster id every node of one cluster computes alike without a format step: a hash of
 * the voter set, rendered like Kafka's base64url UUIDs (22 chars). Clusters with the same
 * voter addresses get the same id; set cluster.id explicitly to tell such clusters apart.
 */
export function deriveClusterId(voters: readonly Voter[]): string {
  const canonical = [...voters].sort((a, b) => a.id - b.id).map((v) => `${v.id}@${v.host}:${v.port}`).join(",");
  return createHash("sha256").update(`brook-cluster:${canonical}`).digest().subarray(0, 16).toString("base64url");
}

/** What a start must do with the data directory's stamp; `refuse` carries the one line to log. */
export type MetaDecision = { readonly action: "write"; readonly meta: MetaProperties } | { readonly action: "accept"; readonly meta: MetaProperties } | { readonly action: "refuse"; readonly reason: string };

export function decideMeta(existing: MetaProperties | { error: string } | undefined, wanted: { clusterId: string; nodeId: number }, dataDir: string): MetaDecision {
  if (existing === undefined) return { action: "write", meta: { version: 1, ...wanted } };
  if ("error" in existing) {
    return { action: "refuse", reason: `${dataDir}/meta.properties is unreadable (${existing.error}); restore it from a backup, or move the directory away to start this node empty` };
  }
  if (existing.clusterId !== wanted.clusterId) {
    return {
      action: "refuse",
      reason: `${dataDir} belongs to cluster ${existing.clusterId}, but this node is configured for cluster ${wanted.clusterId}; point log.dirs at this cluster's data, set cluster.id=${existing.clusterId} if the voters changed on purpose, or move the directory away to start empty`,
    };
  }
  if (existing.nodeId !== wanted.nodeId) {
    return { action: "refuse", reason: `${dataDir} belongs to node ${existing.nodeId}, but node.id is ${wanted.nodeId}; give each node its own log.dirs` };
  }
  return { action: "accept", meta: existing };
}
