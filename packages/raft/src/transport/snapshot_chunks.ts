// Splits a snapshot into InstallSnapshot chunks and reassembles them with every check the wire
// format allows: per-chunk CRC-32, offsets in order, the declared total length, a size limit,
// and the CRC-32 of the whole data. Pure: no I/O.
import { crc32 } from "node:zlib";
import type { SnapshotChunk } from "@brook/protocol/gen/brook/v1/raft";
import { MessageType, type Message, type NodeId, type Snapshot } from "../core/types.js";
import { fromWireMessage, fromWireSnapshotMeta, toWireMessage, toWireSnapshotMeta } from "./message_codec.js";

export function* chunkSnapshot(m: Message & { snapshot: Snapshot }, chunkBytes: number): Generator<SnapshotChunk> {
  const data = m.snapshot.data;
  const dataCrc32 = crc32(data);
  const { snapshot: _omit, ...header } = m;
  let offset = 0;
  do {
    const piece = data.subarray(offset, Math.min(data.byteLength, offset + chunkBytes));
    const buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    const first = offset === 0;
    yield {
      ...(first ? { header: toWireMessage(header), meta: toWireSnapshotMeta(m.snapshot.meta) } : {}),
      totalBytes: data.byteLength,
      dataCrc32: first ? dataCrc32 : 0,
      offset,
      data: buf,
      chunkCrc32: crc32(buf),
    };
    offset += piece.byteLength;
  } while (offset < data.byteLength);
}

export class SnapshotReassemblyError extends Error {
  override readonly name = "SnapshotReassemblyError";
}

/** Accepts the chunks of one InstallSnapshot call in order; `finish()` yields the Snap message. */
export class SnapshotAssembler {
  #header: Message | undefined;
  #meta: Snapshot["meta"] | undefined;
  #total = 0;
  #dataCrc = 0;
  #received = 0;
  #parts: Buffer[] = [];

  constructor(
    private readonly self: NodeId,
    private readonly peers: ReadonlySet<NodeId>,
    private readonly maxBytes: number,
  ) {}

  /** Throws SnapshotReassemblyError with the reason when the chunk is not acceptable. */
  add(chunk: SnapshotChunk): void {
    if (this.#header === undefined) {
      if (chunk.header === undefined || chunk.meta === undefined) throw new SnapshotReassemblyError("first chunk has no header");
      const decoded = fromWireMessage(chunk.header, this.self, this.peers, true);
      if (!decoded.ok) throw new SnapshotReassemblyError(decoded.reason);
      if (chunk.header.type !== MessageType.Snap) throw new SnapshotReassemblyError(`header type ${chunk.header.type} is not Snap`);
      if (chunk.totalBytes > this.maxBytes) throw new SnapshotReassemblyError(`snapshot of ${chunk.totalBytes} bytes exceeds ${this.maxBytes}`);
      this.#header = decoded.value;
      this.#meta = fromWireSnapshotMeta(chunk.meta);
      this.#total = chunk.totalBytes;
      this.#dataCrc = chunk.dataCrc32;
    } else if (chunk.totalBytes !== this.#total) {
      throw new SnapshotReassemblyError(`chunk declares ${chunk.totalBytes} total bytes, first said ${this.#total}`);
    }
    if (chunk.offset !== this.#received) throw new SnapshotReassemblyError(`chunk at offset ${chunk.offset}, expected ${this.#received}`);
    if (crc32(chunk.data) !== chunk.chunkCrc32) throw new SnapshotReassemblyError(`chunk at offset ${chunk.offset} fails its checksum`);
    if (this.#received + chunk.data.byteLength > this.#total) throw new SnapshotReassemblyError("chunks exceed the declared total");
    this.#parts.push(chunk.data);
    this.#received += chunk.data.byteLength;
  }

  finish(): Message {
    if (this.#header === undefined || this.#meta === undefined) throw new SnapshotReassemblyError("no chunks received");
    if (this.#received !== this.#total) throw new SnapshotReassemblyError(`received ${this.#received} of ${this.#total} bytes`);
    const data = Buffer.concat(this.#parts, this.#total);
    if (crc32(data) !== this.#dataCrc) throw new SnapshotReassemblyError("reassembled snapshot fails its checksum");
    return { ...this.#header, snapshot: { meta: this.#meta, data } };
  }
}
