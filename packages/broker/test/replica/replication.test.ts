// Broker-level integration: three real Broker instances in this process, real gRPC on
// loopback, real partition logs in temp dirs, the controller replaced at the ControllerChannel
// boundary by ScriptedController (the product controller is tested in its own package and in
// the multi-process test). Checks ISR replication, acks=all, leader failover with truncation,
// rejoin through AlterPartition, and typed errors for bad input.
import { Client, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../src/index.js";
import { decodeRecords, encodeBatch } from "../../src/harness/batches.js";
import { ScriptedController } from "../support/scripted_controller.js";
import { TestBrokers } from "../support/test_brokers.js";
import { until } from "../support/until.js";

describe("ISR replication between three brokers", () => {
  const ctrl = new ScriptedController();
  const fleet = new TestBrokers();
  const { brokers, clients } = fleet;

  async function startBroker(id: number): Promise<void> {
    const b = await fleet.start(id, {
      channel: ctrl.channel(),
      config: { replicaLagTimeMaxMs: 1_500, brokerHeartbeatIntervalMs: 100, replicaFetchWaitMaxMs: 200 },
    });
    await until(`broker ${id} unfenced`, () => b.status().state === "running");
  }

  const leaderOf = (topic: string, p = 0) => ctrl.current().topics.get(topic)!.partitions.get(p)!;

  beforeAll(async () => {
    await fleet.open("brook-repl-");
    for (const id of [1, 2, 3]) await startBroker(id);
    ctrl.createTopic("t", [[1, 2, 3]], { "min.insync.replicas": "2" });
    await until("leader elected", () => brokers.get(1)!.status().leaderPartitions === 1);
  });

  afterAll(async () => {
    await fleet.close({ tolerateShutdownErrors: false });
  });

  const acked: string[] = [];
  let seq = 0;
  async function produceTo(leader: number, n: number): Promise<number> {
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const value = `v${seq++}`;
      const res = await clients.get(leader)!.produce("t", 0, encodeBatch([Buffer.from(value)]), -1);
      const pr = res.topics[0]!.partitions[0]!;
      if (pr.errorCode === Code.NONE) {
        acked.push(value);
        ok++;
      }
    }
    return ok;
  }

  async function readAll(leader: number): Promise<string[]> {
    const out: string[] = [];
    let offset = 0;
    for (;;) {
      const r = (await clients.get(leader)!.fetch("t", 0, offset)).topics[0]!.partitions[0]!;
      expect(r.errorCode).toBe(Code.NONE);
      const recs = decodeRecords(r.records);
      if (recs.length === 0) return out;
      for (const rec of recs) if (rec.offset >= offset) out.push(rec.value.toString());
      offset = recs[recs.length - 1]!.offset + 1;
    }
  }

  it("acks=all completes once every ISR member has the batch, and followers learn the HW", async () => {
    expect(await produceTo(1, 20)).toBe(20);
    expect(await readAll(1)).toEqual(acked);
    const hw = (await clients.get(1)!.fetch("t", 0, 0)).topics[0]!.partitions[0]!.highWatermark;
    expect(hw).toBe(20);
    for (const id of [2, 3]) await until(`follower ${id} learns HW`, () => brokers.get(id)!.replicas.partition("t", 0)?.log.highWatermark() === 20);
  });

  it("ProduceStream answers many requests on one stream by correlation id, in append order, with typed errors per request", async () => {
    const c = clients.get(1)!;
    const values = Array.from({ length: 30 }, () => `s${seq++}`);
    // All in flight at once on the one stream: the broker appends them in arrival order.
    const answers = await Promise.all(values.map((v) => c.produceStreamed("t", [{ partition: 0, records: encodeBatch([Buffer.from(v)]) }], -1)));
    const offsets = answers.map((r) => {
      expect(r.topics[0]!.partitions[0]!.errorCode).toBe(Code.NONE);
      return r.topics[0]!.partitions[0]!.baseOffset;
    });
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe(offsets[i - 1]! + 1);
    acked.push(...values);
    // Bad input on the stream is a per-partition error; the stream keeps serving.
    const corrupt = encodeBatch([Buffer.from("x")]);
    corrupt[corrupt.length - 1]! ^= 0xff;
    const [bad, unknown, good] = await Promise.all([
      c.produceStreamed("t", [{ partition: 0, records: corrupt }], -1),
      c.produceStreamed("nope", [{ partition: 0, records: encodeBatch([Buffer.from("x")]) }], -1),
      c.produceStreamed("t", [{ partition: 0, records: encodeBatch([Buffer.from(`s${seq}`)]) }], -1),
    ]);
    expect(bad.topics[0]!.partitions[0]!.errorCode).toBe(Code.CORRUPT_MESSAGE);
    expect(unknown.topics[0]!.partitions[0]!.errorCode).toBe(Code.UNKNOWN_TOPIC_OR_PARTITION);
    expect(good.topics[0]!.partitions[0]!.errorCode).toBe(Code.NONE);
    acked.push(`s${seq++}`);
    const toFollower = (await clients.get(2)!.produceStreamed("t", [{ partition: 0, records: encodeBatch([Buffer.from("x")]) }], -1)).topics[0]!.partitions[0]!;
    expect(toFollower.errorCode).toBe(Code.NOT_LEADER_OR_FOLLOWER);
    expect(await readAll(1)).toEqual(acked);
  });

  it("rejects bad input with typed errors and leaves the log intact", async () => {
    const c = clients.get(1)!;
    const corrupt = encodeBatch([Buffer.from("x")]);
    corrupt[corrupt.length - 1]! ^= 0xff;
    expect((await c.produce("t", 0, corrupt)).topics[0]!.partitions[0]!.errorCode).toBe(Code.CORRUPT_MESSAGE);
    expect((await c.produce("t", 0, Buffer.from("short"))).topics[0]!.partitions[0]!.errorCode).toBe(Code.CORRUPT_MESSAGE);
    expect((await c.produce("t", 0, encodeBatch([Buffer.from("x")]), 5)).topics[0]!.partitions[0]!.errorCode).toBe(Code.INVALID_REQUIRED_ACKS);
    expect((await c.produce("nope", 0, encodeBatch([Buffer.from("x")]))).topics[0]!.partitions[0]!.errorCode).toBe(Code.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await c.produce("t", 9, encodeBatch([Buffer.from("x")]))).topics[0]!.partitions[0]!.errorCode).toBe(Code.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await c.produce("bad/name", 0, encodeBatch([Buffer.from("x")]))).topics[0]!.partitions[0]!.errorCode).toBe(Code.INVALID_TOPIC_EXCEPTION);
    const toFollower = (await clients.get(2)!.produce("t", 0, encodeBatch([Buffer.from("x")]))).topics[0]!.partitions[0]!;
    expect(toFollower.errorCode).toBe(Code.NOT_LEADER_OR_FOLLOWER);
    expect(toFollower.currentLeader).toBe(1);
    const beyond = (await c.fetch("t", 0, 1_000_000)).topics[0]!.partitions[0]!;
    expect(beyond.errorCode).toBe(Code.OFFSET_OUT_OF_RANGE);
    const absurd = (await c.fetch("t", 0, 0, { maxBytes: 2 ** 31 - 1 })).topics[0]!.partitions[0]!;
    expect(absurd.errorCode).toBe(Code.NONE);
    expect(await readAll(1)).toEqual(acked);
  });

  it("Metadata names brokers, leader, epoch, replicas and ISR", async () => {
    const md = await clients.get(2)!.metadata(["t", "missing"]);
    expect(md.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    const t = md.topics.find((x) => x.name === "t")!;
    expect(t.errorCode).toBe(Code.NONE);
    expect(t.partitions[0]).toMatchObject({ partition: 0, leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] });
    expect(md.topics.find((x) => x.name === "missing")!.errorCode).toBe(Code.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it("a long-polling fetch at the HW returns as soon as new data is committed", async () => {
    const c = clients.get(1)!;
    const hw = (await c.fetch("t", 0, 0)).topics[0]!.partitions[0]!.highWatermark;
    const started = Date.now();
    const pending = c.fetch("t", 0, hw, { maxWaitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await produceTo(1, 1)).toBe(1);
    const r = (await pending).topics[0]!.partitions[0]!;
    expect(decodeRecords(r.records).map((x) => x.value.toString())).toEqual([acked[acked.length - 1]]);
    expect(Date.now() - started).toBeLessThan(15_000); // woke on the commit, not at max wait
  });

  it("malformed protobuf gets an error status and the broker keeps serving", async () => {
    const raw = new Client(`127.0.0.1:${brokers.get(1)!.port}`, credentials.createInsecure());
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x01]); // a length past the end
    const err = await new Promise<Error | null>((resolve) =>
      raw.makeUnaryRequest(
        "/brook.v1.Broker/Produce",
        (b: Buffer) => b,
        (b: Buffer) => b,
        garbage,
        (e) => resolve(e),
      ),
    );
    raw.close();
    expect(err).not.toBeNull();
    expect(await produceTo(1, 1)).toBe(1);
    expect(await readAll(1)).toEqual(acked);
  });

  it("ListOffsets answers earliest, latest (the HW) and by timestamp", async () => {
    const c = clients.get(1)!;
    expect((await c.listOffsets("t", 0, -2)).topics[0]!.partitions[0]!.offset).toBe(0);
    expect((await c.listOffsets("t", 0, -1)).topics[0]!.partitions[0]!.offset).toBe(acked.length);
    expect((await c.listOffsets("t", 0, 0)).topics[0]!.partitions[0]!.offset).toBe(0);
    expect((await c.listOffsets("t", 0, Date.now() + 3_600_000)).topics[0]!.partitions[0]!.offset).toBe(-1);
  });

  it("InitProducerId hands out ids, and a retried idempotent batch is answered with its original offset", async () => {
    const c = clients.get(1)!;
    const pid = await c.initProducerId();
    expect(pid.error?.code ?? 0).toBe(0);
    expect(pid.producerId).toBeGreaterThanOrEqual(0);
    const value = `v${seq++}`;
    const batch = () => encodeBatch([Buffer.from(value)], { producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: 0 });
    const first = (await c.produce("t", 0, batch())).topics[0]!.partitions[0]!;
    expect(first.errorCode).toBe(Code.NONE);
    acked.push(value);
    const retry = (await c.produce("t", 0, batch())).topics[0]!.partitions[0]!;
    expect(retry.errorCode).toBe(Code.NONE);
    expect(retry.baseOffset).toBe(first.baseOffset);
    const gap = encodeBatch([Buffer.from("gap")], { producerId: pid.producerId, producerEpoch: pid.producerEpoch, baseSequence: 5 });
    expect((await c.produce("t", 0, gap)).topics[0]!.partitions[0]!.errorCode).toBe(Code.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await readAll(1)).toEqual(acked);
  });

  it("a follower that stops fetching leaves the ISR through AlterPartition; acks=all goes on with min.insync=2", async () => {
    await brokers.get(3)!.shutdown({ controlled: false }); // crash-like: no controlled shutdown
    brokers.delete(3);
    await until("ISR shrinks to [1,2]", () => leaderOf("t").isr.length === 2);
    expect(leaderOf("t").isr).toEqual([1, 2]);
    expect(ctrl.alterLog.some((a) => a.ok && a.req.newIsr.join() === "1,2")).toBe(true);
    expect(await produceTo(1, 10)).toBe(10);
  });

  it("the restarted follower catches up and rejoins the ISR", async () => {
    await startBroker(3);
    await until("ISR back to three", () => leaderOf("t").isr.length === 3, 30_000);
    expect(await produceTo(1, 5)).toBe(5);
  });

  it("after the leader crashes a new leader from the ISR serves every acknowledged record once, in order", async () => {
    await brokers.get(1)!.shutdown({ controlled: false });
    brokers.delete(1);
    ctrl.fence(1);
    const newLeader = leaderOf("t").leader;
    expect([2, 3]).toContain(newLeader);
    await until("new leader serving", () => brokers.get(newLeader)!.replicas.partition("t", 0)?.role.kind === "leader");
    expect(await until("produce on new leader", async () => (await produceTo(newLeader, 1)) === 1)).toBe(true);
    expect(await produceTo(newLeader, 10)).toBe(10);
    expect(await readAll(newLeader)).toEqual(acked);
  });

  it("acks=all is refused with NOT_ENOUGH_REPLICAS when the ISR is below min.insync.replicas", async () => {
    const leader = leaderOf("t").leader;
    const other = leader === 2 ? 3 : 2;
    await brokers.get(other)!.shutdown({ controlled: false });
    brokers.delete(other);
    ctrl.fence(other);
    await until("ISR of one", () => leaderOf("t").isr.length === 1);
    await until("leader sees ISR of one", () => {
      const p = brokers.get(leader)!.replicas.partition("t", 0);
      return p?.role.kind === "leader" && p.role.state.isr.length === 1;
    });
    const r = (await clients.get(leader)!.produce("t", 0, encodeBatch([Buffer.from("no")]))).topics[0]!.partitions[0]!;
    expect(r.errorCode).toBe(Code.NOT_ENOUGH_REPLICAS);
    const one = (await clients.get(leader)!.produce("t", 0, encodeBatch([Buffer.from("acks1")]), 1)).topics[0]!.partitions[0]!;
    expect(one.errorCode).toBe(Code.NONE);
  });
});
