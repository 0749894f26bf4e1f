// A failed log directory against the product controller (one controller-node process, spawned
// from packages/controller/dist) and three in-process brokers on real files: broker 1's writes
// start failing with ENOSPC (the log's file seam). It never acknowledges the batch it could not
// write, takes every replica on the directory offline, reports the directory on its heartbeat;
// the controller fences it, elects other leaders and drops it from every ISR. Broker 1 stays
// up (fenced: /readyz would be false), and every record acknowledged before the failure is
// read back, in order, from the new leaders.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pickFreePorts } from "@brook/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Broker, Code } from "../../src/index.js";
import { decodeRecords, encodeBatch } from "../../src/harness/batches.js";
import { CONTROLLER_BIN } from "../../src/harness/local_cluster.js";
import { ControllerLink } from "../../src/lifecycle/controller_link.js";
import { fullDiskIo } from "../log/helpers.js";
import { TestBrokers, testLogger as logger } from "../support/test_brokers.js";
import { until } from "../support/until.js";

const PARTITIONS = 3;

describe("a failed log directory, with the product controller", () => {
  const fleet = new TestBrokers();
  const { brokers, clients } = fleet;
  const disk = { failing: false };
  let controller: ChildProcess | undefined;
  let fatal: unknown = null;

  beforeAll(async () => {
    if (!existsSync(CONTROLLER_BIN)) throw new Error(`${CONTROLLER_BIN} is missing: build first (npm run build)`);
    await fleet.open("brook-diskq-");
    const [port] = await pickFreePorts(1);
    const voters = new Map([[1, `127.0.0.1:${port}`]]);
    const proc = spawn(
      process.execPath,
      [CONTROLLER_BIN, "--id", "1", "--voters", `1@127.0.0.1:${port}`, "--data", join(fleet.root, "c1"), "--session-timeout-ms", "3000", "--log-level", "warn"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    controller = proc;
    await new Promise<void>((resolve, reject) => {
      let out = "";
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes('"ready"')) resolve();
      });
      proc.on("exit", (code) => reject(new Error(`controller exited with ${code} before ready`)));
    });
    for (const id of [1, 2, 3]) {
      const holder: { b?: Broker } = {};
      const channel = new ControllerLink(voters, () => ({ brokerId: id, brokerEpoch: holder.b?.status().brokerEpoch ?? -1 }), logger);
      await fleet.start(id, {
        channel,
        controllerQuorum: voters,
        config: { brokerHeartbeatIntervalMs: 200, replicaFetchWaitMaxMs: 200 },
        onFatal: (err) => {
          fatal = err;
        },
        onCreated: (created) => {
          holder.b = created;
        },
        ...(id === 1 ? { io: fullDiskIo(disk, { failOpen: true }) } : {}),
      });
    }
    await until("three unfenced brokers", () => [...brokers.values()].every((b) => b.status().state === "running"));
  }, 60_000);

  afterAll(async () => {
    await fleet.stopAll({ tolerateShutdownErrors: true });
    if (controller !== undefined && controller.exitCode === null) {
      const exited = new Promise((r) => controller!.once("exit", r));
      controller.kill("SIGKILL");
      await exited;
    }
    await fleet.removeRoot();
  });

  const partitions = async (via: number) => (await clients.get(via)!.metadata(["d"])).topics[0]?.partitions ?? [];

  it("fences the broker, moves its leaderships out of it, keeps it up, and loses nothing acknowledged", async () => {
    const created = await clients.get(2)!.createTopic("d", PARTITIONS, 3, { "min.insync.replicas": "2" });
    expect(created.topics[0]!.error?.code ?? 0).toBe(0);
    const leaders = await until("leaders with full ISRs seen by every broker", async () => {
      const ps = await partitions(2);
      if (ps.length !== PARTITIONS || ps.some((p) => p.leader < 0 || p.isr.length !== 3)) return false;
      for (const id of [1, 3]) if ((await partitions(id)).some((p) => p.leader < 0)) return false;
      return new Map(ps.map((p) => [p.partition, p.leader]));
    });
    const onOne = [...leaders].filter(([, l]) => l === 1).map(([p]) => p);
    expect(onOne.length).toBeGreaterThan(0); // placement spreads leaders over the three brokers

    const acked = new Map<number, string[]>([...leaders.keys()].map((p) => [p, []]));
    for (let i = 0; i < 5; i++)
      for (const [p, leader] of leaders) {
        const v = `p${p}-${i}`;
        const r = await until(`ack of ${v}`, async () => {
          const pr = (await clients.get(leader)!.produce("d", p, encodeBatch([Buffer.from(v)]), -1, 10_000)).topics[0]!.partitions[0]!;
          return pr.errorCode === Code.NONE ? pr : false;
        });
        expect(r.errorCode).toBe(Code.NONE);
        acked.get(p)!.push(v);
      }

    disk.failing = true;
    const failed = (await clients.get(1)!.produce("d", onOne[0]!, encodeBatch([Buffer.from("never")]), -1, 10_000)).topics[0]!.partitions[0]!;
    expect(failed.errorCode).toBe(Code.KAFKA_STORAGE_ERROR);

    // The controller moved every leadership off broker 1 and dropped it from every ISR.
    const after = await until("leaders elsewhere and broker 1 out of every ISR", async () => {
      const ps = await partitions(2);
      return ps.every((p) => p.leader >= 0 && p.leader !== 1 && !p.isr.includes(1)) ? ps : false;
    });
    for (const p of after) expect(p.isr.length).toBeGreaterThanOrEqual(2);

    // Broker 1 is alive, fenced, reports its directory, and refuses writes everywhere.
    const s1 = brokers.get(1)!.status();
    expect(s1.state).toBe("fenced");
    expect(s1.offlineLogDirs).toEqual([join(fleet.root, "b1", "logs")]);
    expect(fatal).toBeNull();
    for (let p = 0; p < PARTITIONS; p++) {
      const r = (await clients.get(1)!.produce("d", p, encodeBatch([Buffer.from("never")]), -1, 5_000)).topics[0]!.partitions[0]!;
      expect(r.errorCode).not.toBe(Code.NONE);
    }

    // Writes go on at the new leaders with two in-sync replicas; every ack is read back once, in order.
    for (const p of after) {
      const v = `p${p.partition}-after`;
      await until(`ack of ${v} at broker ${p.leader}`, async () => {
        const pr = (await clients.get(p.leader)!.produce("d", p.partition, encodeBatch([Buffer.from(v)]), -1, 10_000)).topics[0]!.partitions[0]!;
        return pr.errorCode === Code.NONE;
      });
      acked.get(p.partition)!.push(v);
      const got = decodeRecords((await clients.get(p.leader)!.fetch("d", p.partition, 0)).topics[0]!.partitions[0]!.records).map((r) => r.value.toString());
      expect(got).toEqual(acked.get(p.partition));
    }
  }, 120_000);
});
