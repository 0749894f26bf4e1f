// Converts the core's Message to and from the wire RaftMessage (proto/brook/v1/raft.proto) and
// validates what arrives. Validation here is structural (known sender, addressed to us, a type
// that may travel, sane integers, contiguous entries); the core itself judges terms and
// indexes and drops what is stale. Pure: no I/O.
import type { RaftEntry, RaftMessage, SnapshotMeta as WireSnapshotMeta } from "@brook/protocol/gen/brook/v1/raft";
import { EntryType, MessageType, type Entry, type Message, type NodeId, type SnapshotMeta } from "../core/types.js";

/** Message types that travel on the Send stream. Snap travels on InstallSnapshot. */
const STREAM_TYPES: ReadonlySet<number> = new Set([
  MessageType.App,
  MessageType.AppResp,
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
  MessageType.Heartbeat,
  MessageType.HeartbeatResp,
  MessageType.TimeoutNow,
  MessageType.ReadIndex,
  MessageType.ReadIndexResp,
  MessageType.TransferLeader,
]);

export function isStreamType(type: MessageType): boolean {
  return STREAM_TYPES.has(type);
}

export function toWireMessage(m: Message): RaftMessage {
  return {
    type: m.type,
    from: m.from,
    to: m.to,
    term: m.term,
    index: m.index,
    logTerm: m.logTerm,
    commit: m.commit,
    entries: m.entries.map(toWireEntry),
    reject: m.reject,
    rejectHint: m.rejectHint,
    hasContext: m.context !== undefined,
    context: m.context === undefined ? EMPTY : asBuffer(m.context),
  };
}

function toWireEntry(e: Entry): RaftEntry {
  return { index: e.index, term: e.term, type: e.type, data: asBuffer(e.data) };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Checks a wire message for `self` from one of `peers` and converts it. `allowSnap` admits the
 * Snap header of an InstallSnapshot call (its snapshot is attached by the caller).
 */
export function fromWireMessage(w: RaftMessage, self: NodeId, peers: ReadonlySet<NodeId>, allowSnap = false): Decoded<Message> {
  if (!peers.has(w.from)) return { ok: false, reason: `message from unknown node ${w.from}` };
  if (w.to !== self) return { ok: false, reason: `message for node ${w.to} reached node ${self}` };
  if (!(isStreamType(w.type) || (allowSnap && w.type === MessageType.Snap))) {
    return { ok: false, reason: `message type ${w.type} may not travel between nodes` };
  }
  for (const [name, n] of [
    ["term", w.term],
    ["index", w.index],
    ["logTerm", w.logTerm],
    ["commit", w.commit],
    ["rejectHint", w.rejectHint],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0) return { ok: false, reason: `${name} ${n} is not a valid u64` };
  }
  const entries: Entry[] = [];
  for (let k = 0; k < w.entries.length; k++) {
    const e = w.entries[k]!;
    if (w.type !== MessageType.App) return { ok: false, reason: `type ${w.type} may not carry entries` };
    if (e.index !== w.index + 1 + k) return { ok: false, reason: `entry ${k} has index ${e.index}, expected ${w.index + 1 + k}` };
    if (!Number.isSafeInteger(e.term) || e.term <= 0 || e.term > w.term) {
      return { ok: false, reason: `entry ${e.index} has term ${e.term} outside (0, ${w.term}]` };
    }
    if (e.type !== EntryType.Normal && e.type !== EntryType.Empty) return { ok: false, reason: `entry ${e.index} has unknown type ${e.type}` };
    entries.push({ index: e.index, term: e.term, type: e.type, data: e.data });
  }
  const base = {
    type: w.type as MessageType,
    from: w.from,
    to: w.to,
    term: w.term,
    index: w.index,
    logTerm: w.logTerm,
    commit: w.commit,
    entries,
    reject: w.reject,
    rejectHint: w.rejectHint,
  };
  return { ok: true, value: w.hasContext ? { ...base, context: w.context } : base };
}

export function toWireSnapshotMeta(meta: SnapshotMeta): WireSnapshotMeta {
  return { index: meta.index, term: meta.term, voters: [...meta.voters], observers: [...meta.observers] };
}

export function fromWireSnapshotMeta(w: WireSnapshotMeta): SnapshotMeta {
  return { index: w.index, term: w.term, voters: w.voters, observers: w.observers };
}

const EMPTY = Buffer.alloc(0);

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
