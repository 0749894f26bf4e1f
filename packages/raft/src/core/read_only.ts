// ReadOnly: ReadIndex requests a leader is confirming (Raft thesis §6.4). A request records the
// commit index when it arrived; it is safe to serve once a quorum of voters has answered a
// heartbeat sent after it, proving this node was still leader at that moment. An ack for a
// later request also confirms every earlier one, so they are released in arrival order.
import type { NodeId } from "./types.js";

export interface ReadRequest {
  readonly index: number;
  readonly context: Uint8Array;
  /** Who asked: this node's id for a local read, else the follower to answer. */
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

export function contextKey(context: Uint8Array): string {
  let s = "";
  for (let i = 0; i < context.length; i++) s += String.fromCharCode(context[i]!);
  return s;
}

export class ReadOnly {
  #pending = new Map<string, ReadRequest>();
  #queue: string[] = [];

  /** Returns false when a request with the same context is already pending. */
  add(index: number, context: Uint8Array, from: NodeId): boolean {
    const key = contextKey(context);
    if (this.#pending.has(key)) return false;
    this.#pending.set(key, { index, context, from, acks: new Set() });
    this.#queue.push(key);
    return true;
  }

  /** Records a heartbeat answer; returns the acks so far, or undefined for an unknown context. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.#pending.get(contextKey(context));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one with `context`. */
  advance(context: Uint8Array): ReadRequest[] {
    const key = contextKey(context);
    const at = this.#queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.#queue.splice(0, at + 1);
    const out: ReadRequest[] = [];
    for (const k of keys) {
      out.push(this.#pending.get(k)!);
      this.#pending.delete(k);
    }
    return out;
  }

  lastPendingContext(): Uint8Array | undefined {
    const key = this.#queue[this.#queue.length - 1];
    return key === undefined ? undefined : this.#pending.get(key)!.context;
  }

  pendingCount(): number {
    return this.#queue.length;
  }

  reset(): void {
    this.#pending.clear();
    this.#queue = [];
  }
}
