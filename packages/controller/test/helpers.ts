// Test support: a fake clock, deterministic topic ids, and a tiny driver that commits a
// ControllerResult's records onto an image the way the quorum would (one entry per request).
import { applyRecords } from "../src/image/delta.js";
import { EMPTY_IMAGE, type MetadataImage } from "../src/image/image.js";
import { ControllerLogic, DEFAULT_LOGIC_CONFIG, type ControllerLogicConfig, type ControllerResult } from "../src/logic/controller_logic.js";

export class FakeClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function topicIds(): () => Uint8Array {
  let n = 0;
  return () => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(++n, 12);
    return b;
  };
}

export class Harness {
  image: MetadataImage = EMPTY_IMAGE;
  readonly clock = new FakeClock();
  readonly logic: ControllerLogic;
  offset = 0;
  readonly log: { offset: number; records: ControllerResult<unknown>["records"] }[] = [];

  constructor(cfg: Partial<ControllerLogicConfig> = {}) {
    this.logic = new ControllerLogic({ ...DEFAULT_LOGIC_CONFIG, ...cfg }, this.clock, topicIds());
    this.logic.becameActive(this.image);
  }

  commit<T>(result: ControllerResult<T>): T {
    if (result.records.length > 0) {
      this.offset++;
      this.image = applyRecords(this.image, result.records, this.offset, 1);
      this.log.push({ offset: this.offset, records: result.records });
      result.onCommit?.(this.offset);
    }
    return result.response;
  }

  /** Registers and unfences brokers 1..n (racks optional), as the broker lifecycle does. */
  addBrokers(n: number, racks: string[] = []): void {
    for (let id = 1; id <= n; id++) this.addBroker(id, racks[id - 1] ?? "");
  }

  addBroker(id: number, rack = ""): number {
    const { brokerEpoch } = this.commit(
      this.logic.registerBroker(this.image, { brokerId: id, incarnationId: `inc-${id}-${this.offset}`, endpoints: [{ name: "CLIENT", host: "127.0.0.1", port: 9000 + id }], rack }),
    );
    const hb = this.commit(this.logic.heartbeat(this.image, { brokerId: id, brokerEpoch, currentMetadataOffset: this.offset, wantFence: false, wantShutDown: false, offlineLogDirs: [] }));
    if (hb.isFenced) throw new Error(`broker ${id} stayed fenced`);
    return brokerEpoch;
  }

  heartbeat(id: number, extra: { wantFence?: boolean; wantShutDown?: boolean; offset?: number; offlineLogDirs?: string[] } = {}) {
    const b = this.image.cluster.brokers.get(id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return this.commit(
      this.logic.heartbeat(this.image, {
        brokerId: id,
        brokerEpoch: b.epoch,
        currentMetadataOffset: extra.offset ?? this.offset,
        wantFence: extra.wantFence ?? false,
        wantShutDown: extra.wantShutDown ?? false,
        offlineLogDirs: extra.offlineLogDirs ?? [],
      }),
    );
  }

  createTopic(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}) {
    return this.commit(
      this.logic.createTopics(this.image, {
        topics: [{ name, numPartitions, replicationFactor, configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v, isDefault: false, readOnly: false })), assignments: [] }],
        timeoutMs: 0,
        validateOnly: false,
      }),
    ).topics[0];
  }

  partition(topic: string, p: number) {
    const id = this.image.topics.byName.get(topic);
    const s = id === undefined ? undefined : this.image.topics.byId.get(id)?.partitions.get(p);
    if (s === undefined) throw new Error(`no partition ${topic}-${p}`);
    return s;
  }
}
