// Produce and ProduceStream requests as protobuf bytes, written straight into one Buffer.
// protobufjs (behind ts-proto's encode) queues an operation per field and then copies every
// record batch into its output: a megabyte request was a megabyte of fresh memory and a
// megabyte memcpy on top of the batch itself, and grpc-js copies the message once more into
// its frame. Sizing the message first and writing it once drops protobufjs's copy and its
// per-field objects. The bytes are exactly what ts-proto writes (fields in number order,
// proto3 defaults left out); produce_encoding.test.ts holds the two side by side.
import type { ProduceRequest, ProduceStreamRequest } from "@brook/protocol/gen/brook/v1/broker";

/** Bytes of `n` as a protobuf varint (int32/int64 semantics: negatives take ten bytes). */
function varintSize(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, pos: number, n: number): number {
  if (n < 0) {
    // Two's complement over 64 bits, as protobuf encodes negative int32 and int64 values.
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      out[pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    out[pos++] = Number(v);
    return pos;
  }
  while (n >= 128) {
    out[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}

/** A length-delimited field's bytes: tag, length, body. */
const delimited = (body: number): number => 1 + varintSize(body) + body;

function partitionSize(partition: number, records: Uint8Array): number {
  return (partition !== 0 ? 1 + varintSize(partition) : 0) + (records.length !== 0 ? delimited(records.length) : 0);
}

function topicSize(t: ProduceRequest["topics"][number]): number {
  const name = Buffer.byteLength(t.topic, "utf8");
  let size = t.topic !== "" ? delimited(name) : 0;
  for (const p of t.partitions) size += delimited(partitionSize(p.partition, p.records));
  return size;
}

function requestSize(r: ProduceRequest): number {
  let size = (r.acks !== 0 ? 1 + varintSize(r.acks) : 0) + (r.timeoutMs !== 0 ? 1 + varintSize(r.timeoutMs) : 0);
  for (const t of r.topics) size += delimited(topicSize(t));
  if (r.transactionalId !== "") size += delimited(Buffer.byteLength(r.transactionalId, "utf8"));
  return size;
}

function writeString(out: Buffer, pos: number, tag: number, s: string): number {
  out[pos++] = tag;
  pos = writeVarint(out, pos, Buffer.byteLength(s, "utf8"));
  return pos + out.write(s, pos, "utf8");
}

function writeRequest(out: Buffer, pos: number, r: ProduceRequest): number {
  if (r.acks !== 0) {
    out[pos++] = 8;
    pos = writeVarint(out, pos, r.acks);
  }
  if (r.timeoutMs !== 0) {
    out[pos++] = 16;
    pos = writeVarint(out, pos, r.timeoutMs);
  }
  for (const t of r.topics) {
    out[pos++] = 26;
    pos = writeVarint(out, pos, topicSize(t));
    if (t.topic !== "") pos = writeString(out, pos, 10, t.topic);
    for (const p of t.partitions) {
      out[pos++] = 18;
      pos = writeVarint(out, pos, partitionSize(p.partition, p.records));
      if (p.partition !== 0) {
        out[pos++] = 8;
        pos = writeVarint(out, pos, p.partition);
      }
      if (p.records.length !== 0) {
        out[pos++] = 18;
        pos = writeVarint(out, pos, p.records.length);
        out.set(p.records, pos);
        pos += p.records.length;
      }
    }
  }
  if (r.transactionalId !== "") pos = writeString(out, pos, 34, r.transactionalId);
  return pos;
}

/** A ProduceRequest's protobuf bytes, in one Buffer sized up front. */
export function encodeProduceRequest(r: ProduceRequest, alloc: (size: number) => Buffer = (n) => Buffer.allocUnsafe(n)): Buffer {
  const out = alloc(requestSize(r));
  writeRequest(out, 0, r);
  return out;
}

/** A ProduceStreamRequest's protobuf bytes, in one Buffer sized up front and taken from `alloc`. */
export function encodeProduceStreamRequest(m: ProduceStreamRequest, alloc: (size: number) => Buffer = (n) => Buffer.allocUnsafe(n)): Buffer {
  const inner = m.request !== undefined ? requestSize(m.request) : -1;
  const out = alloc((m.correlationId !== 0 ? 1 + varintSize(m.correlationId) : 0) + (inner >= 0 ? delimited(inner) : 0));
  let pos = 0;
  if (m.correlationId !== 0) {
    out[pos++] = 8;
    pos = writeVarint(out, pos, m.correlationId);
  }
  if (m.request !== undefined) {
    out[pos++] = 18;
    pos = writeVarint(out, pos, inner);
    writeRequest(out, pos, m.request);
  }
  return out;
}
