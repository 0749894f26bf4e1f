// Small seams the log layer takes from its owner: a clock (injected so retention, rolling and
// tests are deterministic) and a pino-compatible logger.

export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };

export interface LogLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: LogLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
