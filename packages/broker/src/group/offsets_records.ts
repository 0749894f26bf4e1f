// The records the group coordinator keeps in __consumer_offsets, and their byte codec.
// Pure. Keys are versioned like Kafka's (the leading int16 says what the key is), so the log
// can be compacted by key and replayed in order: the last value per key wins, a null value
// (tombstone) deletes.
//   key v1  offset commit:  int16 1, string group, string topic, int32 partition
//   key v3  group metadata: int16 3, string group
//   value of v1: int16 0, int64 offset, int32 leaderEpoch, string metadata, int64 commitTimestampMs
//   value of v3: int16 0, int32 groupEpoch, string assignor
// string = int16 byte length + UTF-8. Decoding rejects truncated or unknown input.
import type { CommittedOffset } from "./consumer_group.js";

export type OffsetsRecord =
  | { kind: "offset"; group: string; topic: string; partition: number; value: CommittedOffset | null }
  | { kind: "group"; group: string; value: { groupEpoch: number; assignor: string } | null };

export interface RawRecord {
  readonly key: Buffer;
  readonly value: Buffer | null;
}

const KEY_OFFSET = 1;
const KEY_GROUP = 3;

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
  const key = new Writer().int16(KEY_GROUP).string(r.group).done();
  const value = r.value === null ? null : new Writer().int16(0).int32(r.value.groupEpoch).string(r.value.assignor).done();
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
    if (v.int16() !== 0) throw new RangeError("unknown group-metadata value version");
    const groupEpoch = v.int32();
    const assignor = v.string();
    return { kind: "group", group, value: { groupEpoch, assignor } };
  }
  return null;
}
