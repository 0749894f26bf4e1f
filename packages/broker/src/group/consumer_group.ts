// One consumer group's membership and assignment state machine (KIP-848 style), pure: time
// comes in as `nowMs`, member ids from an injected generator, topic metadata from a view.
//
// Contract:
// - The group epoch counts changes that call for a new assignment (membership,
//   subscriptions, subscribed topics' partition counts, racks). The target assignment is
//   recomputed lazily at the next heartbeat when groupEpoch > assignmentEpoch.
// - A member converges on its target incrementally: partitions it must give up are first
//   revoked (its epoch is kept until it reports them gone in `ownedPartitions`); a partition
//   is only granted once no other member owns it or is still revoking it. So no partition is
//   ever owned by two members, and partitions that do not move are never paused.
// - Member epochs fence zombies: a heartbeat or commit with an epoch the group does not
//   know for that member is rejected (FENCED_MEMBER_EPOCH / STALE_MEMBER_EPOCH /
//   UNKNOWN_MEMBER_ID).
// - A member that misses its session timeout, or does not revoke within its rebalance
//   timeout, is removed and its partitions are freed for others.
// - Static members (instanceId) that rejoin take over their previous member's assignment and
//   epoch without a group epoch bump, so a restart causes no rebalance.
import { crc32c, murmur2 } from "@brook/protocol";
import { ASSIGNORS, type AssignorMember, type AssignorTopic, type TpKey, tpKey } from "./assignor.js";
import { GroupCode, GroupError } from "./codes.js";
import type { GroupMetadataRecord, MemberRecord } from "./offsets_records.js";

/** What the group needs to know about topics; answered from the broker's metadata image. */
export interface TopicsView {
  topicNames(): Iterable<string>;
  topic(name: string): AssignorTopic | undefined;
}

export interface GroupConfig {
  readonly heartbeatIntervalMs: number;
  readonly defaultSessionTimeoutMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly defaultRebalanceTimeoutMs: number;
  readonly maxMembers: number;
  /**
   * How long the coordinator may hold a heartbeat that has nothing new for its member,
   * answering as soon as something changes for it (0 = answer at once, members then poll at
   * heartbeatIntervalMs). Holding turns the heartbeat into a long poll: a member learns of a
   * revocation or a freed partition within milliseconds instead of at its next interval.
   */
  readonly heartbeatHoldMs?: number;
}

const RECONCILING_HEARTBEAT_MS = 50;

export const DEFAULT_GROUP_CONFIG: GroupConfig = {
  heartbeatIntervalMs: 250,
  defaultSessionTimeoutMs: 45_000,
  minSessionTimeoutMs: 1_000,
  maxSessionTimeoutMs: 300_000,
  defaultRebalanceTimeoutMs: 60_000,
  maxMembers: 1_000,
  heartbeatHoldMs: 250,
};

export interface HeartbeatInput {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly instanceId: string;
  readonly rackId: string;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number; // 0 = group default
  readonly rebalanceTimeoutMs: number; // 0 = group default
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string;
  readonly serverAssignor: string; // "" = current/default
  readonly ownedPartitions: readonly TpKey[];
}

export interface HeartbeatResult {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  /** The member's full current assignment, or null when unchanged since the last answer. */
  readonly assignment: readonly TpKey[] | null;
}

export interface MemberView {
  readonly memberId: string;
  readonly instanceId: string;
  readonly rackId: string;
  readonly clientId: string;
  readonly clientHost: string;
  readonly memberEpoch: number;
  readonly assigned: readonly TpKey[];
  readonly pendingRevocation: readonly TpKey[];
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string;
}

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestampMs: number;
}

export type GroupState = "Empty" | "Assigning" | "Reconciling" | "Stable";

interface Member {
  memberId: string;
  instanceId: string;
  rackId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  previousMemberEpoch: number;
  topicNames: string[];
  regex: string;
  assigned: Set<TpKey>;
  pendingRevocation: Set<TpKey>;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  sessionDeadlineMs: number;
  revocationDeadlineMs: number | null;
  /** Fingerprint of the assignment last answered; null forces the next answer to carry it. */
  lastSentAssignment: string | null;
  /** A static member that left with epoch -2 and may come back before its session ends. */
  departed: boolean;
}

const sameSet = <T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean => a.size === b.size && [...a].every((x) => b.has(x));
const fingerprint = (s: ReadonlySet<TpKey>): string => [...s].sort().join("\u0001");

/** 64 bits of the topics fingerprint: bounded in size however many topics a group reads. */
function subscriptionDigest(metadata: string): string {
  const bytes = Buffer.from(metadata, "utf8");
  return `${crc32c(bytes).toString(16)}-${(murmur2(bytes) >>> 0).toString(16)}`;
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  assignorName = "uniform";
  private readonly members = new Map<string, Member>();
  private target = new Map<string, Set<TpKey>>();
  private subscriptionMetadata = "";
  readonly offsets = new Map<TpKey, CommittedOffset>();
  /** Revocations members reported done; with groupEpoch, what can hand a waiting member something new. */
  private revocationsDone = 0;
  /** Members whose persisted state is out of date (removed ones get a tombstone). */
  private readonly dirtyMembers = new Set<string>();
  private metadataDirty = false;
  /**
   * Rebuilt from records that carry no subscription digest (written by older coordinators):
   * the first heartbeat takes the topics' fingerprint as it finds it.
   */
  private adoptSubscriptionMetadata = false;
  /** Rebuilt from a record with a digest: the first heartbeat compares the topics against it. */
  private restoredSubscriptionDigest: string | undefined;

  constructor(
    readonly groupId: string,
    private readonly config: GroupConfig = DEFAULT_GROUP_CONFIG,
  ) {}

  /**
   * Grows whenever a member might have something new to learn: a new group epoch (new target)
   * or a member that finished revoking (its partitions are free for their next owner).
   */
  get changeStamp(): number {
    return this.groupEpoch + this.revocationsDone;
  }

  get memberCount(): number {
    return this.members.size;
  }

  get state(): GroupState {
    if (this.members.size === 0) return "Empty";
    if (this.groupEpoch > this.assignmentEpoch) return "Assigning";
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.pendingRevocation.size > 0) return "Reconciling";
      if (!sameSet(m.assigned, this.target.get(m.memberId) ?? new Set())) return "Reconciling";
    }
    return "Stable";
  }

  describeMembers(): MemberView[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberEpoch: m.memberEpoch,
      assigned: [...m.assigned].sort(),
      pendingRevocation: [...m.pendingRevocation].sort(),
      subscribedTopicNames: [...m.topicNames],
      subscribedTopicRegex: m.regex,
    }));
  }

  /** Handles one ConsumerGroupHeartbeat. Throws GroupError with a Kafka code on rejection. */
  heartbeat(input: HeartbeatInput, nowMs: number, topics: TopicsView, newMemberId: () => string): HeartbeatResult {
    if (input.serverAssignor !== "" && !ASSIGNORS.has(input.serverAssignor)) {
      throw new GroupError(GroupCode.UNSUPPORTED_ASSIGNOR, `unknown server assignor "${input.serverAssignor}"; use one of ${[...ASSIGNORS.keys()].join(", ")}`);
    }
    const sessionTimeoutMs = input.sessionTimeoutMs === 0 ? this.config.defaultSessionTimeoutMs : input.sessionTimeoutMs;
    if (sessionTimeoutMs < this.config.minSessionTimeoutMs || sessionTimeoutMs > this.config.maxSessionTimeoutMs) {
      throw new GroupError(
        GroupCode.INVALID_SESSION_TIMEOUT,
        `session timeout ${sessionTimeoutMs} ms is outside [${this.config.minSessionTimeoutMs}, ${this.config.maxSessionTimeoutMs}]`,
      );
    }
    if (input.subscribedTopicRegex !== "") compileSubscriptionRegex(input.subscribedTopicRegex);

    if (input.memberEpoch === -1 || input.memberEpoch === -2) return this.leave(input);

    let member: Member;
    let forceAssignment = false;
    if (input.memberEpoch === 0) {
      member = this.join(input, nowMs, newMemberId);
      forceAssignment = true;
    } else {
      const found = this.members.get(input.memberId);
      if (found === undefined || found.departed) {
        throw new GroupError(GroupCode.UNKNOWN_MEMBER_ID, `member ${input.memberId} is not in group ${this.groupId}; rejoin with epoch 0`);
      }
      member = found;
      const owned = new Set(input.ownedPartitions);
      const lostResponse = input.memberEpoch === member.previousMemberEpoch && [...owned].every((tp) => member.assigned.has(tp));
      if (input.memberEpoch !== member.memberEpoch && !lostResponse) {
        throw new GroupError(
          GroupCode.FENCED_MEMBER_EPOCH,
          `member ${member.memberId} sent epoch ${input.memberEpoch} but the group has ${member.memberEpoch}; rejoin with epoch 0`,
        );
      }
      if (lostResponse && input.memberEpoch !== member.memberEpoch) forceAssignment = true;
      // The member has finished revoking once none of the partitions to revoke is still owned.
      if (member.pendingRevocation.size > 0 && ![...member.pendingRevocation].some((tp) => owned.has(tp))) {
        member.pendingRevocation.clear();
        member.revocationDeadlineMs = null;
        this.revocationsDone++;
        this.dirtyMembers.add(member.memberId);
      }
    }

    const rebalanceTimeoutMs = input.rebalanceTimeoutMs === 0 ? this.config.defaultRebalanceTimeoutMs : input.rebalanceTimeoutMs;
    if (member.sessionTimeoutMs !== sessionTimeoutMs || member.rebalanceTimeoutMs !== rebalanceTimeoutMs || member.clientId !== input.clientId || member.clientHost !== input.clientHost) {
      this.dirtyMembers.add(member.memberId);
    }
    member.sessionTimeoutMs = sessionTimeoutMs;
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionDeadlineMs = nowMs + sessionTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    if (this.updateSubscription(member, input)) {
      this.groupEpoch++;
      this.dirtyMembers.add(member.memberId);
    }
    if (input.serverAssignor !== "" && input.serverAssignor !== this.assignorName) {
      this.assignorName = input.serverAssignor;
      this.groupEpoch++;
    }
    const metadata = this.subscribedTopicsFingerprint(topics);
    if (this.restoredSubscriptionDigest !== undefined) {
      // After a failover: partitions added (or racks moved) while no coordinator was
      // watching are assigned now, not at the group's next membership change.
      const changed = subscriptionDigest(metadata) !== this.restoredSubscriptionDigest;
      this.restoredSubscriptionDigest = undefined;
      this.adoptSubscriptionMetadata = false;
      this.subscriptionMetadata = metadata;
      if (changed) this.groupEpoch++;
    } else if (this.adoptSubscriptionMetadata) {
      // Records without a digest: the current topics are taken as they are rather than
      // bumping the epoch for nothing.
      this.adoptSubscriptionMetadata = false;
      this.subscriptionMetadata = metadata;
    } else if (metadata !== this.subscriptionMetadata) {
      this.subscriptionMetadata = metadata;
      this.groupEpoch++;
    }
    if (this.groupEpoch > this.assignmentEpoch) this.computeTargetAssignment(topics);
    this.reconcile(member, nowMs);

    const fp = fingerprint(member.assigned);
    const changed = forceAssignment || fp !== member.lastSentAssignment;
    member.lastSentAssignment = fp;
    // A member still converging (waiting for partitions others are revoking) polls fast, so
    // moved partitions resume soon after their previous owner lets go.
    const converged = member.pendingRevocation.size === 0 && sameSet(member.assigned, this.target.get(member.memberId) ?? new Set());
    return {
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: converged ? this.config.heartbeatIntervalMs : Math.min(this.config.heartbeatIntervalMs, RECONCILING_HEARTBEAT_MS),
      assignment: changed ? [...member.assigned].sort() : null,
    };
  }

  /** Removes members past their session or revocation deadline; returns their ids. */
  expire(nowMs: number): string[] {
    const removed: string[] = [];
    for (const m of [...this.members.values()]) {
      const revocationLate = m.revocationDeadlineMs !== null && nowMs > m.revocationDeadlineMs;
      if (nowMs > m.sessionDeadlineMs || revocationLate) {
        this.removeMember(m);
        removed.push(m.memberId);
      }
    }
    return removed;
  }

  /** Earliest deadline any member has, for scheduling the next expire(); null when none. */
  nextDeadlineMs(): number | null {
    let next: number | null = null;
    for (const m of this.members.values()) {
      for (const d of [m.sessionDeadlineMs, m.revocationDeadlineMs]) if (d !== null && (next === null || d < next)) next = d;
    }
    return next;
  }

  /**
   * Checks that a commit may be accepted. Standalone consumers (memberId "" and epoch < 0)
   * may commit only while the group has no members.
   */
  validateOffsetCommit(memberId: string, memberEpoch: number): void {
    if (memberId === "" && memberEpoch < 0) {
      if (this.members.size > 0) {
        throw new GroupError(GroupCode.UNKNOWN_MEMBER_ID, `group ${this.groupId} has active members; a standalone consumer cannot commit to it`);
      }
      return;
    }
    const m = this.members.get(memberId);
    if (m === undefined || m.departed) {
      throw new GroupError(GroupCode.UNKNOWN_MEMBER_ID, `member ${memberId} is not in group ${this.groupId} (removed or never joined); rejoin before committing`);
    }
    if (memberEpoch > m.memberEpoch) {
      throw new GroupError(GroupCode.FENCED_MEMBER_EPOCH, `commit epoch ${memberEpoch} is ahead of member epoch ${m.memberEpoch}`);
    }
    if (memberEpoch < m.memberEpoch) {
      throw new GroupError(GroupCode.STALE_MEMBER_EPOCH, `commit epoch ${memberEpoch} is older than member epoch ${m.memberEpoch}; heartbeat and retry`);
    }
  }

  private leave(input: HeartbeatInput): HeartbeatResult {
    let member = this.members.get(input.memberId);
    if (member === undefined && input.instanceId !== "") member = this.findStatic(input.instanceId);
    if (member === undefined) {
      throw new GroupError(GroupCode.UNKNOWN_MEMBER_ID, `member ${input.memberId} is not in group ${this.groupId}`);
    }
    if (input.memberEpoch === -2 && member.instanceId !== "") {
      // Temporary leave of a static member: keep its partitions until its session ends.
      member.departed = true;
      this.dirtyMembers.add(member.memberId);
    } else {
      this.removeMember(member);
    }
    return { memberId: member.memberId, memberEpoch: input.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  private join(input: HeartbeatInput, nowMs: number, newMemberId: () => string): Member {
    const previous = input.instanceId === "" ? undefined : this.findStatic(input.instanceId);
    if (previous === undefined && this.members.size >= this.config.maxMembers) {
      throw new GroupError(GroupCode.GROUP_MAX_SIZE_REACHED, `group ${this.groupId} already has ${this.config.maxMembers} members`);
    }
    const memberId = input.memberId !== "" ? input.memberId : newMemberId();
    const existing = this.members.get(memberId);
    if (existing !== undefined && existing !== previous) {
      // Rejoin of a dynamic member with the same id (KIP-1082 client-generated ids): start over.
      this.removeMember(existing);
    }
    const member: Member = {
      memberId,
      instanceId: input.instanceId,
      rackId: input.rackId,
      clientId: input.clientId,
      clientHost: input.clientHost,
      memberEpoch: 0,
      previousMemberEpoch: -1,
      topicNames: [],
      regex: "",
      assigned: new Set(),
      pendingRevocation: new Set(),
      sessionTimeoutMs: 0,
      rebalanceTimeoutMs: 0,
      sessionDeadlineMs: nowMs,
      revocationDeadlineMs: null,
      lastSentAssignment: null,
      departed: false,
    };
    if (previous !== undefined) {
      // Static member replaces its former self (restarted or zombie): same partitions and
      // epoch, new member id, which fences the old one.
      this.members.delete(previous.memberId);
      const target = this.target.get(previous.memberId);
      this.target.delete(previous.memberId);
      if (target !== undefined) this.target.set(memberId, target);
      Object.assign(member, {
        memberEpoch: previous.memberEpoch,
        previousMemberEpoch: previous.previousMemberEpoch,
        topicNames: previous.topicNames,
        regex: previous.regex,
        rackId: previous.rackId,
        assigned: previous.assigned,
        pendingRevocation: previous.pendingRevocation,
        revocationDeadlineMs: previous.revocationDeadlineMs,
      });
    } else {
      this.groupEpoch++;
    }
    this.members.set(memberId, member);
    this.dirtyMembers.add(memberId);
    if (previous !== undefined) this.dirtyMembers.add(previous.memberId);
    return member;
  }

  private findStatic(instanceId: string): Member | undefined {
    for (const m of this.members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }

  private removeMember(m: Member): void {
    this.members.delete(m.memberId);
    this.target.delete(m.memberId);
    this.groupEpoch++;
    this.dirtyMembers.add(m.memberId);
  }

  private updateSubscription(m: Member, input: HeartbeatInput): boolean {
    const names = [...new Set(input.subscribedTopicNames)].sort();
    const changed =
      names.join("\u0000") !== m.topicNames.join("\u0000") || input.subscribedTopicRegex !== m.regex || input.rackId !== m.rackId;
    m.topicNames = names;
    m.regex = input.subscribedTopicRegex;
    m.rackId = input.rackId;
    return changed;
  }

  private resolveTopics(m: Member, topics: TopicsView): Set<string> {
    const out = new Set<string>();
    for (const t of m.topicNames) if (topics.topic(t) !== undefined) out.add(t);
    if (m.regex !== "") {
      const re = compileSubscriptionRegex(m.regex);
      for (const t of topics.topicNames()) if (!t.startsWith("__") && re.test(t)) out.add(t);
    }
    return out;
  }

  private subscribedTopicsFingerprint(topics: TopicsView): string {
    const all = new Set<string>();
    for (const m of this.members.values()) for (const t of this.resolveTopics(m, topics)) all.add(t);
    return [...all]
      .sort()
      .map((t) => {
        const meta = topics.topic(t)!;
        return `${t}:${meta.partitions}:${JSON.stringify(meta.partitionRacks ?? [])}`;
      })
      .join("|");
  }

  private computeTargetAssignment(topics: TopicsView): void {
    const assignor = ASSIGNORS.get(this.assignorName)!;
    const members: AssignorMember[] = [];
    const subscribed = new Map<string, AssignorTopic>();
    for (const m of this.members.values()) {
      const resolved = this.resolveTopics(m, topics);
      for (const t of resolved) subscribed.set(t, topics.topic(t)!);
      members.push({ memberId: m.memberId, rackId: m.rackId, topics: resolved });
    }
    this.target = assignor.assign({ members, topics: subscribed, current: this.target });
    this.assignmentEpoch = this.groupEpoch;
    for (const m of this.members.values()) this.dirtyMembers.add(m.memberId);
    this.metadataDirty = true;
  }

  private ownedByOthers(self: Member): Set<TpKey> {
    const owned = new Set<TpKey>();
    for (const m of this.members.values()) {
      if (m === self) continue;
      for (const tp of m.assigned) owned.add(tp);
      for (const tp of m.pendingRevocation) owned.add(tp);
    }
    return owned;
  }

  private reconcile(m: Member, nowMs: number): void {
    const target = this.target.get(m.memberId) ?? new Set<TpKey>();
    const revoke = [...m.assigned].filter((tp) => !target.has(tp));
    if (revoke.length > 0) {
      for (const tp of revoke) {
        m.assigned.delete(tp);
        m.pendingRevocation.add(tp);
      }
      m.revocationDeadlineMs = nowMs + m.rebalanceTimeoutMs;
      this.dirtyMembers.add(m.memberId);
    }
    // Nothing new is granted while the member still holds partitions it must give up:
    // it has not yet reached a state consistent with the new epoch.
    if (m.pendingRevocation.size > 0) return;
    const taken = this.ownedByOthers(m);
    for (const tp of target)
      if (!m.assigned.has(tp) && !taken.has(tp)) {
        m.assigned.add(tp);
        this.dirtyMembers.add(m.memberId);
      }
    if (m.memberEpoch !== this.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = this.assignmentEpoch;
      this.dirtyMembers.add(m.memberId);
    }
  }

  // ---- state rebuilt from __consumer_offsets ----

  /** Applies a replayed or freshly written offset commit (null = tombstone). */
  applyOffset(topic: string, partition: number, value: CommittedOffset | null): void {
    if (value === null) this.offsets.delete(tpKey(topic, partition));
    else this.offsets.set(tpKey(topic, partition), value);
  }

  /** Applies a replayed group-metadata record: epochs never go backwards across failovers. */
  applyMetadata(rec: GroupMetadataRecord): void {
    this.groupEpoch = Math.max(this.groupEpoch, rec.groupEpoch);
    // Old records (no assignment epoch) come from groups whose members were not persisted:
    // their (empty) target is current at that epoch.
    this.assignmentEpoch = Math.min(rec.assignmentEpoch ?? this.groupEpoch, this.groupEpoch);
    if (ASSIGNORS.has(rec.assignor)) this.assignorName = rec.assignor;
    this.restoredSubscriptionDigest = rec.subscriptionDigest;
    this.adoptSubscriptionMetadata = rec.subscriptionDigest === undefined;
  }

  /**
   * Applies a replayed member record (null: the member left). A rebuilt member gets a whole
   * session from `nowMs` to heartbeat to this coordinator and keeps its partitions.
   */
  applyMember(memberId: string, rec: MemberRecord | null, nowMs: number): void {
    if (rec === null) {
      this.members.delete(memberId);
      this.target.delete(memberId);
      return;
    }
    this.members.set(memberId, {
      memberId,
      instanceId: rec.instanceId,
      rackId: rec.rackId,
      clientId: rec.clientId,
      clientHost: rec.clientHost,
      memberEpoch: rec.memberEpoch,
      previousMemberEpoch: rec.previousMemberEpoch,
      topicNames: [...rec.topicNames],
      regex: rec.regex,
      assigned: new Set(rec.assigned),
      pendingRevocation: new Set(rec.pendingRevocation),
      sessionTimeoutMs: rec.sessionTimeoutMs,
      rebalanceTimeoutMs: rec.rebalanceTimeoutMs,
      sessionDeadlineMs: nowMs + rec.sessionTimeoutMs,
      revocationDeadlineMs: rec.pendingRevocation.length > 0 ? nowMs + rec.rebalanceTimeoutMs : null,
      lastSentAssignment: null,
      departed: rec.departed,
    });
    this.target.set(memberId, new Set(rec.target));
    if (this.restoredSubscriptionDigest === undefined) this.adoptSubscriptionMetadata = true;
  }

  /**
   * The records that bring __consumer_offsets up to date with this group's membership since
   * the last call: one per changed member (a tombstone for a removed one) and the group's
   * metadata when its epochs moved.
   */
  /** Changes taken by takeChanges whose write failed: written again with the next ones. */
  restoreChanges(memberIds: readonly string[]): void {
    for (const id of memberIds) this.dirtyMembers.add(id);
    this.metadataDirty = true;
  }

  takeChanges(): { metadata: GroupMetadataRecord | null; members: { memberId: string; value: MemberRecord | null }[] } {
    const members = [...this.dirtyMembers].map((memberId) => {
      const m = this.members.get(memberId);
      return { memberId, value: m === undefined ? null : this.recordOf(m) };
    });
    this.dirtyMembers.clear();
    // A digest restored but not yet compared is written back as it was; none is written
    // while the topics of a group rebuilt from digest-less records are still to be adopted.
    const digest = this.restoredSubscriptionDigest ?? (this.adoptSubscriptionMetadata ? undefined : subscriptionDigest(this.subscriptionMetadata));
    const metadata =
      this.metadataDirty || members.length > 0
        ? { groupEpoch: this.groupEpoch, assignor: this.assignorName, assignmentEpoch: this.assignmentEpoch, ...(digest !== undefined ? { subscriptionDigest: digest } : {}) }
        : null;
    this.metadataDirty = false;
    return { metadata, members };
  }

  private recordOf(m: Member): MemberRecord {
    return {
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberEpoch: m.memberEpoch,
      previousMemberEpoch: m.previousMemberEpoch,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.sessionTimeoutMs,
      departed: m.departed,
      regex: m.regex,
      topicNames: m.topicNames,
      assigned: [...m.assigned].sort(),
      pendingRevocation: [...m.pendingRevocation].sort(),
      target: [...(this.target.get(m.memberId) ?? [])].sort(),
    };
  }
}

/** Kafka matches subscription regexes against the whole topic name. */
export function compileSubscriptionRegex(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new GroupError(GroupCode.INVALID_REQUEST, `invalid subscription regex "${source}": ${(err as Error).message}`);
  }
}
