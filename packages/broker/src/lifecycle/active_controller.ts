// Finds and remembers the active controller among the voters and runs calls against it:
// a NOT_CONTROLLER answer naming a leader redirects there at once; one naming none, or an
// unreachable voter, moves on to the next voter after a backoff; all within a deadline.
// Transport-agnostic: the caller supplies the client factory and how to read a redirect.
// Sleep and clock are injected so the retry policy is testable without timers.

export type Redirect = { readonly leaderId: number | null };

export class NotControllerError extends Error {
  constructor(readonly leaderId: number | null) {
    super(leaderId === null ? "not the controller; leader unknown" : `not the controller; leader is ${leaderId}`);
    this.name = "NotControllerError";
  }
}

export interface ActiveControllerDeps<C> {
  readonly voters: ReadonlyMap<number, string>;
  readonly client: (id: number, address: string) => C;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
}

export class ActiveController<C> {
  private leaderId: number;
  private readonly ids: number[];
  private readonly clients = new Map<number, C>();

  constructor(private readonly deps: ActiveControllerDeps<C>) {
    this.ids = [...deps.voters.keys()].sort((a, b) => a - b);
    if (this.ids.length === 0) throw new Error("the controller quorum has no voters");
    this.leaderId = this.ids[0]!;
  }

  /** The voter currently believed to be active (may be stale until the next call). */
  current(): number {
    return this.leaderId;
  }

  /** Voter ids in order. */
  voterIds(): readonly number[] {
    return this.ids;
  }

  clientFor(id: number): C {
    let c = this.clients.get(id);
    if (c === undefined) {
      c = this.deps.client(id, this.deps.voters.get(id)!);
      this.clients.set(id, c);
    }
    return c;
  }

  allClients(): C[] {
    return [...this.clients.values()];
  }

  /**
   * Runs `fn` against the active controller. `fn` throws NotControllerError for a redirect;
   * any other error counts as "this voter is unreachable". Rethrows the last error at the deadline.
   */
  async call<R>(fn: (client: C) => Promise<R>, timeoutMs: number): Promise<R> {
    const deadline = this.deps.now() + timeoutMs;
    let backoff = 25;
    for (;;) {
      const id = this.leaderId;
      try {
        return await fn(this.clientFor(id));
      } catch (err) {
        if (err instanceof NotControllerError && err.leaderId !== null && err.leaderId !== id && this.deps.voters.has(err.leaderId)) {
          this.leaderId = err.leaderId; // a precise hint: no backoff
          continue;
        }
        if (this.leaderId === id) this.leaderId = this.ids[(this.ids.indexOf(id) + 1) % this.ids.length]!;
        if (this.deps.now() + backoff > deadline) throw err;
        await this.deps.sleep(backoff);
        backoff = Math.min(1_000, backoff * 2);
      }
    }
  }
}
