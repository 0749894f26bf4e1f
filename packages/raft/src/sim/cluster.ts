// SimCluster: N RawNodes in one process, driven by one seeded Prng through a faulty network,
// crashes that lose unsynced writes, and skewed clocks. Time is discrete units; every unit
// delivers due messages, ticks nodes whose clock is due, injects faults and client requests,
// and then drives every node's Readys the way RaftNode does (asynchronous storage writes):
// a Ready's messages leave and its committed entries are applied as soon as it is taken;
// its save completes some units later, in order with the node's other saves, and only then
// do its acks and votes leave and is the core told (persisted). Several saves may be in
// flight; a crash loses every one not yet synced. The SafetyChecker watches each step.
//
// A run has two phases: `faultUnits` of faulty running (safety checked throughout), then all
// faults heal, every node restarts, and a fresh proposal must be applied by every node within
// `livenessUnits` (liveness).
import { NotLeaderError, ProposalDroppedError } from "../core/errors.js";
import { RawNode } from "../core/raw_node.js";
import type { MemoryStorage } from "../core/memory_storage.js";
import { EntryType, MessageType, StateRole, type Entry, type HardState, type Logger, type Message, type NodeId, type Ready } from "../core/types.js";
import { SafetyChecker, SafetyViolation, entryKey, type LogView } from "./checker.js";
import { SimNetwork } from "./network.js";
import { Prng } from "./prng.js";
import { SimDisk } from "./sim_disk.js";
import { swarmOptions, type PartitionKind, type SwarmOptions, type SwarmOverrides } from "./swarm.js";

export interface SimStats {
  leaders: number;
  maxTerm: number;
  applied: number;
  acked: number;
  crashes: number;
  midReadyCrashes: number;
  partitions: number;
  snapshotsSent: number;
  reads: number;
  messages: number;
  dropped: number;
  livenessUnits: number;
  garbage: number;
}

export interface SimResult {
  readonly seed: number;
  readonly voters: number;
  readonly ok: boolean;
  readonly failure?: string;
  readonly time: number;
  readonly stats: SimStats;
  readonly options: SwarmOptions;
}

const SILENT: Logger = { debug() {}, info() {}, warn() {} };
const enc = new TextEncoder();

interface PendingProposal {
  readonly term: number;
  readonly key: string;
}

class SimNode {
  raw: RawNode | undefined;
  upAt = 0;
  nextTick = 0;
  applied = 0;
  hash = 0;
  sinceSnapshot = 0;
  lastHard: HardState = { term: 0, vote: 0, commit: 0 };
  lastCommitChecked = 0;
  /** Readys being persisted by the (asynchronous) shell, oldest first; they complete in order. */
  saves: { readonly rd: Ready; readonly doneAt: number }[] = [];
  readonly proposals = new Map<number, PendingProposal>();
  readonly reads = new Map<string, number>();
  constructor(
    readonly id: NodeId,
    readonly isObserver: boolean,
    readonly disk: SimDisk,
    readonly tickUnits: number,
    readonly rng: Prng,
  ) {}
}

export class SimCluster {
  readonly options: SwarmOptions;
  readonly checker = new SafetyChecker();
  readonly nodes: SimNode[] = [];
  readonly net: SimNetwork;
  now = 0;
  readonly stats: SimStats = {
    leaders: 0, maxTerm: 0, applied: 0, acked: 0, crashes: 0, midReadyCrashes: 0, partitions: 0,
    snapshotsSent: 0, reads: 0, messages: 0, dropped: 0, livenessUnits: 0, garbage: 0,
  };
  #faulty = true;
  /** Scripted fault: these nodes crash at their next Ready that must sync, before syncing. */
  readonly crashBeforeSync = new Set<NodeId>();
  #valueSeq = 0;
  readonly #rng: Prng;
  readonly #logger: Logger;

  constructor(readonly seed: number, voters: number, overrides: SwarmOverrides = {}, logger: Logger = SILENT) {
    const root = new Prng(seed);
    this.options = swarmOptions(root.fork(), voters, overrides);
    this.#rng = root.fork();
    this.#logger = logger;
    this.net = new SimNetwork(root.fork(), { dropRate: this.options.dropRate, dupRate: this.options.dupRate, maxDelay: this.options.maxDelay });
    const voterIds = Array.from({ length: voters }, (_, i) => i + 1);
    const observerIds = Array.from({ length: this.options.observers }, (_, i) => voters + i + 1);
    for (const id of [...voterIds, ...observerIds]) {
      const disk = new SimDisk(voterIds, observerIds);
      const node = new SimNode(id, id > voters, disk, this.options.tickUnits[id - 1]!, root.fork());
      this.nodes.push(node);
      this.#start(node);
    }
  }

  node(id: NodeId): SimNode {
    return this.nodes[id - 1]!;
  }

  #start(n: SimNode): void {
    const storage = n.disk.current;
    const snap = storage.snapshot();
    n.applied = snap.meta.index;
    n.hash = snap.meta.index > 0 ? new DataView(snap.data.buffer, snap.data.byteOffset).getUint32(4) : 0;
    if (snap.meta.index > 0) this.checker.onSnapshotInstalled(n.id, snap.meta.index, n.hash);
    n.sinceSnapshot = 0;
    n.lastHard = storage.hardState();
    n.lastCommitChecked = n.lastHard.commit;
    n.nextTick = this.now + 1 + n.rng.int(n.tickUnits);
    n.raw = new RawNode({
      id: n.id,
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      storage,
      rng: n.rng,
      logger: this.#logger,
      applied: n.applied,
      maxSizePerMsg: this.options.maxSizePerMsg,
      maxInflightMsgs: this.options.maxInflightMsgs,
      maxEntryBytes: 64,
      preVote: true,
      checkQuorum: true,
      testingBugs: this.options.testingBugs,
    });
  }

  crash(n: SimNode, downFor: number): void {
    if (n.raw === undefined) return;
    n.raw = undefined;
    n.saves = [];
    n.disk.crash();
    n.proposals.clear();
    n.reads.clear();
    n.upAt = this.now + downFor;
    this.stats.crashes++;
  }

  restart(n: SimNode): void {
    if (n.raw !== undefined) return;
    this.checker.onSynced(n.id, n.disk.current.hardState());
    this.#start(n);
  }

  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      const st = n.raw?.status();
      if (st?.role === StateRole.Leader && (best === undefined || st.term > best.raw!.status().term)) best = n;
    }
    return best;
  }

  // --- scripting, for named scenarios ----------------------------------------------------------

  /** Advances time by `units`, with whatever faults the options enable. */
  runUnits(units: number): void {
    const end = this.now + units;
    for (; this.now < end; this.now++) this.#unit();
  }

  /** Runs until `cond` holds; throws after `units`. */
  runUntil(cond: () => boolean, units: number, what: string): void {
    const end = this.now + units;
    for (; this.now < end; this.now++) {
      if (cond()) return;
      this.#unit();
    }
    if (!cond()) throw new SafetyViolation(`liveness: ${what} did not happen within ${units} units`);
  }

  /** Proposes `value` on node `id`; returns its position if the node accepted it. */
  proposeOn(id: NodeId, value: string): { index: number; term: number } | undefined {
    const n = this.node(id);
    if (n.raw === undefined) return undefined;
    try {
      const pos = n.raw.propose(enc.encode(value));
      n.proposals.set(pos.index, { term: pos.term, key: entryKey({ index: pos.index, term: pos.term, type: EntryType.Normal, data: enc.encode(value) }) });
      return pos;
    } catch (e) {
      if (e instanceof NotLeaderError || e instanceof ProposalDroppedError) return undefined;
      throw e;
    }
  }

  /** Cuts node `id` off from everyone, both ways. */
  isolate(id: NodeId): void {
    for (const n of this.nodes) {
      if (n.id === id) continue;
      this.net.block(id, n.id);
      this.net.block(n.id, id);
    }
  }

  /** Heals links only (faults stay as configured). */
  reconnect(): void {
    this.net.heal();
  }

  crashNode(id: NodeId, downFor = Number.MAX_SAFE_INTEGER): void {
    this.crash(this.node(id), downFor);
  }

  restartNode(id: NodeId): void {
    this.restart(this.node(id));
  }

  /** The value applied at `index` by node `id`'s state machine so far, if any. */
  appliedOn(id: NodeId): number {
    return this.node(id).applied;
  }

  /** Every node that is up has applied at least `index`. */
  allApplied(index: number): boolean {
    return this.nodes.every((n) => n.raw === undefined || n.applied >= index);
  }

  /** Runs both phases. Throws SafetyViolation (or whatever the core threw) on failure. */
  run(): void {
    const o = this.options;
    for (; this.now < o.faultUnits; this.now++) this.#unit();
    this.settle();
  }

  /** Heals every fault, then requires a fresh proposal to reach every node (liveness). */
  settle(): void {
    const o = this.options;
    this.heal();
    const start = this.now;
    let target: { node: SimNode; index: number; term: number } | undefined;
    for (; this.now < start + o.livenessUnits; this.now++) {
      this.#unit();
      if (target !== undefined && target.node.raw !== undefined && target.node.raw.termAt(target.index) !== target.term) target = undefined;
      if (target === undefined && this.now % 5 === 0) {
        const l = this.leader();
        if (l !== undefined) target = this.#propose(l);
      }
      if (target !== undefined && this.nodes.every((n) => n.applied >= target!.index) && target.node.raw?.termAt(target.index) === target.term) {
        this.stats.livenessUnits = this.now - start;
        this.checker.checkAcked();
        return;
      }
    }
    throw new SafetyViolation(`liveness: no proposal committed on every node within ${o.livenessUnits} units after healing (leader: ${this.leader()?.id ?? "none"})`);
  }

  /** Ends the fault phase: links heal, the network turns reliable, every node comes back. */
  heal(): void {
    this.#faulty = false;
    this.net.heal();
    this.net.faults = { dropRate: 0, dupRate: 0, maxDelay: this.options.maxDelay };
    for (const n of this.nodes) this.restart(n);
  }

  #unit(): void {
    const o = this.options;
    for (const { msg, cut } of this.net.due(this.now)) this.#deliver(msg, cut);
    for (const n of this.nodes) {
      if (n.raw === undefined) {
        if (this.now >= n.upAt) this.restart(n);
        continue;
      }
      if (this.now >= n.nextTick) {
        n.raw.tick();
        n.nextTick += n.tickUnits;
      }
    }
    if (this.#faulty) this.#injectFaults();
    const r = this.#rng;
    // Random client traffic runs with the faults; once healed, only the liveness probe proposes
    // (a fixed bound cannot hold under a load the configuration cannot carry, e.g. one entry per
    // message with a window of one on a reordering network).
    if (!this.#faulty) {
      for (const n of this.nodes) this.#driveReady(n);
      return;
    }
    if (r.chance(o.proposeRate)) {
      const n = r.pick(this.nodes);
      if (n.raw !== undefined) this.#propose(n);
    }
    if (r.chance(o.readRate)) {
      const n = r.pick(this.nodes);
      if (n.raw !== undefined) {
        const ctx = `r${this.#valueSeq++}`;
        n.reads.set(ctx, this.checker.appliedMax);
        n.raw.readIndex(enc.encode(ctx));
      }
    }
    if (r.chance(o.transferRate)) {
      const l = this.leader();
      if (l !== undefined) l.raw!.transferLeader(r.range(1, o.voters));
    }
    for (const n of this.nodes) {
      if (n.raw !== undefined && n.disk.hasUnsynced() && r.chance(0.05)) {
        n.disk.sync(); // the OS flushes on its own now and then
        this.checker.onSynced(n.id, n.disk.synced.hardState());
      }
    }
    for (const n of this.nodes) this.#driveReady(n);
  }

  /**
   * The shell's Ready loop, pipelined like RaftNode's: complete the saves that are due (in
   * order), take new Readys while earlier saves are still in flight.
   */
  #driveReady(n: SimNode): void {
    for (let i = 0; i < 100 && n.raw !== undefined; i++) {
      const head = n.saves[0];
      if (head !== undefined && this.now >= head.doneAt) {
        n.saves.shift();
        this.#completeSave(n, head.rd);
        continue;
      }
      if (!n.raw.hasReady()) return;
      const rd = n.raw.ready();
      this.#takeReady(n, rd);
      const delay = this.options.ioDelayMax === 0 ? 0 : this.#rng.int(this.options.ioDelayMax + 1);
      n.saves.push({ rd, doneAt: Math.max(this.now + delay, n.saves.at(-1)?.doneAt ?? 0) });
    }
  }

  #propose(n: SimNode): { node: SimNode; index: number; term: number } | undefined {
    const pos = this.proposeOn(n.id, `v${this.#valueSeq++}`);
    return pos === undefined ? undefined : { node: n, ...pos };
  }

  #deliver(m: Message, cut: boolean): void {
    const to = this.nodes[m.to - 1];
    const from = this.nodes[m.from - 1];
    const lost = cut || to === undefined || to.raw === undefined;
    if (lost) {
      // A transport notices a failed stream: tell the sender (if still up).
      if (from?.raw !== undefined) {
        if (m.type === MessageType.Snap) from.raw.reportSnapshot(m.to, false);
        else if (this.#rng.chance(0.1)) from.raw.reportUnreachable(m.to);
      }
      return;
    }
    if (from !== undefined) this.#checkDurableBeforeAck(m, from, to);
    to.raw!.step(m);
    if (this.#faulty && this.#rng.chance(this.options.garbageRate)) {
      this.stats.garbage++;
      to.raw!.step(malformed(m, this.#rng, this.nodes.length));
    }
    if (m.type === MessageType.Snap && from?.raw !== undefined) from.raw.reportSnapshot(m.to, true);
  }

  #checkDurableBeforeAck(m: Message, from: SimNode, to: SimNode): void {
    const st = to.raw!.status();
    if (m.reject || st.term !== m.term) return;
    if (m.type === MessageType.AppResp && st.role === StateRole.Leader) {
      if (m.index > st.lastIndex || m.index < to.raw!.firstIndex() - 1) return; // bogus, or compacted here
      this.checker.onAppendAck(from.id, to.id, m.term, m.index, to.raw!.termAt(m.index), from.disk.synced);
    } else if (m.type === MessageType.VoteResp && st.role === StateRole.Candidate) {
      this.checker.onVoteGranted(from.id, to.id, m.term, from.disk.synced);
    }
  }

  #applyEntry(n: SimNode, e: Entry): void {
    n.hash = this.checker.onApply(n.id, n.applied, n.hash, e);
    n.applied = e.index;
    n.sinceSnapshot++;
    const p = n.proposals.get(e.index);
    if (p !== undefined) {
      n.proposals.delete(e.index);
      if (p.term === e.term) {
        this.checker.onAcked(e.index, p.key);
        this.stats.acked++;
      }
    }
  }

  /** A Ready is taken: check what it reveals, send what may leave now, apply what is durable. */
  #takeReady(n: SimNode, rd: Ready): void {
    const raw = n.raw!;
    if (rd.hardState !== undefined) {
      this.checker.onHardState(n.id, n.lastHard, rd.hardState);
      n.lastHard = rd.hardState;
      if (rd.hardState.term > this.stats.maxTerm) this.stats.maxTerm = rd.hardState.term;
      if (rd.hardState.commit > n.lastCommitChecked) {
        const log = logView(raw);
        this.checker.onCommit(n.id, n.lastCommitChecked, rd.hardState.commit, log);
        this.checker.checkCommitDurable(n.id, rd.hardState.commit, log.term(rd.hardState.commit), this.#votersSynced());
        n.lastCommitChecked = rd.hardState.commit;
      }
    }
    const st = raw.status();
    if (st.role === StateRole.Leader) {
      if (!this.checker.leaderOfTerm.has(st.term)) this.stats.leaders++;
      // The whole log, unstable tail included: with a slow shell, entries a new leader holds
      // may not have reached its disk yet.
      this.checker.onLeader(n.id, st.term, n.isObserver, logView(raw));
    }
    this.#send(n, rd.messages);
    for (const e of rd.committedEntries) {
      this.checker.checkAppliedDurable(n.id, e, n.disk.synced);
      this.#applyEntry(n, e);
    }
    if (n.applied > this.stats.applied) this.stats.applied = n.applied;
    for (const rs of rd.readStates) {
      const ctx = new TextDecoder().decode(rs.context);
      const min = n.reads.get(ctx);
      if (min === undefined) continue; // issued by an earlier incarnation
      n.reads.delete(ctx);
      this.checker.onRead(n.id, rs.index, min);
      this.stats.reads++;
    }
    if (rd.snapshot === undefined) raw.applied(rd);
    this.#maybeSnapshot(n);
  }

  /** A Ready's save completes (after every earlier one): write, sync, then what waited for it. */
  #completeSave(n: SimNode, rd: Ready): void {
    const raw = n.raw!;
    const disk = n.disk;
    if (rd.snapshot !== undefined) disk.writeSnapshot(rd.snapshot);
    disk.writeEntries(rd.entries);
    if (rd.hardState !== undefined) disk.writeHardState(rd.hardState);
    this.checker.onWritten(n.id, disk.current, rd.entries, this.#storages());
    if (rd.mustSync) {
      if (this.crashBeforeSync.delete(n.id)) {
        this.crash(n, Number.MAX_SAFE_INTEGER);
        return;
      }
      if (this.#faulty && this.#rng.chance(this.options.crashMidReadyRate)) {
        this.stats.midReadyCrashes++;
        this.crash(n, 1 + this.#rng.int(this.options.downtimeMax));
        return;
      }
      disk.sync();
      this.checker.onSynced(n.id, disk.synced.hardState());
    }
    this.#send(n, rd.messagesAfterPersist);
    raw.persisted(rd);
    if (rd.snapshot !== undefined) {
      const meta = rd.snapshot.meta;
      const hash = new DataView(rd.snapshot.data.buffer, rd.snapshot.data.byteOffset).getUint32(4);
      this.checker.onSnapshotInstalled(n.id, meta.index, hash);
      n.applied = meta.index;
      n.hash = hash;
      raw.applied(rd);
    }
  }

  #send(n: SimNode, msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.stats.messages++;
      if (m.type === MessageType.Snap) this.stats.snapshotsSent++;
      if (!this.net.send(this.now, m) && m.type === MessageType.Snap) n.raw!.reportSnapshot(m.to, false);
    }
  }

  #maybeSnapshot(n: SimNode): void {
    if (this.options.snapshotEvery === 0 || n.sinceSnapshot < this.options.snapshotEvery) return;
    const data = new Uint8Array(8);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, n.applied);
    dv.setUint32(4, n.hash);
    n.disk.snapshotAndCompact(n.applied, data, this.options.snapshotRetain);
    this.checker.onSynced(n.id, n.disk.synced.hardState());
    n.sinceSnapshot = 0;
  }

  /** Every voter's synced store (crashed ones included: their disks keep what was synced). */
  *#votersSynced(): Generator<MemoryStorage> {
    for (const n of this.nodes) if (!n.isObserver) yield n.disk.synced;
  }

  *#storages(): Generator<[NodeId, MemoryStorage]> {
    for (const n of this.nodes) if (n.raw !== undefined) yield [n.id, n.disk.current];
  }

  #injectFaults(): void {
    const o = this.options;
    const r = this.#rng;
    if (r.chance(o.crashRate)) {
      const n = (r.chance(o.crashLeaderBias) ? this.leader() : undefined) ?? r.pick(this.nodes);
      this.crash(n, 1 + r.int(o.downtimeMax));
    }
    const flapping = o.partitionKinds.includes("flapping");
    if (r.chance(flapping ? o.partitionRate * 5 : o.partitionRate)) {
      this.stats.partitions++;
      this.net.heal();
      if (r.chance(0.3)) return; // healed for a while
      this.#partition(r.pick(o.partitionKinds));
    }
  }

  #partition(kind: PartitionKind): void {
    const r = this.#rng;
    const ids = this.nodes.map((n) => n.id);
    switch (kind) {
      case "isolate":
      case "isolateLeader": {
        const x = (kind === "isolateLeader" ? this.leader()?.id : undefined) ?? r.pick(ids);
        for (const y of ids) if (y !== x) { this.net.block(x, y); this.net.block(y, x); }
        return;
      }
      case "asymmetric": {
        // Some directed links fail while their reverse works (a half-broken NIC, a firewall).
        for (const x of ids) for (const y of ids) if (x !== y && r.chance(0.3)) this.net.block(x, y);
        return;
      }
      case "symmetric":
      case "flapping": {
        const side = new Set(ids.filter(() => r.chance(0.5)));
        for (const x of ids) for (const y of ids) if (side.has(x) !== side.has(y)) this.net.block(x, y);
        return;
      }
    }
  }
}

/** A live core's whole log (unstable tail included), as the checker reads it. */
function logView(raw: RawNode): LogView {
  const last = raw.status().lastIndex;
  return { firstIndex: () => raw.firstIndex(), lastIndex: () => last, term: (i) => raw.termAt(i) };
}

/**
 * A copy of `m` broken in a way the core must detect (unknown sender, impossible numbers, gaps
 * in entries, a local type off the wire, ...). Undetectable corruption (a plausible but wrong
 * entry) is out of scope: Raft does not tolerate Byzantine peers; checksums in the transport do.
 */
function malformed(m: Message, rng: Prng, nodes: number): Message {
  const bad = { ...m } as { -readonly [K in keyof Message]: Message[K] };
  switch (rng.int(9)) {
    case 0: bad.from = nodes + 1 + rng.int(5); break;
    case 1: bad.term = rng.pick([-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY]); break;
    case 2: bad.index = rng.pick([-3, 0.5, Number.NaN]); break;
    case 3: bad.commit = rng.pick([-1, Number.NaN]); break;
    case 4: bad.type = 42 as MessageType; break;
    case 5: bad.to = m.to === 1 ? 2 : 1; break;
    case 6: bad.type = MessageType.Hup; break;
    case 7:
      bad.type = MessageType.App;
      bad.entries = [{ index: m.index + 2, term: m.term, type: EntryType.Normal, data: new Uint8Array(1) }];
      break;
    default:
      bad.type = MessageType.Snap;
      delete bad.snapshot;
  }
  return bad;
}

/** Runs one seed; never throws. */
export function runSeed(seed: number, voters: number, overrides: SwarmOverrides = {}, logger?: Logger): SimResult {
  let cluster: SimCluster | undefined;
  try {
    cluster = new SimCluster(seed, voters, overrides, logger);
    cluster.run();
    return { seed, voters, ok: true, time: cluster.now, stats: finish(cluster), options: cluster.options };
  } catch (e) {
    const failure = e instanceof SafetyViolation ? e.message : `core threw: ${(e as Error).stack ?? String(e)}`;
    const c = cluster ?? new SimCluster(seed, voters, overrides);
    return { seed, voters, ok: false, failure, time: c.now, stats: finish(c), options: c.options };
  }
}

function finish(c: SimCluster): SimStats {
  c.stats.dropped = c.net.dropped;
  return c.stats;
}

/** The one-line command that replays a seed. */
export function replayCommand(seed: number, voters: number, bug?: string): string {
  return `npx pnpm@10.34.8 sim --seeds 1 --start ${seed} --nodes ${voters}${bug === undefined ? "" : ` --bug ${bug}`} --verbose`;
}
