import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { BrokerError, Code } from "../../src/errors.js";
import type { ControllerChannel, HeartbeatRequest, HeartbeatResult } from "../../src/lifecycle/controller_channel.js";
import { BrokerLifecycle } from "../../src/lifecycle/lifecycle.js";
import { until as pollUntil } from "../support/until.js";

const logger = pino({ level: "silent" });

// Scripted channels answer at once: poll often, give up sooner than the broker tests.
const until = (what: string, fn: () => boolean): Promise<true> => pollUntil(what, fn, 10_000, 5);

/** A channel whose register/heartbeat answers the test scripts; the rest is unused here. */
function channel(script: { registerFailures: number; heartbeat: (h: HeartbeatRequest) => HeartbeatResult }) {
  const seen = { registrations: [] as string[], heartbeats: [] as HeartbeatRequest[] };
  let epoch = 100;
  const ch = {
    register: async (r: { incarnationId: string }) => {
      if (script.registerFailures-- > 0) throw new Error("controller unreachable");
      seen.registrations.push(r.incarnationId);
      return { brokerEpoch: ++epoch };
    },
    heartbeat: async (h: HeartbeatRequest) => {
      seen.heartbeats.push(h);
      return script.heartbeat(h);
    },
  } as unknown as ControllerChannel;
  return { ch, seen };
}

describe("BrokerLifecycle", () => {
  it("retries registration, stays fenced until metadata is applied, then runs", async () => {
    let offset = -1;
    const { ch, seen } = channel({
      registerFailures: 2,
      heartbeat: (h) => ({ isCaughtUp: h.currentMetadataOffset >= 0, isFenced: h.wantFence, shouldShutDown: false }),
    });
    const lc = new BrokerLifecycle({ nodeId: 1, host: "h", port: 1, rack: "", channel: ch, heartbeatIntervalMs: 10, metadataOffset: () => offset, logger });
    await lc.start();
    expect(lc.brokerEpoch).toBe(101);
    expect(seen.registrations).toEqual([lc.incarnationId]);
    await until("a fenced heartbeat", () => seen.heartbeats.length >= 2);
    expect(lc.fenced()).toBe(true);
    expect(seen.heartbeats[0]).toMatchObject({ brokerEpoch: 101, wantFence: true, wantShutDown: false });
    offset = 7;
    await until("running", () => lc.state === "running");
    expect(seen.heartbeats.at(-1)).toMatchObject({ currentMetadataOffset: 7, wantFence: false });
    lc.stop();
  });

  it("registers again when the controller answers STALE_BROKER_EPOCH", async () => {
    let stale = false;
    const { ch, seen } = channel({
      registerFailures: 0,
      heartbeat: () => {
        if (stale) {
          stale = false;
          throw new BrokerError(Code.STALE_BROKER_EPOCH, "stale");
        }
        return { isCaughtUp: true, isFenced: false, shouldShutDown: false };
      },
    });
    const lc = new BrokerLifecycle({ nodeId: 1, host: "h", port: 1, rack: "", channel: ch, heartbeatIntervalMs: 10, metadataOffset: () => 3, logger });
    await lc.start();
    await until("running", () => lc.state === "running");
    stale = true;
    await until("re-registered", () => seen.registrations.length === 2);
    expect(seen.registrations[1]).toBe(lc.incarnationId); // same incarnation
    await until("running again", () => lc.state === "running" && lc.brokerEpoch === 102);
    lc.stop();
  });

  it("controlled shutdown heartbeats want_shut_down until the controller agrees", async () => {
    let grants = 0;
    const { ch, seen } = channel({
      registerFailures: 0,
      heartbeat: (h) => ({ isCaughtUp: true, isFenced: false, shouldShutDown: h.wantShutDown && ++grants >= 3 }),
    });
    const lc = new BrokerLifecycle({ nodeId: 1, host: "h", port: 1, rack: "", channel: ch, heartbeatIntervalMs: 10, metadataOffset: () => 3, logger });
    await lc.start();
    await until("running", () => lc.state === "running");
    expect(await lc.controlledShutdown(10_000)).toBe(true);
    expect(lc.fenced()).toBe(true); // no writes while leadership moves
    expect(seen.heartbeats.filter((h) => h.wantShutDown).length).toBeGreaterThanOrEqual(3);
    lc.stop();
  });

  it("reports a failed log directory at once, stays fenced while it is listed, and runs the first-unfence hook once", async () => {
    const dirs: string[] = [];
    let unfenced = 0;
    const { ch, seen } = channel({
      registerFailures: 0,
      // As the controller does: fenced while a directory is reported.
      heartbeat: (h) => ({ isCaughtUp: true, isFenced: h.wantFence || h.offlineLogDirs.length > 0, shouldShutDown: false }),
    });
    const lc = new BrokerLifecycle({
      nodeId: 1,
      host: "h",
      port: 1,
      rack: "",
      channel: ch,
      heartbeatIntervalMs: 60_000, // only the first beat and the report's beat can happen
      metadataOffset: () => 3,
      offlineLogDirs: () => dirs,
      onFirstUnfenced: () => unfenced++,
      logger,
    });
    await lc.start();
    await until("running", () => lc.state === "running");
    expect(unfenced).toBe(1);
    expect(seen.heartbeats.at(-1)).toMatchObject({ wantFence: false, offlineLogDirs: [] });
    dirs.push("/data/b1/logs");
    lc.reportOfflineLogDir();
    expect(lc.fenced()).toBe(true); // refuses writes before the controller has answered
    await until("the report's heartbeat", () => seen.heartbeats.length === 2);
    expect(seen.heartbeats[1]).toMatchObject({ wantFence: true, offlineLogDirs: ["/data/b1/logs"] });
    await until("answered", () => lc.state === "fenced");
    expect(unfenced).toBe(1);
    lc.stop();
  });

  it("controlled shutdown gives up at its deadline when the controller never agrees", async () => {
    const { ch } = channel({ registerFailures: 0, heartbeat: () => ({ isCaughtUp: true, isFenced: false, shouldShutDown: false }) });
    const lc = new BrokerLifecycle({ nodeId: 1, host: "h", port: 1, rack: "", channel: ch, heartbeatIntervalMs: 10, metadataOffset: () => 3, logger });
    await lc.start();
    expect(await lc.controlledShutdown(200)).toBe(false);
    lc.stop();
  });
});
