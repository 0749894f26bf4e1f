// Message validation: the core's first line against bad input. A message that fails here is
// logged and dropped before it can touch any state (unknown sender, impossible numbers, entries
// that do not follow their App's index, a local-only type off the wire, ...). Pure functions.
import { EntryType, MessageType, type Message, type NodeId } from "./types.js";

const TYPE_NAMES = [
  "Hup", "Beat", "Prop", "App", "AppResp", "Vote", "VoteResp", "PreVote", "PreVoteResp", "Heartbeat",
  "HeartbeatResp", "Snap", "SnapStatus", "TimeoutNow", "ReadIndex", "ReadIndexResp", "TransferLeader", "Unreachable",
];

export function typeName(t: MessageType): string {
  return TYPE_NAMES[t] ?? `type ${String(t)}`;
}

/** Message types that only ever come from this node's own RawNode, never off the wire. */
function isLocal(t: MessageType): boolean {
  return t === MessageType.Hup || t === MessageType.Beat || t === MessageType.Prop || t === MessageType.SnapStatus || t === MessageType.Unreachable;
}

export function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** Why `m` must be dropped, or undefined when it is well formed for node `self`. */
export function validateMessage(m: Message, self: NodeId, isMember: (id: NodeId) => boolean): string | undefined {
  if (typeof m !== "object" || m === null) return "not a message";
  if (!Number.isInteger(m.type) || TYPE_NAMES[m.type] === undefined) return `unknown message type ${String(m.type)}`;
  for (const k of ["from", "to", "term", "index", "logTerm", "commit", "rejectHint"] as const) {
    if (!isCount(m[k])) return `field ${k} is not a non-negative integer (${String(m[k])})`;
  }
  if (!Array.isArray(m.entries)) return "entries is not an array";
  if (m.type === MessageType.Hup || m.type === MessageType.Beat || m.type === MessageType.Prop) {
    return m.from === self ? undefined : "local message from another node";
  }
  if (m.to !== self) return `addressed to ${m.to}, not to us`;
  if (!isMember(m.from)) return `unknown node ${m.from}`;
  if (isLocal(m.type)) return m.term === 0 ? undefined : "local message with a term";
  if (m.from === self && m.type !== MessageType.TransferLeader && m.type !== MessageType.ReadIndex) return "message from ourselves";
  if (m.term === 0 && m.type !== MessageType.ReadIndex && m.type !== MessageType.TransferLeader) return "term 0 on a wire message";
  if (m.entries.length > 0) {
    if (m.type !== MessageType.App) return "entries on a non-App message";
    let prevTerm = m.logTerm;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (typeof e !== "object" || e === null || !(e.data instanceof Uint8Array)) return `entry ${i} is malformed`;
      if (e.index !== m.index + 1 + i) return `entry ${i} has index ${e.index}, expected ${m.index + 1 + i}`;
      if (!isCount(e.term) || e.term < prevTerm || e.term > m.term) return `entry ${e.index} has bogus term ${e.term}`;
      if (e.type !== EntryType.Normal && e.type !== EntryType.Empty) return `entry ${e.index} has unknown type ${String(e.type)}`;
      prevTerm = e.term;
    }
  }
  if (m.type === MessageType.App && m.logTerm > m.term) return `logTerm ${m.logTerm} above message term ${m.term}`;
  if ((m.type === MessageType.Vote || m.type === MessageType.PreVote) && m.logTerm > m.term) return `candidate log term ${m.logTerm} above its term ${m.term}`;
  if (m.type === MessageType.Snap) {
    const s = m.snapshot;
    if (s === undefined || typeof s !== "object" || s === null || !(s.data instanceof Uint8Array)) return "Snap without a snapshot";
    if (typeof s.meta !== "object" || s.meta === null) return "Snap without snapshot metadata";
    if (!isCount(s.meta.index) || !isCount(s.meta.term) || s.meta.term > m.term || s.meta.index === 0 || s.meta.term === 0) {
      return `snapshot meta (index ${s.meta.index}, term ${s.meta.term}) is bogus`;
    }
  }
  if ((m.type === MessageType.ReadIndex || m.type === MessageType.ReadIndexResp) && !(m.context instanceof Uint8Array)) return "ReadIndex without context";
  return undefined;
}
