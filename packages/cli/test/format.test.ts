import { describe, expect, it } from "vitest";
import { DEFAULT_LINE_FORMAT, formatRecord, parseRecordLine } from "../src/format/records.js";
import { parseStartAt } from "../src/format/start-at.js";
import { renderTable } from "../src/format/table.js";
import { PerfStats, percentile, renderProgress, summaryRows } from "../src/perf/stats.js";

describe("parseRecordLine", () => {
  it("takes the whole line as the value by default", () => {
    expect(parseRecordLine("a:b", 1, DEFAULT_LINE_FORMAT)).toEqual({ value: "a:b" });
  });

  it("splits key and value at the first separator and adds constant headers", () => {
    const format = { ...DEFAULT_LINE_FORMAT, keySeparator: ":", headers: { source: "cli" } };
    expect(parseRecordLine("user-1:{\"a\":1}:x", 1, format)).toEqual({ key: "user-1", value: '{"a":1}:x', headers: { source: "cli" } });
    expect(() => parseRecordLine("novalue", 7, format)).toThrow('line 7: no key separator ":" in "novalue"');
  });

  it("parses Kafka console producer headers", () => {
    const format = { ...DEFAULT_LINE_FORMAT, parseHeaders: true, keySeparator: "\t" };
    expect(parseRecordLine("h1:v1,h2:v:2\tk\tv", 1, format)).toEqual({ key: "k", value: "v", headers: { h1: "v1", h2: "v:2" } });
    expect(() => parseRecordLine("k\tv", 2, { ...format, keySeparator: undefined as never })).toThrow(/line 2: header "k" is not key:value/);
    expect(() => parseRecordLine("no-tab", 3, format)).toThrow(/line 3: expected headers then "\\t"/);
  });
});

describe("formatRecord", () => {
  const record = { topic: "t", partition: 2, offset: 41, timestamp: Date.UTC(2026, 0, 31), key: "k", value: "v", headers: { h: "1" } };
  it("prints value, key-value or JSON with metadata", () => {
    expect(formatRecord(record, "value")).toBe("v");
    expect(formatRecord({ ...record, key: null }, "key-value", "=")).toBe("null=v");
    expect(JSON.parse(formatRecord(record, "json"))).toEqual({ topic: "t", partition: 2, offset: 41, timestamp: "2026-01-31T00:00:00.000Z", key: "k", value: "v", headers: { h: "1" } });
  });
});

describe("parseStartAt", () => {
  const now = Date.UTC(2026, 0, 31, 12);
  it("understands every way to say where to start", () => {
    expect(parseStartAt({}, now)).toEqual({ kind: "latest" });
    expect(parseStartAt({ fromBeginning: true }, now)).toEqual({ kind: "earliest" });
    expect(parseStartAt({ offset: "42" }, now)).toEqual({ kind: "offset", offset: 42 });
    expect(parseStartAt({ offset: "earliest" }, now)).toEqual({ kind: "earliest" });
    expect(parseStartAt({ fromTime: "-15m" }, now)).toEqual({ kind: "timestamp", timestampMs: now - 15 * 60_000 });
    expect(parseStartAt({ fromTime: "2026-01-31T00:00:00Z" }, now)).toEqual({ kind: "timestamp", timestampMs: Date.UTC(2026, 0, 31) });
    expect(parseStartAt({ fromTime: "1700000000000" }, now)).toEqual({ kind: "timestamp", timestampMs: 1_700_000_000_000 });
  });
  it("explains bad input", () => {
    expect(parseStartAt({ offset: "-1" }, now)).toEqual({ error: '--offset "-1": expected a non-negative integer, earliest or latest' });
    expect(parseStartAt({ fromTime: "yesterday" }, now)).toMatchObject({ error: expect.stringMatching(/^--from-time "yesterday": expected ISO-8601/) });
    expect(parseStartAt({ fromBeginning: true, offset: "1" }, now)).toEqual({ error: "choose one of --from-beginning, --offset" });
  });
});

describe("renderTable", () => {
  it("aligns text left and numbers right", () => {
    expect(renderTable(["TOPIC", "PARTITIONS"], [["orders", 12], ["a", 3]])).toBe("TOPIC   PARTITIONS\norders          12\na                3");
  });
});

describe("PerfStats", () => {
  it("computes throughput and nearest-rank percentiles", () => {
    const stats = new PerfStats(1000);
    for (let i = 1; i <= 100; i++) stats.record(1024 * 1024, i);
    stats.error();
    const s = stats.summary(3000);
    expect(s).toMatchObject({ records: 100, errors: 1, elapsedS: 2, recordsPerS: 50, mbPerS: 50 });
    expect(s.latencyMs).toMatchObject({ p50: 50, p95: 95, p99: 99, p999: 100, max: 100, avg: 50.5 });
    expect(percentile([], 0.5)).toBeNaN();
    expect(summaryRows(s).map(([k]) => k)).toContain("latency p99.9");
    expect(renderProgress(50, 100, s, 10)).toBe("[#####-----]  50% 50/100  50 rec/s  50.00 MB/s");
  });
});
