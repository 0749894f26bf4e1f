// SimNetwork: in-flight messages ordered by delivery time, plus the link state. Faults:
// per-message drop and duplication, random delay (which also reorders), and partitions, which
// block directed links (so they can be asymmetric). A link is checked when a message is sent
// and again when it arrives, so a partition also cuts what was already on the wire.
import type { Message, NodeId } from "../core/types.js";
import { TimeHeap } from "./heap.js";
import type { Prng } from "./prng.js";

interface InFlight {
  readonly time: number;
  readonly seq: number;
  readonly msg: Message;
}

export interface NetFaults {
  dropRate: number;
  dupRate: number;
  maxDelay: number;
}

export class SimNetwork {
  readonly #queue = new TimeHeap<InFlight>();
  readonly #blocked = new Set<string>();
  #seq = 0;
  sent = 0;
  dropped = 0;

  constructor(readonly rng: Prng, public faults: NetFaults) {}

  blocked(from: NodeId, to: NodeId): boolean {
    return this.#blocked.has(`${from}>${to}`);
  }

  block(from: NodeId, to: NodeId): void {
    this.#blocked.add(`${from}>${to}`);
  }

  heal(): void {
    this.#blocked.clear();
  }

  /** Puts a message on the wire; returns false when it was lost right away. */
  send(now: number, m: Message): boolean {
    this.sent++;
    if (this.blocked(m.from, m.to) || this.rng.chance(this.faults.dropRate)) {
      this.dropped++;
      return false;
    }
    this.#queue.push({ time: now + 1 + this.rng.int(this.faults.maxDelay), seq: this.#seq++, msg: m });
    if (this.rng.chance(this.faults.dupRate)) {
      this.#queue.push({ time: now + 1 + this.rng.int(this.faults.maxDelay), seq: this.#seq++, msg: m });
    }
    return true;
  }

  /** Messages due by `now`, with whether each survived the link at arrival. */
  *due(now: number): Generator<{ msg: Message; cut: boolean }> {
    for (;;) {
      const top = this.#queue.peek();
      if (top === undefined || top.time > now) return;
      this.#queue.pop();
      const cut = this.blocked(top.msg.from, top.msg.to);
      if (cut) this.dropped++;
      yield { msg: top.msg, cut };
    }
  }
}
