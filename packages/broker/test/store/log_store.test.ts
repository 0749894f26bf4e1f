// The LogStore adapter on real files: a log is kept across restarts for the same topic id and
// discarded when the topic was re-created under the same name (KIP-516's reason for topic ids).
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { encodeBatch } from "../../src/harness/batches.js";
import type { PartitionView } from "../../src/index.js";
import { openLogStore } from "../../src/log_store.js";
import { tempDirPerTest } from "../log/helpers.js";

const logger = pino({ level: "silent" });
const view = (topicId: string): PartitionView => ({
  topic: "t",
  topicId,
  partition: 0,
  replicas: [1],
  isr: [1],
  leader: 1,
  leaderEpoch: 0,
  partitionEpoch: 0,
});

describe("openLogStore", () => {
  const tmp = tempDirPerTest("brook-store-");

  it("keeps a partition's log for the same topic id and drops it for a re-created topic", async () => {
    let store = await openLogStore(tmp.dir, { logger });
    let log = await store.open(view("aa"), new Map());
    await log.appendAsLeader(encodeBatch([Buffer.from("x"), Buffer.from("y")]), 0);
    await log.flush();
    expect(log.logEndOffset()).toBe(2);
    await store.close();

    store = await openLogStore(tmp.dir, { logger });
    log = await store.open(view("aa"), new Map());
    expect(log.logEndOffset()).toBe(2);
    await store.close();

    store = await openLogStore(tmp.dir, { logger });
    log = await store.open(view("bb"), new Map());
    expect(log.logEndOffset()).toBe(0);
    await log.appendAsLeader(encodeBatch([Buffer.from("z")]), 0);
    await store.close();

    store = await openLogStore(tmp.dir, { logger });
    log = await store.open(view("bb"), new Map());
    expect(log.logEndOffset()).toBe(1);
    await store.close();
  });

  it("applies topic log configs key by key, mapping flush.mode=fsync to durable", async () => {
    const store = await openLogStore(tmp.dir, { logger });
    const log = await store.open(view("cc"), new Map([["flush.mode", "replicated"], ["segment.bytes", "not-a-number"], ["min.insync.replicas", "2"]]));
    await log.appendAsLeader(encodeBatch([Buffer.from("x")]), 0);
    // replicated: the end counts as durable without an fsync
    expect(log.durableEndOffset()).toBe(1);
    const durable = await store.open({ ...view("dd"), topic: "u" }, new Map([["flush.mode", "fsync"]]));
    // Two appends queued together: plain writes that count once flushed (a lone one would be
    // written through with O_DSYNC).
    await Promise.all([durable.appendAsLeader(encodeBatch([Buffer.from("x")]), 0), durable.appendAsLeader(encodeBatch([Buffer.from("y")]), 0)]);
    expect(durable.durableEndOffset()).toBe(0);
    await durable.flush();
    expect(durable.durableEndOffset()).toBe(2);
    await store.close();
  });
});
