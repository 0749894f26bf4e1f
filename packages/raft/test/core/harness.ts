// A tiny synchronous harness for unit tests of the core: RawNodes over MemoryStorage, with a
// message queue the test delivers (or drops) explicitly. No faults beyond what a test asks for.
import { MemoryStorage } from "../../src/core/memory_storage.js";
import { RawNode } from "../../src/core/raw_node.js";
import type { Entry, Message, NodeId, RaftConfig, ReadState, Rng, Logger } from "../../src/core/types.js";

export function seqRng(seed = 1): Rng {
  let s = seed >>> 0;
  return {
    int(n: number): number {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return (s >>> 8) % n; // the low bits of an LCG cycle too fast
    },
  };
}

export class RecordingLogger implements Logger {
  readonly lines: string[] = [];
  debug(msg: string): void {
    this.lines.push(`DEBUG ${msg}`);
  }
  info(msg: string): void {
    this.lines.push(`INFO ${msg}`);
  }
  warn(msg: string): void {
    this.lines.push(`WARN ${msg}`);
  }
}

export interface TestNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  node: RawNode;
  readonly applied: Entry[];
  readonly reads: ReadState[];
  readonly logger: RecordingLogger;
}

export class Harness {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  /** Links (from->to) that drop everything. */
  readonly cut = new Set<string>();
  /** Drops any message this returns true for (set by a test to script a schedule). */
  drop: ((m: Message) => boolean) | undefined;
  /** Every message sent, in order (for tests that count round trips). */
  readonly sent: Message[] = [];

  constructor(
    voters: NodeId[],
    observers: NodeId[] = [],
    readonly extra: Partial<RaftConfig> = {},
    setup?: (id: NodeId, storage: MemoryStorage) => void,
  ) {
    for (const id of [...voters, ...observers]) {
      const storage = new MemoryStorage(voters, observers);
      setup?.(id, storage);
      const logger = new RecordingLogger();
      const node = new RawNode({ id, electionTicks: 10, heartbeatTicks: 1, storage, rng: seqRng(id), logger, ...extra });
      this.nodes.set(id, { id, storage, node, applied: [], reads: [], logger });
    }
  }

  /** Rebuilds node `id` from its storage, as after a restart (volatile state is gone). */
  restart(id: NodeId): void {
    const n = this.get(id);
    n.node = new RawNode({ id, electionTicks: 10, heartbeatTicks: 1, storage: n.storage, rng: seqRng(id + 100), logger: n.logger, ...this.extra });
  }

  get(id: NodeId): TestNode {
    return this.nodes.get(id)!;
  }

  /** Handles every pending Ready of every node, queueing messages. */
  processReady(): void {
    for (const n of this.nodes.values()) {
      while (n.node.hasReady()) {
        const rd = n.node.ready();
        if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
        n.storage.append(rd.entries);
        if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
        for (const m of [...rd.messages, ...rd.messagesAfterPersist]) {
          this.sent.push(m);
          if (!this.cut.has(`${m.from}->${m.to}`) && this.drop?.(m) !== true) this.queue.push(m);
        }
        n.applied.push(...rd.committedEntries);
        n.reads.push(...rd.readStates);
        n.node.advance(rd);
      }
    }
  }

  /** Delivers messages until the cluster is quiet. */
  stabilize(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      this.processReady();
      if (this.queue.length === 0) return;
      const q = this.queue;
      this.queue = [];
      for (const m of q) this.nodes.get(m.to)?.node.step(m);
    }
    throw new Error("harness did not stabilize");
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const x of this.nodes.values()) x.node.tick();
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Election: campaign on `id` and deliver everything. */
  elect(id: NodeId): void {
    this.get(id).node.campaign();
    this.stabilize();
  }
}

export const data = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (e: Entry): string => new TextDecoder().decode(e.data);
