// A leader's append and its acks=all waiter belong to the leader epoch they began in. Found by the chaos
// soak (npm run soak): a leader appended a batch, became a follower before the produce
// registered its waiter, truncated that batch as a follower, became leader again in a newer
// epoch, and that epoch's high watermark released the old waiter: the client was told
// "written" at offsets that held other records. Real log files (openLogStore in a temp dir);
// one replica, so the high watermark moves with the leader's own fsync.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Code } from "../../src/errors.js";
import { encodeBatch } from "../../src/harness/batches.js";
import { openLogStore, type ClosableLogStore } from "../../src/log_store.js";
import type { PartitionView } from "../../src/metadata/view.js";
import { Partition } from "../../src/replica/partition.js";

const view = (leader: number, leaderEpoch: number): PartitionView => ({ topic: "t", topicId: "00", partition: 0, replicas: [1], isr: [1], leader, leaderEpoch, partitionEpoch: leaderEpoch });

describe("acks=all waiters and leader epochs", () => {
  let dir = "";
  let store: ClosableLogStore;
  let p: Partition;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "brook-stale-waiter-"));
    store = await openLogStore(dir, { logger: pino({ level: "silent" }) });
    p = new Partition(await store.open(view(1, 1), new Map()), view(1, 1), 1, () => Date.now());
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a waiter registered after leadership moved is refused at once, and a later epoch never releases it", async () => {
    await p.becomeLeader(view(1, 1));
    const appended = await p.appendAsLeader(encodeBatch([Buffer.from("a0"), Buffer.from("a1")]), -1, 1);
    expect(appended.leaderEpoch).toBe(1);
    // The metadata moves leadership away while the produce is between its append and its wait.
    p.becomeFollower(view(2, 2));
    const stale = p.waitForAcks(appended.lastOffset + 1, 1, 10_000, appended.leaderEpoch);
    // As a follower it loses that suffix, then leads again (epoch 3) and writes other records there.
    await p.runExclusive(() => p.log.truncateTo(0));
    await p.becomeLeader(view(1, 3));
    const other = await p.appendAsLeader(encodeBatch([Buffer.from("b0"), Buffer.from("b1"), Buffer.from("b2")]), -1, 1);
    expect(await p.waitForAcks(other.lastOffset + 1, 1, 10_000, other.leaderEpoch)).toBe(Code.NONE);
    expect(await stale).toBe(Code.NOT_LEADER_OR_FOLLOWER);
  });

  it("a waiter of an earlier epoch fails when this replica leads a newer one, without a follower turn between", async () => {
    await p.becomeLeader(view(1, 1));
    const appended = await p.appendAsLeader(encodeBatch([Buffer.from("a0")]), -1, 1);
    // Registered while the HW cannot pass it yet: needs offset 5 of epoch 1, which never comes.
    const waiting = p.waitForAcks(appended.lastOffset + 5, 1, 10_000, appended.leaderEpoch);
    await p.becomeLeader(view(1, 2));
    expect(await waiting).toBe(Code.NOT_LEADER_OR_FOLLOWER);
  });

  it("an append accepted as leader but reaching the log after the replica became a follower is refused, not written", async () => {
    // The soak's second finding: such an append landed after the follower's truncation
    // decision, so the replica kept a batch of its old epoch that the new leader never had.
    await p.becomeLeader(view(1, 1));
    await p.appendAsLeader(encodeBatch([Buffer.from("a0")]), 1, 1);
    const end = p.log.logEndOffset();
    const late = p.appendAsLeader(encodeBatch([Buffer.from("late")]), 1, 1); // accepted: still leader here
    p.becomeFollower(view(2, 2)); // before the log got to it
    await expect(late).rejects.toMatchObject({ code: Code.FENCED_LEADER_EPOCH });
    expect(p.log.logEndOffset()).toBe(end);
  });

  it("a waiter of the current epoch is released by its high watermark", async () => {
    await p.becomeLeader(view(1, 1));
    const appended = await p.appendAsLeader(encodeBatch([Buffer.from("a0")]), -1, 1);
    expect(await p.waitForAcks(appended.lastOffset + 1, 1, 10_000, appended.leaderEpoch)).toBe(Code.NONE);
  });
});
