// The broker's group coordinator: serves the consumer-group RPCs for the groups whose
// __consumer_offsets partition this broker leads, on top of the pure ConsumerGroup state
// machine. Owns the in-memory groups per offsets partition, loading them by replaying the
// partition when leadership arrives and dropping them when it leaves.
//
// Contract:
// - An offset commit is answered only after its records are committed in __consumer_offsets
//   (acks=all through the OffsetsLog port), and is applied to memory only then; so a
//   failover to any in-sync replica keeps every acknowledged commit.
// - Calls for a group whose partition this broker does not lead get NOT_COORDINATOR; while
//   the partition is being replayed, COORDINATOR_LOAD_IN_PROGRESS (both retriable).
// - Writes to one offsets partition are serialized, so replay order equals apply order.
// - Membership is persisted too (member records: subscription, epochs, target and current
//   assignment; group records: epochs), written behind each change without delaying the
//   answer. A new coordinator replays them: members keep their ids, epochs and partitions if
//   they heartbeat within a session timeout of the load, with no rebalance.
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  DescribedGroup,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  TopicPartitions,
} from "@brook/protocol/gen/brook/v1/broker";
import type { MetadataView } from "../metadata/view.js";
import type { ClientIdentity, GroupCoordinatorApi } from "../service/group_api.js";

const UNKNOWN_CLIENT: ClientIdentity = { clientId: "", clientHost: "" };
import type { GroupLagSnapshot } from "../metrics.js";
import { parseTpKey, type TpKey, tpKey } from "./assignor.js";
import { GroupCode, GroupError } from "./codes.js";
import { ConsumerGroup, DEFAULT_GROUP_CONFIG, type GroupConfig, type TopicsView } from "./consumer_group.js";
import { offsetsPartitionFor } from "./offsets_partition.js";
import { decodeOffsetsRecord, encodeOffsetsRecord, type OffsetsRecord, type RawRecord } from "./offsets_records.js";

import { OFFSETS_TOPIC } from "./offsets_topic.js";

export { OFFSETS_TOPIC };
const MAX_OFFSET_METADATA = 4096;
const MAX_GROUP_ID = 255;

/** How the coordinator reaches its partitions of __consumer_offsets (a broker adapter). */
export interface OffsetsLog {
  /** Appends records with acks=all; resolves once committed, or with the failure's code. */
  append(partition: number, records: readonly RawRecord[]): Promise<{ errorCode: number; errorMessage: string }>;
  /** Committed records from `offset` on; `records` is empty once `nextOffset` reached the HW. */
  read(partition: number, offset: number): Promise<{ records: readonly RawRecord[]; nextOffset: number }>;
  /** The local log end offset of a partition this broker leads (-1 when not held). */
  logEndOffset(partition: number): number;
}

export interface GroupCoordinatorOptions {
  readonly nodeId: number;
  readonly log: OffsetsLog;
  readonly metadata: () => MetadataView;
  readonly clock: () => number;
  readonly newMemberId: () => string;
  readonly config?: GroupConfig;
  readonly onError?: (err: unknown, what: string) => void;
  /** Asks the cluster to create __consumer_offsets (called while it is missing; must not throw). */
  readonly createOffsetsTopic?: () => void;
}

interface PartitionState {
  status: "loading" | "loaded";
  leaderEpoch: number;
  groups: Map<string, ConsumerGroup>;
  /** Tail of the write chain: each write waits for the previous one. */
  writes: Promise<unknown>;
  /**
   * Tail of the membership writes: a chain of their own, so an offset commit (which the
   * member waits for, e.g. before handing a partition over) never queues behind them.
   * Commits and membership records have different keys and no order between them.
   */
  memberWrites: Promise<unknown>;
}

const ok = { code: 0, message: "" };
const err = (e: unknown): { code: number; message: string } =>
  e instanceof GroupError ? { code: e.code, message: e.message } : { code: GroupCode.UNKNOWN_SERVER_ERROR, message: String(e) };

export class GroupCoordinator implements GroupCoordinatorApi {
  private readonly partitions = new Map<number, PartitionState>();
  /** Held heartbeats per group id, woken by notifyGroup. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly config: GroupConfig;

  constructor(private readonly opts: GroupCoordinatorOptions) {
    this.config = opts.config ?? DEFAULT_GROUP_CONFIG;
  }

  private offsetsPartitionCount(): number {
    return this.opts.metadata().topics.get(OFFSETS_TOPIC)?.partitions.size ?? 0;
  }

  private topicsView(): TopicsView {
    const view = this.opts.metadata();
    return {
      topicNames: () => view.topics.keys(),
      topic: (name) => {
        const t = view.topics.get(name);
        if (t === undefined) return undefined;
        const partitionRacks: string[][] = [];
        for (const [p, pv] of t.partitions) {
          partitionRacks[p] = pv.replicas.map((id) => view.brokers.get(id)?.rack ?? "").filter((r) => r !== "");
        }
        return { partitions: t.partitions.size, partitionRacks };
      },
    };
  }

  /** Feed this from the broker's leadership listener. */
  onLeadershipChange(topic: string, partition: number, isLeader: boolean, leaderEpoch: number): void {
    if (topic !== OFFSETS_TOPIC) return;
    if (!isLeader) {
      const lost = this.partitions.get(partition);
      this.partitions.delete(partition);
      // Held heartbeats of these groups re-evaluate now and get NOT_COORDINATOR.
      if (lost !== undefined) for (const groupId of lost.groups.keys()) this.notifyGroup(groupId);
      return;
    }
    const existing = this.partitions.get(partition);
    if (existing !== undefined && existing.leaderEpoch === leaderEpoch) return;
    const state: PartitionState = { status: "loading", leaderEpoch, groups: new Map(), writes: Promise.resolve(), memberWrites: Promise.resolve() };
    this.partitions.set(partition, state);
    void this.load(partition, state).catch((e: unknown) => {
      this.opts.onError?.(e, `loading ${OFFSETS_TOPIC}-${partition}`);
      if (this.partitions.get(partition) === state) this.partitions.delete(partition);
    });
  }

  /**
   * Replays the partition up to its log end offset at election time. A new leader's high
   * watermark can trail its log end (it learns the old HW only from the followers), yet every
   * commit acknowledged with acks=all lies below that log end; so loading waits for the HW
   * to reach it rather than stopping at the HW, or a failover would forget acknowledged commits.
   */
  private async load(partition: number, state: PartitionState): Promise<void> {
    const target = this.opts.log.logEndOffset(partition);
    let offset = 0;
    while (this.partitions.get(partition) === state) {
      const { records, nextOffset } = await this.opts.log.read(partition, offset);
      for (const raw of records) {
        let rec: OffsetsRecord | null;
        try {
          rec = decodeOffsetsRecord(raw);
        } catch (e) {
          // Not written by a coordinator (or damaged): skipped, so one bad record cannot keep
          // every group of the partition from loading.
          this.opts.onError?.(e, `skipping an undecodable record in ${OFFSETS_TOPIC}-${partition}`);
          continue;
        }
        if (rec !== null) applyRecord(state.groups, rec, this.config, this.opts.clock());
      }
      if (nextOffset > offset) {
        offset = nextOffset;
        continue;
      }
      if (offset >= target) break;
      await new Promise((r) => setTimeout(r, 20)); // the HW catches up as followers fetch
    }
    if (this.partitions.get(partition) === state) state.status = "loaded";
  }

  /** Removes expired members of every loaded group; call it periodically (e.g. every 250 ms). */
  expireMembers(): void {
    const now = this.opts.clock();
    for (const [partition, state] of this.partitions) {
      if (state.status !== "loaded") continue;
      for (const g of state.groups.values()) {
        if (g.expire(now).length === 0) continue;
        this.persistMembership(partition, state, g);
        this.notifyGroup(g.groupId);
      }
    }
  }

  /**
   * Writes the group's membership changes (members, epochs, target and current assignments)
   * to __consumer_offsets, in order behind earlier ones, without waiting: a new coordinator
   * replays them and keeps the members and their partitions. Any prefix of these writes is a
   * consistent group (a partition is granted only in a record after the one releasing it), so
   * a failover that loses the latest ones costs at most a fenced member's rejoin.
   */
  private persistMembership(partition: number, state: PartitionState, g: ConsumerGroup): void {
    const { metadata, members } = g.takeChanges();
    if (metadata === null && members.length === 0) return;
    const records: OffsetsRecord[] = members.map((m) => ({ kind: "member", group: g.groupId, memberId: m.memberId, value: m.value }));
    if (metadata !== null) records.push({ kind: "group", group: g.groupId, value: metadata });
    void this.write(partition, state, records, false).catch((e: unknown) => {
      // Written again with the group's next change (each record carries the member's whole state).
      g.restoreChanges(members.map((m) => m.memberId));
      this.opts.onError?.(e, `persisting membership of ${g.groupId}`);
    });
  }

  private partitionFor(groupId: string): { partition: number; state: PartitionState } {
    if (groupId === "" || groupId.length > MAX_GROUP_ID) {
      throw new GroupError(GroupCode.INVALID_GROUP_ID, `group id must be 1-${MAX_GROUP_ID} characters`);
    }
    const n = this.offsetsPartitionCount();
    if (n === 0) throw new GroupError(GroupCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} does not exist yet; retry`);
    const partition = offsetsPartitionFor(groupId, n);
    const state = this.partitions.get(partition);
    if (state === undefined) throw new GroupError(GroupCode.NOT_COORDINATOR, `broker ${this.opts.nodeId} is not the coordinator of ${groupId}; find it again`);
    if (state.status === "loading") throw new GroupError(GroupCode.COORDINATOR_LOAD_IN_PROGRESS, `coordinator of ${groupId} is loading its state; retry`);
    return { partition, state };
  }

  private groupFor(groupId: string, create: boolean): { partition: number; state: PartitionState; group: ConsumerGroup | undefined } {
    const { partition, state } = this.partitionFor(groupId);
    let group = state.groups.get(groupId);
    if (group === undefined && create) {
      group = new ConsumerGroup(groupId, this.config);
      state.groups.set(groupId, group);
    }
    return { partition, state, group };
  }

  /** Appends records; with `apply`, they reach memory only once committed (commits, deletions). */
  private write(partition: number, state: PartitionState, records: readonly OffsetsRecord[], apply = true): Promise<void> {
    const chain = apply ? state.writes : state.memberWrites;
    const run = chain.then(async () => {
      const res = await this.opts.log.append(partition, records.map(encodeOffsetsRecord));
      if (res.errorCode !== 0) {
        // Lost leadership or the ISR is short: the client retries against the coordinator.
        throw new GroupError(GroupCode.NOT_COORDINATOR, `could not persist to ${OFFSETS_TOPIC}-${partition}: ${res.errorMessage || res.errorCode}`);
      }
      if (this.partitions.get(partition) !== state) throw new GroupError(GroupCode.NOT_COORDINATOR, "coordinator moved during the write");
      if (apply) for (const r of records) applyRecord(state.groups, r, this.config, this.opts.clock());
    });
    if (apply) state.writes = run.catch(() => undefined);
    else state.memberWrites = run.catch(() => undefined);
    return run;
  }

  async findCoordinator(req: FindCoordinatorRequest): Promise<FindCoordinatorResponse> {
    const none = { nodeId: -1, host: "", port: -1 };
    if (req.groupId === "") return { error: { code: GroupCode.INVALID_GROUP_ID, message: "group id is empty" }, ...none };
    const view = this.opts.metadata();
    const topic = view.topics.get(OFFSETS_TOPIC);
    if (topic === undefined || topic.partitions.size === 0) {
      this.opts.createOffsetsTopic?.();
      return { error: { code: GroupCode.COORDINATOR_NOT_AVAILABLE, message: `${OFFSETS_TOPIC} does not exist yet; retry` }, ...none };
    }
    const p = topic.partitions.get(offsetsPartitionFor(req.groupId, topic.partitions.size));
    const broker = p === undefined ? undefined : view.brokers.get(p.leader);
    if (broker === undefined || broker.fenced) {
      return { error: { code: GroupCode.COORDINATOR_NOT_AVAILABLE, message: `the coordinator partition has no live leader; retry` }, ...none };
    }
    return { error: ok, nodeId: broker.id, host: broker.host, port: broker.port };
  }

  /**
   * A heartbeat that brings its member nothing new (no assignment change, same epoch) is held
   * up to heartbeatHoldMs and re-evaluated whenever the group changes (new epoch, a member
   * done revoking, a member removed, leadership lost); it is answered as soon as the member
   * has something to act on, else at the end of the hold with heartbeatIntervalMs 0 (send the
   * next one at once). Holding adds no state: a re-evaluation is the same heartbeat again.
   */
  async consumerGroupHeartbeat(req: ConsumerGroupHeartbeatRequest, client: ClientIdentity = UNKNOWN_CLIENT): Promise<ConsumerGroupHeartbeatResponse> {
    const holdMs = this.config.heartbeatHoldMs ?? 0;
    // Re-evaluations use the arrival time: a held heartbeat must not extend the session of a
    // member that may have died since it arrived.
    const arrivedMs = this.opts.clock();
    let res = this.heartbeatNow(req, arrivedMs, client);
    if (holdMs <= 0 || req.memberEpoch < 0) return res;
    const deadline = Date.now() + holdMs;
    for (;;) {
      const failed = res.error !== undefined && res.error.code !== 0;
      if (failed) return res;
      if (req.memberEpoch === 0 || res.assignment !== undefined || res.memberEpoch !== req.memberEpoch) return { ...res, heartbeatIntervalMs: 0 };
      const left = deadline - Date.now();
      if (left <= 0) return { ...res, heartbeatIntervalMs: 0 };
      await this.groupChange(req.groupId, left);
      res = this.heartbeatNow(req, arrivedMs, client);
    }
  }

  /** Resolves at the next change of the group (see notifyGroup) or after `ms`. */
  private groupChange(groupId: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(groupId);
      if (set === undefined) this.waiters.set(groupId, (set = new Set()));
      const waiters = set;
      const wake = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(groupId) === waiters) this.waiters.delete(groupId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
    });
  }

  private notifyGroup(groupId: string): void {
    const set = this.waiters.get(groupId);
    if (set !== undefined) for (const wake of [...set]) wake();
  }

  private heartbeatNow(req: ConsumerGroupHeartbeatRequest, nowMs: number, client: ClientIdentity): ConsumerGroupHeartbeatResponse {
    try {
      const { partition, state, group } = this.groupFor(req.groupId, true);
      const g = group!;
      const stampBefore = g.changeStamp;
      const res = g.heartbeat(
        {
          memberId: req.memberId,
          memberEpoch: req.memberEpoch,
          instanceId: req.instanceId,
          rackId: req.rackId,
          clientId: client.clientId,
          clientHost: client.clientHost,
          sessionTimeoutMs: req.sessionTimeoutMs,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
          subscribedTopicNames: req.subscribedTopicNames,
          subscribedTopicRegex: req.subscribedTopicRegex,
          serverAssignor: req.serverAssignor,
          ownedPartitions: req.ownedPartitions.flatMap((t) => t.partitions.map((p) => tpKey(t.topic, p))),
        },
        nowMs,
        this.topicsView(),
        this.opts.newMemberId,
      );
      this.persistMembership(partition, state, g);
      if (g.changeStamp !== stampBefore) this.notifyGroup(g.groupId);
      return {
        error: ok,
        memberId: res.memberId,
        memberEpoch: res.memberEpoch,
        heartbeatIntervalMs: res.heartbeatIntervalMs,
        ...(res.assignment === null ? {} : { assignment: { partitions: toTopicPartitions(res.assignment) } }),
      };
    } catch (e) {
      return { error: err(e), memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: this.config.heartbeatIntervalMs };
    }
  }

  async offsetCommit(req: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const perPartition = (code: number): OffsetCommitResponse["topics"] =>
      req.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: code })) }));
    try {
      const { partition, state, group } = this.groupFor(req.groupId, req.memberId === "");
      if (group === undefined) {
        throw new GroupError(GroupCode.UNKNOWN_MEMBER_ID, `group ${req.groupId} has no member ${req.memberId}; join before committing`);
      }
      group.validateOffsetCommit(req.memberId, req.memberEpoch);
      const view = this.opts.metadata();
      const now = this.opts.clock();
      const records: OffsetsRecord[] = [];
      const topics = req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          let code: number = GroupCode.NONE;
          if (view.topics.get(t.topic)?.partitions.has(p.partition) !== true) code = GroupCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (p.metadata.length > MAX_OFFSET_METADATA) code = GroupCode.OFFSET_METADATA_TOO_LARGE;
          else if (p.offset < 0) code = GroupCode.INVALID_REQUEST;
          else
            records.push({
              kind: "offset",
              group: req.groupId,
              topic: t.topic,
              partition: p.partition,
              value: { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata, commitTimestampMs: now },
            });
          return { partition: p.partition, errorCode: code };
        }),
      }));
      if (records.length > 0) await this.write(partition, state, records);
      return { error: ok, topics };
    } catch (e) {
      const error = err(e);
      return { error, topics: perPartition(error.code) };
    }
  }

  async offsetFetch(req: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    try {
      const { group } = this.groupFor(req.groupId, false);
      const offsets = group?.offsets ?? new Map();
      const wanted: TopicPartitions[] =
        req.topics.length > 0 ? req.topics : toTopicPartitions([...offsets.keys()]);
      return {
        error: ok,
        topics: wanted.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => {
            const c = offsets.get(tpKey(t.topic, p));
            return { partition: p, offset: c?.offset ?? -1, leaderEpoch: c?.leaderEpoch ?? -1, metadata: c?.metadata ?? "", errorCode: 0 };
          }),
        })),
      };
    } catch (e) {
      return { error: err(e), topics: [] };
    }
  }

  /**
   * For metrics at scrape time: loaded groups and, per committed offset, how far it trails
   * `highWatermark` (undefined: partition unknown here, no lag reported). O(committed offsets).
   */
  lagSnapshot(highWatermark: (topic: string, partition: number) => number | undefined): GroupLagSnapshot {
    let groups = 0;
    const lags: { group: string; topic: string; partition: number; lag: number }[] = [];
    for (const state of this.partitions.values()) {
      if (state.status !== "loaded") continue;
      for (const g of state.groups.values()) {
        groups++;
        for (const [key, committed] of g.offsets) {
          const { topic, partition } = parseTpKey(key);
          const hw = highWatermark(topic, partition);
          if (hw !== undefined && hw >= 0) lags.push({ group: g.groupId, topic, partition, lag: Math.max(0, hw - committed.offset) });
        }
      }
    }
    return { groups, lags };
  }

  async listGroups(_req: ListGroupsRequest): Promise<ListGroupsResponse> {
    const groups = [];
    for (const state of this.partitions.values()) {
      if (state.status !== "loaded") continue;
      for (const g of state.groups.values()) groups.push({ groupId: g.groupId, state: g.state, coordinator: this.opts.nodeId });
    }
    return { error: ok, groups };
  }

  async describeGroups(req: DescribeGroupsRequest): Promise<DescribeGroupsResponse> {
    return { groups: req.groupIds.map((id) => this.describeOne(id)) };
  }

  private describeOne(groupId: string): DescribedGroup {
    const empty = { groupId, state: "Dead", groupEpoch: 0, assignmentEpoch: 0, assignor: "", members: [] };
    try {
      const { group } = this.groupFor(groupId, false);
      if (group === undefined) return { error: { code: GroupCode.GROUP_ID_NOT_FOUND, message: `group ${groupId} does not exist` }, ...empty };
      return {
        error: ok,
        groupId,
        state: group.state,
        groupEpoch: group.groupEpoch,
        assignmentEpoch: group.assignmentEpoch,
        assignor: group.assignorName,
        members: group.describeMembers().map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberEpoch: m.memberEpoch,
          assignment: toTopicPartitions(m.assigned),
          subscribedTopicNames: [...m.subscribedTopicNames],
          rackId: m.rackId,
        })),
      };
    } catch (e) {
      return { error: err(e), ...empty };
    }
  }

  async deleteGroups(req: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
    const groups = [];
    for (const groupId of req.groupIds) {
      try {
        const { partition, state, group } = this.groupFor(groupId, false);
        if (group === undefined) throw new GroupError(GroupCode.GROUP_ID_NOT_FOUND, `group ${groupId} does not exist`);
        if (group.memberCount > 0) throw new GroupError(GroupCode.NON_EMPTY_GROUP, `group ${groupId} has active members; stop them first`);
        const tombstones: OffsetsRecord[] = [...group.offsets.keys()].map((k) => {
          const { topic, partition: p } = parseTpKey(k);
          return { kind: "offset", group: groupId, topic, partition: p, value: null };
        });
        tombstones.push({ kind: "group", group: groupId, value: null });
        // The group's last membership records (its members' tombstones) go first, so replay
        // cannot bring the deleted group back.
        await state.memberWrites;
        await this.write(partition, state, tombstones);
        groups.push({ groupId, error: ok });
      } catch (e) {
        groups.push({ groupId, error: err(e) });
      }
    }
    return { groups };
  }
}

function applyRecord(groups: Map<string, ConsumerGroup>, rec: OffsetsRecord, config: GroupConfig, nowMs: number): void {
  let g = groups.get(rec.group);
  if (rec.kind === "group" && rec.value === null) {
    groups.delete(rec.group);
    return;
  }
  if (g === undefined) {
    if (rec.value === null) return;
    g = new ConsumerGroup(rec.group, config);
    groups.set(rec.group, g);
  }
  if (rec.kind === "group") g.applyMetadata(rec.value!);
  else if (rec.kind === "member") g.applyMember(rec.memberId, rec.value, nowMs);
  else g.applyOffset(rec.topic, rec.partition, rec.value);
}

function toTopicPartitions(keys: Iterable<TpKey>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const k of keys) {
    const { topic, partition } = parseTpKey(k);
    let list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, (list = []));
    list.push(partition);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}
