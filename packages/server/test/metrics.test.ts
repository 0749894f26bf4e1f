// /metrics of three real `brook` processes (built dist/bin/brook.js, ports 5000-5032) fed by
// the broker's metrics hook: per-topic bytes and records in and out after a produce and a
// group consume, the coordinator's group count and lag (computed at scrape time), and an ISR
// shrink counted by a leader once a follower is SIGKILLed.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Brook, stringSerde } from "@brook/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "bin", "brook.js");
const IDS = [1, 2, 3] as const;
const clientPort = (id: number) => 5000 + 10 * id;
const controllerPort = (id: number) => 5001 + 10 * id;
const httpPort = (id: number) => 5002 + 10 * id;
const TOPIC = "metered";
const GROUP = "metered-readers";

const nodes = new Map<number, ChildProcess>();
const output = new Map<number, string>();
let dir = "";
let brook: Brook | undefined;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${[...output].map(([id, o]) => `--- node ${id}\n${o.slice(-4000)}`).join("\n")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const scrape = async (id: number): Promise<string> => (await fetch(`http://127.0.0.1:${httpPort(id)}/metrics`)).text();

/** Sum over every sample of `name` whose labels include all of `labels`. */
function sum(text: string, name: string, labels: Record<string, string>): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => m[2]!.includes(`${k}="${v}"`));
    if (has) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

async function sumOver(ids: readonly number[], name: string, labels: Record<string, string>): Promise<number | undefined> {
  let total: number | undefined;
  for (const id of ids) {
    const v = sum(await scrape(id), name, labels);
    if (v !== undefined) total = (total ?? 0) + v;
  }
  return total;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "brook-metrics-"));
  const voters = IDS.map((id) => `${id}@127.0.0.1:${controllerPort(id)}`).join(",");
  for (const id of IDS) {
    const child = spawn(
      process.execPath,
      [
        BIN,
        `--node.id=${id}`,
        `--controller.quorum.voters=${voters}`,
        `--listeners=PLAINTEXT://127.0.0.1:${clientPort(id)},CONTROLLER://127.0.0.1:${controllerPort(id)}`,
        `--http.listener=127.0.0.1:${httpPort(id)}`,
        `--log.dirs=${dir}/node${id}`,
        "--offsets.topic.num.partitions=3",
      ],
      { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    output.set(id, "");
    child.stdout!.on("data", (c: Buffer) => output.set(id, output.get(id)! + c.toString()));
    child.stderr!.on("data", (c: Buffer) => output.set(id, output.get(id)! + c.toString()));
    nodes.set(id, child);
  }
  for (const id of IDS) await until(`node ${id} ready`, async () => ((await (await fetch(`http://127.0.0.1:${httpPort(id)}/readyz`)).json()) as { ready: boolean }).ready);
  brook = new Brook({ brokers: IDS.map((id) => `127.0.0.1:${clientPort(id)}`), clientId: "metrics-test" });
  await brook.admin().createTopics([{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }]);
}, 150_000);

afterAll(async () => {
  await brook?.close().catch(() => undefined);
  for (const child of nodes.values()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("/metrics on a three-node cluster", () => {
  it("counts bytes and records in and out per topic, and reports the group's count and lag", async () => {
    const producer = brook!.producer({ keySerializer: stringSerde, valueSerializer: stringSerde });
    const first = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `value-${i}` }));
    await producer.send({ topic: TOPIC, messages: first });

    await until("bytes in counted", async () => ((await sumOver(IDS, "brook_bytes_in_total", { topic: TOPIC })) ?? 0) > 0);
    expect(await sumOver(IDS, "brook_produce_records_total", { topic: TOPIC })).toBe(30);
    // The acks=all produce waited on durable writes (default flush mode) on the leader and followers.
    expect((await sumOver(IDS, "brook_log_durable_write_seconds_count", {})) ?? 0).toBeGreaterThan(0);
    expect((await sumOver(IDS, "brook_log_durable_write_seconds_sum", {})) ?? 0).toBeGreaterThan(0);

    const consumer = brook!.consumer({ groupId: GROUP, keyDeserializer: stringSerde, valueDeserializer: stringSerde, autoOffsetReset: "earliest", autoCommit: false });
    consumer.subscribe([TOPIC]);
    let seen = 0;
    await consumer.run({
      eachMessage: async () => {
        seen++;
      },
    });
    await until("the group consumed every record", async () => seen >= 30);
    await consumer.commit();
    await consumer.close();

    expect((await sumOver(IDS, "brook_bytes_out_total", { topic: TOPIC })) ?? 0).toBeGreaterThan(0);
    expect((await sumOver(IDS, "brook_fetch_records_total", { topic: TOPIC })) ?? 0).toBeGreaterThanOrEqual(30);

    // Five more records after the group's commit: its lag over the topic's partitions is five.
    await producer.send({ topic: TOPIC, messages: first.slice(0, 5) });
    await until("the group's lag reaches 5", async () => (await sumOver(IDS, "brook_consumer_group_lag", { group: GROUP, topic: TOPIC })) === 5);
    expect((await sumOver(IDS, "brook_consumer_groups", {})) ?? 0).toBeGreaterThanOrEqual(1);
    expect(await sumOver(IDS, "brook_produce_records_total", { topic: TOPIC })).toBe(35);
  }, 150_000);

  it("reports requests per API, the quorum's term, commit index and leader, one active controller and no offline partitions", async () => {
    expect((await sumOver(IDS, "brook_requests_total", { api: "Broker/Produce", status: "OK" })) ?? 0).toBeGreaterThan(0);
    expect((await sumOver(IDS, "brook_request_duration_seconds_count", { api: "Broker/Fetch" })) ?? 0).toBeGreaterThan(0);
    const texts = await Promise.all(IDS.map(scrape));
    expect(texts.map((t) => sum(t, "brook_controller_active", {})).reduce((a, b) => a! + b!, 0)).toBe(1);
    const leaders = new Set(texts.map((t) => sum(t, "brook_raft_leader_id", {})));
    expect(leaders.size).toBe(1);
    expect(IDS).toContain([...leaders][0]);
    for (const t of texts) {
      expect(sum(t, "brook_raft_term", {}) ?? 0).toBeGreaterThanOrEqual(1);
      expect(sum(t, "brook_raft_commit_index", {}) ?? 0).toBeGreaterThan(0);
      expect(sum(t, "brook_offline_partitions", {})).toBe(0);
    }
  }, 60_000);

  it("counts an ISR shrink at the leader after a follower is SIGKILLed", async () => {
    const [topic] = await brook!.admin().describeTopics([TOPIC]);
    const p0 = topic!.partitions.find((p) => p.partition === 0)!;
    const victim = p0.replicas.find((id) => id !== p0.leader)!;
    const survivors = IDS.filter((id) => id !== victim);
    const before = (await sumOver(survivors, "brook_isr_shrinks_total", { topic: TOPIC })) ?? 0;
    const child = nodes.get(victim)!;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    await until("an ISR shrink counted", async () => ((await sumOver(survivors, "brook_isr_shrinks_total", { topic: TOPIC })) ?? 0) > before, 60_000);
    await until("the partitions it followed reported under-replicated", async () => ((await sumOver(survivors, "brook_under_replicated_partitions", {})) ?? 0) > 0, 60_000);
  }, 120_000);
});
