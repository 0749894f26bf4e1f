// Constructors for metadata records, the codec of a Raft entry (one MetadataBatch per
// controller request) and of image snapshots (the records that rebuild an image from empty),
// and the image digest used to compare images across nodes.
import { createHash } from "node:crypto";
import {
  ConfigResourceKind,
  MetadataBatch,
  MetadataSnapshot,
  type MetadataRecord,
  type PartitionChangeRecord,
} from "@brook/protocol/gen/brook/v1/metadata";
import { MetadataReplayError } from "../errors.js";
import { applyRecords, idBytes, METADATA_RECORD_VERSION } from "./delta.js";
import { EMPTY_IMAGE, type MetadataImage } from "./image.js";

type Payload = NonNullable<MetadataRecord["record"]>;

export function rec(record: Payload): MetadataRecord {
  return { version: METADATA_RECORD_VERSION, record };
}

export function partitionChange(c: Partial<PartitionChangeRecord> & { topicId: Uint8Array; partition: number }): MetadataRecord {
  return rec({
    $case: "partitionChange",
    partitionChange: {
      topicId: c.topicId,
      partition: c.partition,
      leader: c.leader ?? -2,
      hasIsr: c.hasIsr ?? false,
      isr: c.isr ?? [],
      hasReplicas: c.hasReplicas ?? false,
      replicas: c.replicas ?? [],
    },
  });
}

export function encodeBatch(records: readonly MetadataRecord[]): Uint8Array {
  return MetadataBatch.encode({ records: [...records] }).finish();
}

export function decodeBatch(data: Uint8Array): MetadataRecord[] {
  try {
    return MetadataBatch.decode(data).records;
  } catch (err) {
    throw new MetadataReplayError(`undecodable metadata batch: ${(err as Error).message}`);
  }
}

/** The records that rebuild `image` from the empty image, in a canonical order. */
export function imageRecords(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  if (image.cluster.clusterId !== "") out.push(rec({ $case: "clusterId", clusterId: { clusterId: image.cluster.clusterId } }));
  for (const b of [...image.cluster.brokers.values()].sort((a, c) => a.id - c.id)) {
    out.push(
      rec({
        $case: "registerBroker",
        registerBroker: {
          brokerId: b.id,
          incarnationId: b.incarnationId,
          brokerEpoch: b.epoch,
          endpoints: b.endpoints.map((e) => ({ ...e })),
          rack: b.rack,
          fenced: b.fenced,
        },
      }),
    );
    if (b.inControlledShutdown) {
      out.push(rec({ $case: "brokerRegistrationChange", brokerRegistrationChange: { brokerId: b.id, brokerEpoch: b.epoch, inControlledShutdown: 1 } }));
    }
  }
  const topics = [...image.topics.byId.values()].sort((a, c) => (a.name < c.name ? -1 : a.name > c.name ? 1 : 0));
  for (const t of topics) {
    const topicId = idBytes(t.id);
    out.push(rec({ $case: "topic", topic: { name: t.name, topicId } }));
    for (const [p, s] of [...t.partitions].sort((a, c) => a[0] - c[0])) {
      out.push(
        rec({
          $case: "partition",
          partition: { topicId, partition: p, replicas: [...s.replicas], isr: [...s.isr], leader: s.leader, leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch },
        }),
      );
    }
  }
  for (const key of [...image.configs.resources.keys()].sort()) {
    const sep = key.indexOf(":");
    const kind = key.slice(0, sep) === "broker" ? ConfigResourceKind.CONFIG_RESOURCE_KIND_BROKER : ConfigResourceKind.CONFIG_RESOURCE_KIND_TOPIC;
    const entries = [...(image.configs.resources.get(key) ?? new Map<string, string>())].sort((a, c) => (a[0] < c[0] ? -1 : 1));
    for (const [name, value] of entries) {
      out.push(rec({ $case: "config", config: { resourceType: kind, resourceName: key.slice(sep + 1), name, value, delete: false } }));
    }
  }
  if (image.producerIds.nextProducerId > 0) {
    // One block from 0 to the next id restores the counter; only the counter matters.
    out.push(rec({ $case: "producerIds", producerIds: { brokerId: -1, brokerEpoch: -1, firstProducerId: 0, size: image.producerIds.nextProducerId } }));
  }
  return out;
}

export function encodeSnapshot(image: MetadataImage): Uint8Array {
  return MetadataSnapshot.encode({ offset: image.offset, epoch: image.epoch, records: imageRecords(image) }).finish();
}

export function snapshotToImage(snap: MetadataSnapshot): MetadataImage {
  return applyRecords(EMPTY_IMAGE, snap.records, snap.offset, snap.epoch);
}

export function decodeSnapshot(data: Uint8Array): MetadataImage {
  let snap: MetadataSnapshot;
  try {
    snap = MetadataSnapshot.decode(data);
  } catch (err) {
    throw new MetadataReplayError(`undecodable metadata snapshot: ${(err as Error).message}`);
  }
  return snapshotToImage(snap);
}

/** SHA-256 of the canonical snapshot encoding: equal digests mean equal images (offset included). */
export function imageDigest(image: MetadataImage): string {
  return createHash("sha256").update(encodeSnapshot(image)).digest("hex");
}
