// A level-triggered wake-up for one waiting loop: a wake() that arrives while the loop is
// busy (not yet waiting) is remembered, so the next wait() returns at once. A plain
// "resolve the current waiter" callback loses such wakes and the loop then sleeps its whole
// timeout, which is how freshly fetched records or newly assigned partitions sat idle.
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | null = null;

  wake(): void {
    const r = this.resolve;
    if (r === null) {
      this.pending = true;
      return;
    }
    this.resolve = null;
    r();
  }

  /** Resolves at the next wake() (or one that came since the last wait), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (this.resolve === done) this.resolve = null;
        resolve();
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.resolve = done;
    });
  }
}
