// Polling for broker-level integration tests: brokers, replicas and the controller converge
// asynchronously, so a test waits for the state it needs instead of sleeping a guessed time.

/**
 * Calls `fn` every `intervalMs` until it returns something other than `undefined` or `false`,
 * and returns that; throws naming `what` once `ms` have passed.
 */
export async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
