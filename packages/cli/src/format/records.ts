// Parsing records typed or piped in (`brook produce`) and printing records read
// (`brook consume`). Pure.
//
// Input line format, as Kafka's console producer: with --parse-headers a line starts with
// `h1:v1,h2:v2` and a tab; with --key-separator SEP the rest is `key SEP value`; otherwise
// the whole line is the value.

import type { InRecord, OutRecord } from "../cluster/cluster-client.js";

export interface LineFormat {
  readonly keySeparator?: string;
  readonly parseHeaders: boolean;
  readonly headersDelimiter: string;
  readonly headersSeparator: string;
  readonly headerKeySeparator: string;
  /** Headers added to every record (`--header k=v`). */
  readonly headers: Readonly<Record<string, string>>;
}

export const DEFAULT_LINE_FORMAT: LineFormat = { parseHeaders: false, headersDelimiter: "\t", headersSeparator: ",", headerKeySeparator: ":", headers: {} };

export class RecordParseError extends Error {
  override readonly name = "RecordParseError";
}

export function parseRecordLine(line: string, lineNo: number, format: LineFormat): OutRecord {
  let rest = line;
  const headers: Record<string, string> = { ...format.headers };
  if (format.parseHeaders) {
    const cut = rest.indexOf(format.headersDelimiter);
    if (cut < 0) throw new RecordParseError(`line ${lineNo}: expected headers then ${JSON.stringify(format.headersDelimiter)} (--parse-headers)`);
    for (const pair of rest.slice(0, cut).split(format.headersSeparator).filter((p) => p !== "")) {
      const eq = pair.indexOf(format.headerKeySeparator);
      if (eq <= 0) throw new RecordParseError(`line ${lineNo}: header ${JSON.stringify(pair)} is not key${format.headerKeySeparator}value`);
      headers[pair.slice(0, eq)] = pair.slice(eq + format.headerKeySeparator.length);
    }
    rest = rest.slice(cut + format.headersDelimiter.length);
  }
  const withHeaders = Object.keys(headers).length > 0 ? { headers } : {};
  if (format.keySeparator === undefined) return { value: rest, ...withHeaders };
  const cut = rest.indexOf(format.keySeparator);
  if (cut < 0) throw new RecordParseError(`line ${lineNo}: no key separator ${JSON.stringify(format.keySeparator)} in ${JSON.stringify(rest.slice(0, 60))}`);
  return { key: rest.slice(0, cut), value: rest.slice(cut + format.keySeparator.length), ...withHeaders };
}

export type OutputFormat = "value" | "key-value" | "json";

export function formatRecord(record: InRecord, format: OutputFormat, keySeparator = "\t"): string {
  switch (format) {
    case "value":
      return record.value ?? "null";
    case "key-value":
      return `${record.key ?? "null"}${keySeparator}${record.value ?? "null"}`;
    case "json":
      return JSON.stringify({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: new Date(record.timestamp).toISOString(),
        key: record.key,
        value: record.value,
        headers: record.headers,
      });
  }
}
