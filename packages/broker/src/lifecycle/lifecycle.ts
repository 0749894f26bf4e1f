// Broker lifecycle against the controller quorum (KRaft's BrokerLifecycleManager):
// register with a fresh incarnation id, heartbeat every interval, start fenced and ask to be
// unfenced once metadata is applied, re-register if the controller forgot us, and on a
// controlled shutdown heartbeat with want_shut_down until the controller has moved our
// leaderships away (should_shut_down) or the deadline passes.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { Code, errorCodeOf } from "../errors.js";
import type { ControllerChannel } from "./controller_channel.js";

export type LifecycleState = "starting" | "fenced" | "running" | "shutting-down" | "stopped";

export class BrokerLifecycle {
  state: LifecycleState = "starting";
  brokerEpoch = -1;
  readonly incarnationId = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private wantShutDown = false;
  private shutdownGranted: (() => void) | undefined;
  private stopped = false;
  private beating = false;
  private beatSoon = false;
  private unfencedOnce = false;

  constructor(
    private readonly opts: {
      nodeId: number;
      host: string;
      port: number;
      /** All advertised endpoints; absent: only host:port under the channel's listener name. */
      endpoints?: readonly { readonly name: string; readonly host: string; readonly port: number }[];
      rack: string;
      channel: ControllerChannel;
      heartbeatIntervalMs: number;
      metadataOffset: () => number;
      /** Failed log directories, reported on every heartbeat (they keep the broker fenced). */
      offlineLogDirs?: () => readonly string[];
      /**
       * Called once, the first time the controller unfences this broker: its applied metadata
       * is then at least as new as its registration (KRaft's "caught up").
       */
      onFirstUnfenced?: () => void;
      logger: Logger;
    },
  ) {}

  fenced(): boolean {
    return this.state !== "running";
  }

  /** Registers (retrying until it succeeds or stop()) and starts heartbeating. */
  async start(): Promise<void> {
    await this.register();
    this.schedule(0);
  }

  private async register(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      try {
        const r = await this.opts.channel.register({
          nodeId: this.opts.nodeId,
          incarnationId: this.incarnationId,
          host: this.opts.host,
          port: this.opts.port,
          ...(this.opts.endpoints !== undefined ? { endpoints: this.opts.endpoints } : {}),
          rack: this.opts.rack,
        });
        this.brokerEpoch = r.brokerEpoch;
        if (this.state === "starting") this.state = "fenced";
        this.opts.logger.info({ brokerEpoch: r.brokerEpoch }, "registered with the controller");
        return;
      } catch (err) {
        this.opts.logger.warn({ err: String(err) }, "broker registration failed; retrying");
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(2_000, backoff * 2);
      }
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat(), ms);
  }

  private async beat(): Promise<void> {
    if (this.stopped || this.beating) return;
    this.beating = true;
    try {
      const offset = this.opts.metadataOffset();
      const offlineLogDirs = this.opts.offlineLogDirs?.() ?? [];
      const r = await this.opts.channel.heartbeat({
        nodeId: this.opts.nodeId,
        brokerEpoch: this.brokerEpoch,
        currentMetadataOffset: offset,
        // Not caught up with any metadata yet, or no working log directory: stay fenced.
        wantFence: offset < 0 || offlineLogDirs.length > 0,
        wantShutDown: this.wantShutDown,
        offlineLogDirs,
      });
      if (this.wantShutDown) {
        if (r.shouldShutDown) this.shutdownGranted?.();
      } else if (r.isFenced || (this.opts.offlineLogDirs?.() ?? []).length > 0) {
        if (this.state === "running") this.opts.logger.warn("controller fenced this broker");
        this.state = "fenced";
      } else {
        if (this.state !== "running") this.opts.logger.info("broker unfenced: serving");
        this.state = "running";
        if (!this.unfencedOnce) {
          this.unfencedOnce = true;
          this.opts.onFirstUnfenced?.();
        }
      }
    } catch (err) {
      // STALE_BROKER_EPOCH / unknown broker: the controller forgot us (e.g. session expired
      // and we were unregistered); register again with the same incarnation.
      const code = errorCodeOf(err);
      if (code === Code.STALE_BROKER_EPOCH || code === Code.BROKER_ID_NOT_REGISTERED) {
        this.state = "fenced";
        await this.register();
      } else {
        this.opts.logger.debug({ err: String(err) }, "heartbeat failed");
      }
    } finally {
      this.beating = false;
    }
    this.schedule(this.beatSoon ? 0 : this.opts.heartbeatIntervalMs);
    this.beatSoon = false;
  }

  /**
   * A log directory failed: stop counting as serving at once (writes are refused as fenced)
   * and heartbeat now rather than at the next interval, so the controller moves leaderships
   * away one round trip after the failure instead of up to an interval later.
   */
  reportOfflineLogDir(): void {
    if (this.stopped || this.wantShutDown) return;
    if (this.state === "running") this.state = "fenced";
    if (this.timer !== undefined) clearTimeout(this.timer);
    // A beat in flight was sent without the directory: beat again as soon as it is answered.
    if (this.beating) this.beatSoon = true;
    else this.schedule(0);
  }

  /**
   * Asks the controller to move leadership away, resolving when it agreed or `deadlineMs`
   * passed (Kafka waits for the same answer before it stops its replicas).
   */
  async controlledShutdown(deadlineMs: number): Promise<boolean> {
    this.wantShutDown = true;
    this.state = "shutting-down";
    const granted = new Promise<boolean>((resolve) => {
      this.shutdownGranted = () => resolve(true);
      setTimeout(() => resolve(false), deadlineMs).unref();
    });
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.schedule(0);
    return granted;
  }

  stop(): void {
    this.stopped = true;
    this.state = "stopped";
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
