// The records the group coordinator keeps in __consumer_offsets, and their byte codec.
// Pure. Keys are versioned like Kafka's (the leading int16 says what the key is), so the log
// can be compacted by key and replayed in order: the last value per key wins, a null value
// (tombstone) deletes.
//   key v1  offset commit:  int16 1, string group, string topic, int32 partition
//   key v3  group metadata: int16 3, string group
//   key v5  group member:   int16 5, string group, string memberId
//   value of v1: int16 0, int64 offset, int32 leaderEpoch, string metadata, int64 commitTimestampMs
//   value of v3: int16 0, int32 groupEpoch, string assignor
//            or int16 1, int32 groupEpoch, string assignor, int32 assignmentEpoch
//            or int16 2, int32 groupEpoch, string assignor, int32 assignmentEpoch, string subscriptionDigest
//   value of v5: int16 0, string instanceId, string rackId, string clientId, string clientHost,
//                int32 memberEpoch, int32 previousMemberEpoch, int32 rebalanceTimeoutMs,
//                int32 sessionTimeoutMs, int8 departed, string regex, strings topicNames,
//                tps assigned, tps pendingRevocation, tps target
//   strings = int32 count + string each; tps = int32 count + (string topic, int32 partition) each
// Member records (KIP-848's member metadata, target and current assignment in one) let a new
// coordinator rebuild the group after a failover; a member's tombstone removes it.
// string = int16 byte length + UTF-8. Decoding rejects truncated or unknown input.
import { parseTpKey, type TpKey, tpKey } from "./assignor.js";
import type { CommittedOffset } from "./consumer_group.js";

/** What a coordinator persists of one member (enough to rebuild it after a failover). */
export interface MemberRecord {
  readonly instanceId: string;
  readonly rackId: string;
  readonly clientId: string;
  readonly clientHost: string;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly departed: boolean;
  readonly regex: string;
  readonly topicNames: readonly string[];
  readonly assigned: readonly TpKey[];
  readonly pendingRevocation: readonly TpKey[];
  readonly target: readonly TpKey[];
}

export interface GroupMetadataRecord {
  readonly groupEpoch: number;
  readonly assignor: string;
  /** Absent in records written before membership was persisted (value version 0). */
  readonly assignmentEpoch?: number;
  /**
   * A digest of the subscribed topics' partition counts and racks the group was last
   * assigned against (KIP-848 persists that metadata too): a new coordinator that finds
   * different topics reassigns at once. Absent before value version 2.
   */
  readonly subscriptionDigest?: string;
}

export type OffsetsRecord =
  | { kind: "offset"; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: "group"; group: string; value: GroupMetadataRecord | null }
  | { kind: "member"; group: string; memberId: string; value: MemberRecord | null };

export interface RawRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

const KEY_OFFSET = 1;
const KEY_GROUP = 3;
const KEY_MEMBER = 5;

class Writer {
  private parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  int64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    const bytes = Buffer.from(s, "utf8");
    if (bytes.length > 0x7fff) throw new RangeError(`string of ${bytes.length} bytes exceeds 32767`);
    return this.int16(bytes.length).bytes(bytes);
  }
  bytes(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  int8(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }
  strings(list: readonly string[]): this {
    this.int32(list.length);
    for (const x of list) this.string(x);
    return this;
  }
  tps(list: readonly TpKey[]): this {
    this.int32(list.length);
    for (const k of list) {
      const { topic, partition } = parseTpKey(k);
      this.string(topic).int32(partition);
    }
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError("truncated __consumer_offsets record");
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): number {
    this.need(8);
    const v = Number(this.buf.readBigInt64BE(this.pos));
    this.pos += 8;
    return v;
  }
  int8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  count(): number {
    const n = this.int32();
    // Each element takes at least 2 bytes: a count the rest cannot hold is corrupt.
    if (n < 0 || n * 2 > this.buf.length - this.pos) throw new RangeError("bad list length in __consumer_offsets record");
    return n;
  }
  strings(): string[] {
    const out: string[] = [];
    for (let i = this.count(); i > 0; i--) out.push(this.string());
    return out;
  }
  tps(): TpKey[] {
    const out: TpKey[] = [];
    for (let i = this.count(); i > 0; i--) {
      const topic = this.string();
      out.push(tpKey(topic, this.int32()));
    }
    return out;
  }
  string(): string {
    const n = this.int16();
    if (n < 0) throw new RangeError("negative string length");
    this.need(n);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

export function encodeOffsetsRecord(r: OffsetsRecord): RawRecord {
  if (r.kind === "offset") {
    const key = new Writer().int16(KEY_OFFSET).string(r.group).string(r.topic).int32(r.partition).done();
    const v = r.value;
    const value =
      v === null ? null : new Writer().int16(0).int64(v.offset).int32(v.leaderEpoch).string(v.metadata).int64(v.commitTimestampMs).done();
    return { key, value };
  }
  if (r.kind === "member") {
    const key = new Writer().int16(KEY_MEMBER).string(r.group).string(r.memberId).done();
    const m = r.value;
    const value =
      m === null
        ? null
        : new Writer()
            .int16(0)
            .string(m.instanceId)
            .string(m.rackId)
            .string(m.clientId)
            .string(m.clientHost)
            .int32(m.memberEpoch)
            .int32(m.previousMemberEpoch)
            .int32(m.rebalanceTimeoutMs)
            .int32(m.sessionTimeoutMs)
            .int8(m.departed ? 1 : 0)
            .string(m.regex)
            .strings(m.topicNames)
            .tps(m.assigned)
            .tps(m.pendingRevocation)
            .tps(m.target)
            .done();
    return { key, value };
  }
  const key = new Writer().int16(KEY_GROUP).string(r.group).done();
  const v = r.value;
  const value =
    v === null
      ? null
      : v.assignmentEpoch === undefined
        ? new Writer().int16(0).int32(v.groupEpoch).string(v.assignor).done()
        : v.subscriptionDigest === undefined
          ? new Writer().int16(1).int32(v.groupEpoch).string(v.assignor).int32(v.assignmentEpoch).done()
          : new Writer().int16(2).int32(v.groupEpoch).string(v.assignor).int32(v.assignmentEpoch).string(v.subscriptionDigest).done();
  return { key, value };
}

/** Decodes one record; returns null for key versions this coordinator does not know (skipped on replay). */
export function decodeOffsetsRecord(raw: RawRecord): OffsetsRecord | null {
  const k = new Reader(raw.key);
  const version = k.int16();
  if (version === KEY_OFFSET) {
    const group = k.string();
    const topic = k.string();
    const partition = k.int32();
    if (raw.value === null) return { kind: "offset", group, topic, partition, value: null };
    const v = new Reader(raw.value);
    if (v.int16() !== 0) throw new RangeError("unknown offset-commit value version");
    const offset = v.int64();
    const leaderEpoch = v.int32();
    const metadata = v.string();
    const commitTimestampMs = v.int64();
    return { kind: "offset", group, topic, partition, value: { offset, leaderEpoch, metadata, commitTimestampMs } };
  }
  if (version === KEY_GROUP) {
    const group = k.string();
    if (raw.value === null) return { kind: "group", group, value: null };
    const v = new Reader(raw.value);
    const valueVersion = v.int16();
    if (valueVersion < 0 || valueVersion > 2) throw new RangeError("unknown group-metadata value version");
    const groupEpoch = v.int32();
    const assignor = v.string();
    if (valueVersion === 0) return { kind: "group", group, value: { groupEpoch, assignor } };
    const assignmentEpoch = v.int32();
    if (valueVersion === 1) return { kind: "group", group, value: { groupEpoch, assignor, assignmentEpoch } };
    return { kind: "group", group, value: { groupEpoch, assignor, assignmentEpoch, subscriptionDigest: v.string() } };
  }
  if (version === KEY_MEMBER) {
    const group = k.string();
    const memberId = k.string();
    if (raw.value === null) return { kind: "member", group, memberId, value: null };
    const v = new Reader(raw.value);
    if (v.int16() !== 0) throw new RangeError("unknown member value version");
    const value: MemberRecord = {
      instanceId: v.string(),
      rackId: v.string(),
      clientId: v.string(),
      clientHost: v.string(),
      memberEpoch: v.int32(),
      previousMemberEpoch: v.int32(),
      rebalanceTimeoutMs: v.int32(),
      sessionTimeoutMs: v.int32(),
      departed: v.int8() !== 0,
      regex: v.string(),
      topicNames: v.strings(),
      assigned: v.tps(),
      pendingRevocation: v.tps(),
      target: v.tps(),
    };
    return { kind: "member", group, memberId, value };
  }
  return null;
}
