// The controller's request logic, free of I/O: each method validates a request against an
// image and returns the records that carry it out plus the response to send once they commit
// (ControllerResult). A request's records are committed as one Raft entry, so a request is
// applied entirely or not at all. Also owns the active controller's soft state, which is not
// replicated (as in KRaft): broker heartbeat times for session fencing and the offsets
// brokers must reach to count as caught up. Time and topic ids are injected.
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  CreatableTopicResult,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "@brook/protocol/gen/brook/v1/broker";
import type {
  AlterPartitionRequest,
  BrokerHeartbeatRequest,
  BrokerRegistrationRequest,
  ElectLeadersRequest,
  PartitionElectionResult,
} from "@brook/protocol/gen/brook/v1/controller";
import { ConfigResourceKind, type MetadataRecord } from "@brook/protocol/gen/brook/v1/metadata";
import { apiError, ControllerError, OK, type ApiError } from "../errors.js";
import { applyRecords, hexId, idBytes, LEADER_NONE } from "../image/delta.js";
import { configKey, isActiveBroker, topicByName, topicConfigs, type MetadataImage, type TopicImage } from "../image/image.js";
import { rec } from "../image/records.js";
import { change, electLeader, electLeaderlessRecords, forEachPartition, preferredLeaderRecords, removeBrokerRecords, type IsActive } from "./partition_changes.js";
import { placePartitions, type PlacementLoad } from "./placement.js";
import { BROKER_CONFIGS, configProblem, TOPIC_CONFIGS } from "./topic_configs.js";
import { collisionKey, internalTopicProblem, topicNameProblem } from "./topic_name.js";

export interface Clock {
  now(): number;
}

export interface ControllerResult<T> {
  readonly records: readonly MetadataRecord[];
  readonly response: T;
  /** Called with the Raft index of the records once committed (soft-state bookkeeping). */
  readonly onCommit?: (offset: number) => void;
}

export interface ControllerLogicConfig {
  /**
   * broker.session.timeout.ms: a broker silent this long is fenced. Kafka 9 s; Brook 1 s so a
   * dead leader's partitions move within the 1.5 s median failover target (fencing is most of
   * it). Brokers heartbeat every 200 ms, so a broker is fenced only after 5 missed beats: more
   * than a GC pause or a busy event loop on a loaded 2-core machine.
   */
  readonly sessionTimeoutMs: number;
  /** num.partitions, used when a CreateTopics asks for -1. */
  readonly defaultPartitions: number;
  /** default.replication.factor, used when a CreateTopics asks for -1. */
  readonly defaultReplicationFactor: number;
  readonly producerIdBlockSize: number;
  /** Bad-input limits: a request over them is refused whole with a message naming the limit. */
  readonly maxPartitionsPerTopic: number;
  readonly maxPartitionsPerRequest: number;
  readonly maxTopicsPerRequest: number;
}

export const DEFAULT_LOGIC_CONFIG: ControllerLogicConfig = {
  sessionTimeoutMs: 1000,
  defaultPartitions: 1,
  defaultReplicationFactor: 1,
  producerIdBlockSize: 1000,
  maxPartitionsPerTopic: 10_000,
  maxPartitionsPerRequest: 20_000,
  maxTopicsPerRequest: 2_000,
};

export interface RegistrationResult {
  readonly brokerEpoch: number;
}

export interface HeartbeatResult {
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  readonly shouldShutDown: boolean;
}

export interface AlterPartitionResult {
  readonly error: ApiError;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
}

export interface ProducerIdBlock {
  readonly firstProducerId: number;
  readonly size: number;
}

const NO_RECORDS: readonly MetadataRecord[] = Object.freeze([]);

export class ControllerLogic {
  readonly #cfg: ControllerLogicConfig;
  readonly #clock: Clock;
  readonly #newTopicId: () => Uint8Array;
  /** Last heartbeat (or leadership start) per broker id. */
  readonly #lastSeen = new Map<number, number>();
  /** Offset a broker must have applied to be caught up (its registration's offset). */
  readonly #catchUpOffset = new Map<number, number>();
  /** Offset of the records that moved leadership off a broker in controlled shutdown. */
  readonly #shutdownOffset = new Map<number, number>();
  #leaderStartOffset = 0;

  constructor(cfg: ControllerLogicConfig, clock: Clock, newTopicId: () => Uint8Array) {
    this.#cfg = cfg;
    this.#clock = clock;
    this.#newTopicId = newTopicId;
  }

  get config(): ControllerLogicConfig {
    return this.#cfg;
  }

  /**
   * This node just became the active controller with `image` committed: heartbeat history is
   * unknown, so every broker gets a full session from now, and a broker whose registration
   * offset is unknown must catch up to `image.offset` to be unfenced.
   */
  becameActive(image: MetadataImage): void {
    this.#lastSeen.clear();
    this.#catchUpOffset.clear();
    this.#shutdownOffset.clear();
    this.#leaderStartOffset = image.offset;
    const now = this.#clock.now();
    for (const id of image.cluster.brokers.keys()) this.#lastSeen.set(id, now);
  }

  /** Records written first by a new active controller: the cluster id if none, and a no-op. */
  activationRecords(image: MetadataImage, newClusterId: () => string): MetadataRecord[] {
    const out: MetadataRecord[] = [];
    if (image.cluster.clusterId === "") out.push(rec({ $case: "clusterId", clusterId: { clusterId: newClusterId() } }));
    out.push(rec({ $case: "noOp", noOp: {} }));
    return out;
  }

  // ---- brokers ----

  registerBroker(image: MetadataImage, req: BrokerRegistrationRequest): ControllerResult<RegistrationResult> {
    if (!Number.isInteger(req.brokerId) || req.brokerId < 0) throw new ControllerError("INVALID_REQUEST", `broker id ${req.brokerId} is invalid; use an integer >= 0`);
    if (req.incarnationId === "") throw new ControllerError("INVALID_REQUEST", "incarnation id is empty; send a fresh UUID per broker process start");
    if (req.endpoints.length === 0) throw new ControllerError("INVALID_REQUEST", "no endpoints; register at least one listener (name, host, port)");
    for (const e of req.endpoints) {
      if (e.host === "" || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
        throw new ControllerError("INVALID_REQUEST", `endpoint ${e.name} ${e.host}:${e.port} is invalid; give a host and a port in 1..65535`);
      }
    }
    // One endpoint per listener name: answers pick a broker's address by the listener a request came in on.
    const names = req.endpoints.map((e) => e.name);
    const dup = names.find((n, i) => n === "" || names.indexOf(n) !== i);
    if (dup !== undefined) throw new ControllerError("INVALID_REQUEST", dup === "" ? "an endpoint has no listener name" : `listener ${dup} is registered twice; send one endpoint per listener name`);
    const old = image.cluster.brokers.get(req.brokerId);
    if (old !== undefined && old.incarnationId === req.incarnationId) {
      return { records: NO_RECORDS, response: { brokerEpoch: old.epoch } };
    }
    const records: MetadataRecord[] = [];
    if (old !== undefined && !old.fenced) {
      const seen = this.#lastSeen.get(old.id) ?? 0;
      const left = seen + this.#cfg.sessionTimeoutMs - this.#clock.now();
      if (left > 0) {
        throw new ControllerError(
          "DUPLICATE_BROKER_REGISTRATION",
          `broker ${old.id} is registered by another live process (incarnation ${old.incarnationId}); stop it, or retry in ${left} ms when its session expires`,
        );
      }
      records.push(...removeBrokerRecords(image, old.id, (id) => isActiveBroker(image, id)));
    }
    const brokerEpoch = image.cluster.nextBrokerEpoch;
    records.push(
      rec({
        $case: "registerBroker",
        registerBroker: {
          brokerId: req.brokerId,
          incarnationId: req.incarnationId,
          brokerEpoch,
          endpoints: req.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port })),
          rack: req.rack,
          fenced: true,
        },
      }),
    );
    this.#lastSeen.set(req.brokerId, this.#clock.now());
    return {
      records,
      response: { brokerEpoch },
      onCommit: (offset) => {
        this.#catchUpOffset.set(req.brokerId, offset);
        this.#shutdownOffset.delete(req.brokerId);
      },
    };
  }

  heartbeat(image: MetadataImage, req: BrokerHeartbeatRequest): ControllerResult<HeartbeatResult> {
    const b = this.#checkBroker(image, req.brokerId, req.brokerEpoch);
    this.#lastSeen.set(b.id, this.#clock.now());
    const isCaughtUp = req.currentMetadataOffset >= (this.#catchUpOffset.get(b.id) ?? this.#leaderStartOffset);
    const active: IsActive = (id) => isActiveBroker(image, id);
    const fence = rec({ $case: "fenceBroker", fenceBroker: { brokerId: b.id, brokerEpoch: b.epoch } });
    if (req.wantShutDown) {
      if (b.fenced) return { records: NO_RECORDS, response: { isCaughtUp, isFenced: true, shouldShutDown: true } };
      // Unknown after a controller failover: the move was committed before this controller started.
      const movedAt = this.#shutdownOffset.get(b.id) ?? this.#leaderStartOffset;
      if (b.inControlledShutdown && req.currentMetadataOffset >= movedAt) {
        // The broker has seen its leaderships move away: let it go.
        return { records: [fence], response: { isCaughtUp, isFenced: true, shouldShutDown: true } };
      }
      if (b.inControlledShutdown) return { records: NO_RECORDS, response: { isCaughtUp, isFenced: false, shouldShutDown: false } };
      const records = [
        rec({ $case: "brokerRegistrationChange", brokerRegistrationChange: { brokerId: b.id, brokerEpoch: b.epoch, inControlledShutdown: 1 } }),
        ...removeBrokerRecords(image, b.id, active),
      ];
      // Until the records commit, nothing can have been seen: no offset satisfies Infinity.
      this.#shutdownOffset.set(b.id, Number.POSITIVE_INFINITY);
      return {
        records,
        response: { isCaughtUp, isFenced: false, shouldShutDown: false },
        onCommit: (offset) => this.#shutdownOffset.set(b.id, offset),
      };
    }
    // A broker whose log directory failed holds no usable replica (one directory per broker):
    // fenced like a broker that asked for it, and kept fenced while it reports the failure.
    // Older callers may leave the field out.
    const dirsOffline = (req.offlineLogDirs ?? []).length > 0;
    if (req.wantFence || dirsOffline) {
      if (b.fenced) return { records: NO_RECORDS, response: { isCaughtUp, isFenced: true, shouldShutDown: false } };
      return { records: [...removeBrokerRecords(image, b.id, active), fence], response: { isCaughtUp, isFenced: true, shouldShutDown: false } };
    }
    if (b.fenced && isCaughtUp) {
      const nowActive: IsActive = (id) => id === b.id || active(id);
      return {
        records: [rec({ $case: "unfenceBroker", unfenceBroker: { brokerId: b.id, brokerEpoch: b.epoch } }), ...electLeaderlessRecords(image, nowActive, b.id)],
        response: { isCaughtUp, isFenced: false, shouldShutDown: false },
      };
    }
    return { records: NO_RECORDS, response: { isCaughtUp, isFenced: b.fenced, shouldShutDown: false } };
  }

  /** Fences every unfenced broker whose session expired (the periodic task of the active controller). */
  expireSessions(image: MetadataImage): ControllerResult<number[]> {
    const now = this.#clock.now();
    const expired = [...image.cluster.brokers.values()].filter((b) => !b.fenced && now - (this.#lastSeen.get(b.id) ?? now) > this.#cfg.sessionTimeoutMs);
    if (expired.length === 0) return { records: NO_RECORDS, response: [] };
    const gone = new Set(expired.map((b) => b.id));
    const records: MetadataRecord[] = [];
    // Fence one at a time on a running image so each step elects among brokers still alive.
    let cur = image;
    for (const b of expired) {
      const step = [...removeBrokerRecords(cur, b.id, (id) => !gone.has(id) && isActiveBroker(cur, id)), rec({ $case: "fenceBroker", fenceBroker: { brokerId: b.id, brokerEpoch: b.epoch } })];
      records.push(...step);
      cur = replayed(cur, step);
    }
    return { records, response: [...gone] };
  }

  /** Preferred-leader rebalancing (Kafka's auto.leader.rebalance.enable). */
  rebalanceLeaders(image: MetadataImage): ControllerResult<number> {
    const records = preferredLeaderRecords(image, (id) => isActiveBroker(image, id));
    return { records, response: records.length };
  }

  // ---- topics ----

  createTopics(image: MetadataImage, req: CreateTopicsRequest): ControllerResult<CreateTopicsResponse> {
    if (req.topics.length > this.#cfg.maxTopicsPerRequest) {
      throw new ControllerError("POLICY_VIOLATION", `request creates ${req.topics.length} topics; the limit is ${this.#cfg.maxTopicsPerRequest} per request, split it`);
    }
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const brokers = activeBrokers(image);
    const load = currentLoad(image);
    const records: MetadataRecord[] = [];
    const results: CreatableTopicResult[] = [];
    const createdKeys = new Set<string>();
    let keys: Map<string, string> | undefined;
    // Built once per request, only when a new name needs checking: '.'/'_' collisions.
    const existingKeys = () => (keys ??= new Map([...image.topics.byName.keys()].map((n) => [collisionKey(n), n])));
    let totalPartitions = 0;
    for (const t of req.topics) {
      const fail = (e: ApiError) => results.push({ name: t.name, topicId: Buffer.alloc(0), error: e, numPartitions: -1, replicationFactor: -1 });
      const nameProblem = topicNameProblem(t.name);
      if (nameProblem !== undefined) { fail(apiError("INVALID_TOPIC_EXCEPTION", nameProblem)); continue; }
      if ((counts.get(t.name) ?? 0) > 1) { fail(apiError("INVALID_REQUEST", `topic ${t.name} appears more than once in the request; list each topic once`)); continue; }
      if (image.topics.byName.has(t.name)) { fail(apiError("TOPIC_ALREADY_EXISTS", `topic ${t.name} already exists`)); continue; }
      const collides = existingKeys().get(collisionKey(t.name)) ?? (createdKeys.has(collisionKey(t.name)) ? collisionKey(t.name) : undefined);
      if (collides !== undefined) {
        fail(apiError("INVALID_TOPIC_EXCEPTION", `topic ${t.name} collides with existing topic ${collides} ('.' and '_' are interchangeable in metric names); choose another name`));
        continue;
      }
      const cfgErr = t.configs.map((c) => configProblem(TOPIC_CONFIGS, c.name, c.value)).find((p) => p !== undefined);
      if (cfgErr !== undefined) { fail(apiError("INVALID_CONFIG", cfgErr)); continue; }
      let assignment: number[][];
      if (t.assignments.length > 0) {
        if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
          fail(apiError("INVALID_REQUEST", `topic ${t.name}: with explicit replica assignments set num_partitions and replication_factor to -1`));
          continue;
        }
        const problem = assignmentProblem(image, t.assignments.map((a) => ({ partition: a.partition, brokerIds: a.brokerIds })), 0);
        if (problem !== undefined) { fail(apiError("INVALID_REPLICA_ASSIGNMENT", `topic ${t.name}: ${problem}`)); continue; }
        assignment = [...t.assignments].sort((a, b) => a.partition - b.partition).map((a) => [...a.brokerIds]);
        for (const r of assignment) addLoad(load, r);
      } else {
        const n = t.numPartitions === -1 ? this.#cfg.defaultPartitions : t.numPartitions;
        const rf = t.replicationFactor === -1 ? this.#cfg.defaultReplicationFactor : t.replicationFactor;
        if (!Number.isInteger(n) || n < 1 || n > this.#cfg.maxPartitionsPerTopic) {
          fail(apiError("INVALID_PARTITIONS", `topic ${t.name}: ${n} partitions; use 1 to ${this.#cfg.maxPartitionsPerTopic} (or -1 for the default)`));
          continue;
        }
        if (!Number.isInteger(rf) || rf < 1 || rf > 32767) {
          fail(apiError("INVALID_REPLICATION_FACTOR", `topic ${t.name}: replication factor ${rf}; use 1 or more (or -1 for the default)`));
          continue;
        }
        if (rf > brokers.length) {
          fail(apiError("INVALID_REPLICATION_FACTOR", `topic ${t.name}: replication factor ${rf} is larger than the ${brokers.length} available (registered, unfenced) brokers; lower it or start more brokers`));
          continue;
        }
        assignment = placePartitions(brokers, n, rf, load);
      }
      const isrProblem = minIsrProblem(t.configs.find((c) => c.name === "min.insync.replicas")?.value, assignment[0]?.length ?? 0);
      if (isrProblem !== undefined) { fail(apiError("INVALID_CONFIG", `topic ${t.name}: ${isrProblem}`)); continue; }
      totalPartitions += assignment.length;
      if (totalPartitions > this.#cfg.maxPartitionsPerRequest) {
        throw new ControllerError("POLICY_VIOLATION", `request creates more than ${this.#cfg.maxPartitionsPerRequest} partitions; split it into smaller requests`);
      }
      createdKeys.add(collisionKey(t.name));
      const idBuf = Buffer.from(this.#newTopicId());
      results.push({ name: t.name, topicId: idBuf, error: OK, numPartitions: assignment.length, replicationFactor: assignment[0]?.length ?? 0 });
      if (req.validateOnly) continue;
      records.push(rec({ $case: "topic", topic: { name: t.name, topicId: idBuf } }));
      for (const c of t.configs) {
        records.push(rec({ $case: "config", config: { resourceType: ConfigResourceKind.CONFIG_RESOURCE_KIND_TOPIC, resourceName: t.name, name: c.name, value: c.value, delete: false } }));
      }
      assignment.forEach((replicas, partition) => records.push(newPartitionRecord(image, idBuf, partition, replicas)));
    }
    return { records, response: { topics: results } };
  }

  deleteTopics(image: MetadataImage, req: DeleteTopicsRequest): ControllerResult<DeleteTopicsResponse> {
    if (req.names.length > this.#cfg.maxTopicsPerRequest) {
      throw new ControllerError("POLICY_VIOLATION", `request deletes ${req.names.length} topics; the limit is ${this.#cfg.maxTopicsPerRequest} per request, split it`);
    }
    const seen = new Map<string, number>();
    for (const n of req.names) seen.set(n, (seen.get(n) ?? 0) + 1);
    const records: MetadataRecord[] = [];
    const topics = req.names.map((name) => {
      if ((seen.get(name) ?? 0) > 1) return { name, error: apiError("INVALID_REQUEST", `topic ${name} appears more than once in the request; list each topic once`) };
      const t = topicByName(image, name);
      if (t === undefined) return { name, error: apiError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`) };
      const internal = internalTopicProblem(name, "delete");
      if (internal !== undefined) return { name, error: apiError("INVALID_TOPIC_EXCEPTION", internal) };
      records.push(rec({ $case: "removeTopic", removeTopic: { topicId: idBytes(t.id) } }));
      return { name, error: OK };
    });
    return { records, response: { topics } };
  }

  createPartitions(image: MetadataImage, req: CreatePartitionsRequest): ControllerResult<CreatePartitionsResponse> {
    const brokers = activeBrokers(image);
    const load = currentLoad(image);
    const records: MetadataRecord[] = [];
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    let total = 0;
    const results = req.topics.map((rq) => {
      const name = rq.name;
      if ((seen.get(name) ?? 0) > 1) return { name, error: apiError("INVALID_REQUEST", `topic ${name} appears more than once in the request; list each topic once`) };
      const t = topicByName(image, name);
      if (t === undefined) return { name, error: apiError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${name} does not exist`) };
      const internal = internalTopicProblem(name, "add partitions to");
      if (internal !== undefined) return { name, error: apiError("INVALID_TOPIC_EXCEPTION", internal) };
      const current = t.partitions.size;
      if (!Number.isInteger(rq.count) || rq.count <= current) {
        return { name, error: apiError("INVALID_PARTITIONS", `topic ${name} has ${current} partitions; the new count must be larger (got ${rq.count})`) };
      }
      if (rq.count > this.#cfg.maxPartitionsPerTopic) {
        return { name, error: apiError("INVALID_PARTITIONS", `topic ${name}: ${rq.count} partitions is over the limit of ${this.#cfg.maxPartitionsPerTopic}`) };
      }
      const rf = t.partitions.get(0)?.replicas.length ?? 1;
      if (rf > brokers.length) {
        return { name, error: apiError("INVALID_REPLICATION_FACTOR", `topic ${name} has replication factor ${rf} but only ${brokers.length} brokers are available; start more brokers`) };
      }
      total += rq.count - current;
      if (total > this.#cfg.maxPartitionsPerRequest) throw new ControllerError("POLICY_VIOLATION", `request adds more than ${this.#cfg.maxPartitionsPerRequest} partitions; split it`);
      const placed = placePartitions(brokers, rq.count - current, rf, load);
      if (!req.validateOnly) placed.forEach((replicas, k) => records.push(newPartitionRecord(image, idBytes(t.id), current + k, replicas)));
      return { name, error: OK };
    });
    return { records, response: { results } };
  }

  // ---- partitions ----

  alterPartition(image: MetadataImage, req: AlterPartitionRequest): ControllerResult<AlterPartitionResult> {
    this.#checkBroker(image, req.brokerId, req.brokerEpoch);
    const t = image.topics.byId.get(hexId(req.topicId));
    if (t === undefined) throw new ControllerError("UNKNOWN_TOPIC_ID", `topic id ${hexId(req.topicId)} does not exist (deleted or re-created); refresh metadata`);
    const p = t.partitions.get(req.partition);
    if (p === undefined) throw new ControllerError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${t.name}-${req.partition} does not exist`);
    const now = (error: ApiError): ControllerResult<AlterPartitionResult> => ({
      records: NO_RECORDS,
      response: { error, leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr },
    });
    if (p.leader !== req.brokerId) return now(apiError("NOT_LEADER_OR_FOLLOWER", `broker ${req.brokerId} is not the leader of ${t.name}-${req.partition} (leader is ${p.leader})`));
    if (req.leaderEpoch < p.leaderEpoch) return now(apiError("FENCED_LEADER_EPOCH", `leader epoch ${req.leaderEpoch} of ${t.name}-${req.partition} is stale; the current one is ${p.leaderEpoch}`));
    if (req.leaderEpoch > p.leaderEpoch) return now(apiError("UNKNOWN_LEADER_EPOCH", `leader epoch ${req.leaderEpoch} of ${t.name}-${req.partition} is newer than the controller's ${p.leaderEpoch}`));
    if (req.partitionEpoch !== p.partitionEpoch) {
      return now(apiError("INVALID_UPDATE_VERSION", `partition epoch ${req.partitionEpoch} of ${t.name}-${req.partition} is stale; the current one is ${p.partitionEpoch}, refresh and retry`));
    }
    const isr = req.newIsr;
    if (new Set(isr).size !== isr.length) return now(apiError("INVALID_REQUEST", `new ISR ${JSON.stringify(isr)} lists a broker twice`));
    if (!isr.includes(req.brokerId)) return now(apiError("INVALID_REQUEST", `new ISR ${JSON.stringify(isr)} must include the leader ${req.brokerId}`));
    const outside = isr.find((r) => !p.replicas.includes(r));
    if (outside !== undefined) return now(apiError("INVALID_REQUEST", `broker ${outside} in the new ISR is not a replica of ${t.name}-${req.partition} (replicas ${JSON.stringify(p.replicas)})`));
    const ineligible = isr.find((r) => !p.isr.includes(r) && !isActiveBroker(image, r));
    if (ineligible !== undefined) return now(apiError("INELIGIBLE_REPLICA", `broker ${ineligible} is fenced or shutting down and cannot join the ISR of ${t.name}-${req.partition}`));
    const same = isr.length === p.isr.length && isr.every((r) => p.isr.includes(r));
    if (same) return now(OK);
    const ordered = p.replicas.filter((r) => isr.includes(r));
    return {
      records: [change(t, req.partition, p.leader, ordered, p)],
      response: { error: OK, leader: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch + 1, isr: ordered },
    };
  }

  electLeaders(image: MetadataImage, req: ElectLeadersRequest): ControllerResult<PartitionElectionResult[]> {
    if (req.electionType !== 0 && req.electionType !== 1) throw new ControllerError("INVALID_REQUEST", `election type ${req.electionType} is unknown; use 0 (preferred) or 1 (unclean)`);
    const unclean = req.electionType === 1;
    const targets: { topic: string; partition: number; t: TopicImage | undefined }[] = [];
    if (req.partitions.length === 0) forEachPartition(image, (t, i) => targets.push({ topic: t.name, partition: i, t }));
    else for (const tp of req.partitions) for (const i of tp.partitions) targets.push({ topic: tp.topic, partition: i, t: topicByName(image, tp.topic) });
    const active: IsActive = (id) => isActiveBroker(image, id);
    const records: MetadataRecord[] = [];
    const results = targets.map(({ topic, partition, t }): PartitionElectionResult => {
      const p = t?.partitions.get(partition);
      if (t === undefined || p === undefined) return { topic, partition, error: apiError("UNKNOWN_TOPIC_OR_PARTITION", `partition ${topic}-${partition} does not exist`), leader: -1 };
      if (unclean) {
        if (p.leader !== LEADER_NONE) return { topic, partition, error: apiError("ELECTION_NOT_NEEDED", `partition ${topic}-${partition} has a leader (${p.leader})`), leader: p.leader };
        const e = electLeader(p, active, true);
        if (e === undefined) return { topic, partition, error: apiError("ELIGIBLE_LEADERS_NOT_AVAILABLE", `no replica of ${topic}-${partition} is alive`), leader: -1 };
        records.push(change(t, partition, e.leader, e.isr, p));
        return { topic, partition, error: OK, leader: e.leader };
      }
      const preferred = p.replicas[0] ?? -1;
      if (p.leader === preferred) return { topic, partition, error: apiError("ELECTION_NOT_NEEDED", `${preferred} already leads ${topic}-${partition}`), leader: preferred };
      if (!p.isr.includes(preferred) || !active(preferred)) {
        return { topic, partition, error: apiError("PREFERRED_LEADER_NOT_AVAILABLE", `preferred replica ${preferred} of ${topic}-${partition} is not alive and in sync`), leader: p.leader };
      }
      records.push(change(t, partition, preferred, p.isr, p));
      return { topic, partition, error: OK, leader: preferred };
    });
    return { records, response: results };
  }

  // ---- producer ids and configs ----

  allocateProducerIds(image: MetadataImage, brokerId: number, brokerEpoch: number): ControllerResult<ProducerIdBlock> {
    this.#checkBroker(image, brokerId, brokerEpoch);
    const first = image.producerIds.nextProducerId;
    const size = this.#cfg.producerIdBlockSize;
    return { records: [rec({ $case: "producerIds", producerIds: { brokerId, brokerEpoch, firstProducerId: first, size } })], response: { firstProducerId: first, size } };
  }

  alterConfigs(image: MetadataImage, req: AlterConfigsRequest): ControllerResult<AlterConfigsResponse> {
    const records: MetadataRecord[] = [];
    const results = req.resources.map((r) => {
      const resource = r.resource ?? { type: 0, name: "" };
      const fail = (e: ApiError) => ({ resource, error: e });
      let kind: ConfigResourceKind;
      let defs;
      if (resource.type === 2) {
        if (!image.topics.byName.has(resource.name)) return fail(apiError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${resource.name} does not exist`));
        kind = ConfigResourceKind.CONFIG_RESOURCE_KIND_TOPIC;
        defs = TOPIC_CONFIGS;
      } else if (resource.type === 4) {
        if (resource.name !== "" && !image.cluster.brokers.has(Number(resource.name))) {
          return fail(apiError("INVALID_REQUEST", `broker ${resource.name} is not registered; use a registered id, or "" for the cluster default`));
        }
        kind = ConfigResourceKind.CONFIG_RESOURCE_KIND_BROKER;
        defs = BROKER_CONFIGS;
      } else return fail(apiError("INVALID_REQUEST", `config resource type ${resource.type} is unknown; use TOPIC (2) or BROKER (4)`));
      for (const op of r.ops) {
        if (op.delete) {
          if (!defs.has(op.name)) return fail(apiError("INVALID_CONFIG", `unknown config "${op.name}"`));
          continue;
        }
        const p = configProblem(defs, op.name, op.value);
        if (p !== undefined) return fail(apiError("INVALID_CONFIG", p));
        if (resource.type === 2 && op.name === "min.insync.replicas") {
          const topic = image.topics.byId.get(image.topics.byName.get(resource.name)!);
          const rf = Math.min(...[...(topic?.partitions.values() ?? [])].map((ps) => ps.replicas.length));
          const isr = minIsrProblem(op.value, rf);
          if (isr !== undefined) return fail(apiError("INVALID_CONFIG", `topic ${resource.name}: ${isr}`));
        }
      }
      if (!req.validateOnly) {
        for (const op of r.ops) {
          records.push(rec({ $case: "config", config: { resourceType: kind, resourceName: resource.name, name: op.name, value: op.delete ? "" : op.value, delete: op.delete } }));
        }
      }
      return { resource, error: OK };
    });
    return { records, response: { results } };
  }

  // ---- reads (no records) ----

  describeConfigs(image: MetadataImage, req: DescribeConfigsRequest): DescribeConfigsResponse {
    return {
      results: req.resources.map((resource) => {
        if (resource.type === 2) {
          if (!image.topics.byName.has(resource.name)) return { resource, error: apiError("UNKNOWN_TOPIC_OR_PARTITION", `topic ${resource.name} does not exist`), configs: [] };
          const set = topicConfigs(image, resource.name);
          return {
            resource,
            error: OK,
            configs: [...TOPIC_CONFIGS].map(([name, def]) => ({ name, value: set.get(name) ?? def.default, isDefault: !set.has(name), readOnly: false })),
          };
        }
        if (resource.type === 4) {
          const set = image.configs.resources.get(configKey("broker", resource.name)) ?? new Map<string, string>();
          return {
            resource,
            error: OK,
            configs: [...BROKER_CONFIGS].map(([name, def]) => ({ name, value: set.get(name) ?? def.default, isDefault: !set.has(name), readOnly: false })),
          };
        }
        return { resource, error: apiError("INVALID_REQUEST", `config resource type ${resource.type} is unknown; use TOPIC (2) or BROKER (4)`), configs: [] };
      }),
    };
  }

  describeCluster(image: MetadataImage, controllerId: number): DescribeClusterResponse {
    let offline = 0;
    let under = 0;
    forEachPartition(image, (_t, _i, p) => {
      if (p.leader === LEADER_NONE) offline++;
      if (p.isr.length < p.replicas.length) under++;
    });
    return {
      clusterId: image.cluster.clusterId,
      controllerId,
      brokers: [...image.cluster.brokers.values()]
        .sort((a, b) => a.id - b.id)
        .map((b) => ({ nodeId: b.id, host: b.endpoints[0]?.host ?? "", port: b.endpoints[0]?.port ?? 0, rack: b.rack, fenced: b.fenced })),
      leaderEpoch: image.epoch,
      highWatermark: image.offset,
      voters: [],
      observers: [],
      offlinePartitions: offline,
      underReplicatedPartitions: under,
    };
  }

  #checkBroker(image: MetadataImage, brokerId: number, brokerEpoch: number) {
    const b = image.cluster.brokers.get(brokerId);
    if (b === undefined) throw new ControllerError("BROKER_ID_NOT_REGISTERED", `broker ${brokerId} is not registered; register it first`);
    if (b.epoch !== brokerEpoch) throw new ControllerError("STALE_BROKER_EPOCH", `broker ${brokerId} sent epoch ${brokerEpoch} but its registration has epoch ${b.epoch}; re-register`);
    return b;
  }
}

function activeBrokers(image: MetadataImage) {
  return [...image.cluster.brokers.values()].filter((b) => !b.fenced && !b.inControlledShutdown).map((b) => ({ id: b.id, rack: b.rack }));
}

// Per-topic load, cached by the (immutable, shared between images) topic object, so placing
// new partitions costs O(topics x brokers) rather than a walk over every partition.
const topicLoads = new WeakMap<TopicImage, PlacementLoad>();

function currentLoad(image: MetadataImage): PlacementLoad {
  const load: PlacementLoad = { replicas: new Map(), leaders: new Map() };
  for (const t of image.topics.byId.values()) {
    let tl = topicLoads.get(t);
    if (tl === undefined) {
      tl = { replicas: new Map(), leaders: new Map() };
      for (const p of t.partitions.values()) addLoad(tl, p.replicas);
      topicLoads.set(t, tl);
    }
    for (const [b, n] of tl.replicas) load.replicas.set(b, (load.replicas.get(b) ?? 0) + n);
    for (const [b, n] of tl.leaders) load.leaders.set(b, (load.leaders.get(b) ?? 0) + n);
  }
  return load;
}

function addLoad(load: PlacementLoad, replicas: readonly number[]): void {
  const first = replicas[0];
  if (first !== undefined) load.leaders.set(first, (load.leaders.get(first) ?? 0) + 1);
  for (const r of replicas) load.replicas.set(r, (load.replicas.get(r) ?? 0) + 1);
}

/** A new partition starts with every active replica in its ISR, led by the first active one. */
function newPartitionRecord(image: MetadataImage, topicId: Uint8Array, partition: number, replicas: readonly number[]): MetadataRecord {
  const isr = replicas.filter((r) => isActiveBroker(image, r));
  const inIsr = isr.length > 0 ? isr : [...replicas];
  return rec({
    $case: "partition",
    partition: { topicId: Buffer.from(topicId), partition, replicas: [...replicas], isr: inIsr, leader: isr[0] ?? LEADER_NONE, leaderEpoch: 0, partitionEpoch: 0 },
  });
}

function assignmentProblem(image: MetadataImage, assignments: { partition: number; brokerIds: number[] }[], firstPartition: number): string | undefined {
  const sorted = [...assignments].sort((a, b) => a.partition - b.partition);
  const rf = sorted[0]?.brokerIds.length ?? 0;
  for (let k = 0; k < sorted.length; k++) {
    const a = sorted[k] as { partition: number; brokerIds: number[] };
    if (a.partition !== firstPartition + k) return `partitions must be numbered ${firstPartition}..${firstPartition + sorted.length - 1} without gaps or repeats`;
    if (a.brokerIds.length === 0) return `partition ${a.partition} has no replicas`;
    if (a.brokerIds.length !== rf) return `every partition needs the same number of replicas (${rf}); partition ${a.partition} has ${a.brokerIds.length}`;
    if (new Set(a.brokerIds).size !== a.brokerIds.length) return `partition ${a.partition} lists a broker twice`;
    const unknown = a.brokerIds.find((b) => !image.cluster.brokers.has(b));
    if (unknown !== undefined) return `broker ${unknown} (partition ${a.partition}) is not registered`;
  }
  return undefined;
}

function replayed(image: MetadataImage, records: readonly MetadataRecord[]): MetadataImage {
  return applyRecords(image, records, image.offset, image.epoch);
}

/**
 * A topic whose min.insync.replicas exceeds its replication factor can never take an acks=all
 * write: every produce would retry NOT_ENOUGH_REPLICAS until delivery.timeout.ms. Kafka
 * accepts such a config; refusing it names the mistake where it is made.
 */
function minIsrProblem(value: string | undefined, replicationFactor: number): string | undefined {
  if (value === undefined || !Number.isFinite(replicationFactor) || replicationFactor <= 0) return undefined;
  const n = Number(value);
  return n > replicationFactor
    ? `min.insync.replicas=${n} is above the replication factor ${replicationFactor}, so no acks=all write could ever succeed; use at most ${replicationFactor}`
    : undefined;
}
