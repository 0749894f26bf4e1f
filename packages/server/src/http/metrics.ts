// The node's Prometheus metric families and the hooks that feed them. Roles receive a
// NodeMetrics (a plain structural interface, so the broker and controller packages can
// declare a compatible one without importing the server) and call its on*/set* methods;
// pull-style gauges read their value at scrape time from probes the roles register.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Hooks a role calls; every method is cheap and never throws. */
export interface NodeMetrics {
  /** One request finished with `status` ("OK" or an error name); durationMs absent for streams. */
  onRequest(api: string, durationMs: number | undefined, status: string): void;
  onBytesIn(topic: string, bytes: number): void;
  onBytesOut(topic: string, bytes: number): void;
  onProduce(topic: string, records: number): void;
  onFetch(topic: string, records: number): void;
  onIsrShrink(topic: string, partition: number): void;
  onIsrExpand(topic: string, partition: number): void;
  /** A durable log write (kind "fsync" or "dsync-write") took `seconds`. */
  onDurableWrite(kind: string, seconds: number): void;
  /** Pull gauges: called at scrape time; return the current figures. */
  /** Partitions led by this broker with an ISR smaller than their replica set. */
  setUnderReplicatedProbe(probe: () => number): void;
  /** Partitions without a leader in the metadata image. */
  setOfflinePartitionsProbe(probe: () => number): void;
  setRaftProbe(probe: () => { term: number; commitIndex: number; leaderId: number; active: boolean }): void;
  setGroupProbe(probe: () => { groups: number; lags: readonly { group: string; topic: string; partition: number; lag: number }[] }): void;
}

export class PrometheusNodeMetrics implements NodeMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<"api" | "status">;
  readonly #latency: Histogram<"api">;
  readonly #bytesIn: Counter<"topic">;
  readonly #bytesOut: Counter<"topic">;
  readonly #produced: Counter<"topic">;
  readonly #fetched: Counter<"topic">;
  readonly #isrShrinks: Counter<"topic">;
  readonly #isrExpands: Counter<"topic">;
  readonly #durableWrites: Histogram<"kind">;
  #underReplicatedProbe?: () => number;
  #offlineProbe?: () => number;
  #raftProbe?: () => { term: number; commitIndex: number; leaderId: number; active: boolean };
  #groupProbe?: () => { groups: number; lags: readonly { group: string; topic: string; partition: number; lag: number }[] };

  constructor(labels: { nodeId: number; roles: string }) {
    this.registry.setDefaultLabels({ node_id: String(labels.nodeId) });
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    new Gauge({ name: "brook_node_info", help: "Constant 1, labelled with this node's roles.", labelNames: ["roles"], registers }).set({ roles: labels.roles }, 1);
    this.#requests = new Counter({ name: "brook_requests_total", help: "Requests handled, per API (Service/Method) and status (OK or the error's name).", labelNames: ["api", "status"], registers });
    this.#latency = new Histogram({
      name: "brook_request_duration_seconds",
      help: "Latency of unary requests per API (streams are counted, not timed).",
      labelNames: ["api"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#bytesIn = new Counter({ name: "brook_bytes_in_total", help: "Record bytes received by produce, per topic.", labelNames: ["topic"], registers });
    this.#bytesOut = new Counter({ name: "brook_bytes_out_total", help: "Record bytes sent by fetch, per topic.", labelNames: ["topic"], registers });
    this.#produced = new Counter({ name: "brook_produce_records_total", help: "Records appended by produce, per topic.", labelNames: ["topic"], registers });
    this.#fetched = new Counter({ name: "brook_fetch_records_total", help: "Records returned by fetch, per topic.", labelNames: ["topic"], registers });
    this.#isrShrinks = new Counter({ name: "brook_isr_shrinks_total", help: "ISR shrinks of partitions this broker leads, per topic.", labelNames: ["topic"], registers });
    this.#isrExpands = new Counter({ name: "brook_isr_expands_total", help: "ISR expands of partitions this broker leads, per topic.", labelNames: ["topic"], registers });
    // acks=all waits on these: a slow or stalling disk shows here first (Kafka's LogFlushRateAndTimeMs).
    this.#durableWrites = new Histogram({
      name: "brook_log_durable_write_seconds",
      help: "Time of each durable partition-log write: an fdatasync of a log (kind=fsync) or a lone append written through O_DSYNC (kind=dsync-write).",
      labelNames: ["kind"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });

    const self = this;
    new Gauge({
      name: "brook_under_replicated_partitions",
      help: "Partitions led here whose ISR is smaller than their replica set.",
      registers,
      collect() {
        const value = self.#underReplicatedProbe?.();
        if (value !== undefined) this.set(value);
      },
    });
    new Gauge({
      name: "brook_offline_partitions",
      help: "Partitions without a leader (as seen in this node's metadata).",
      registers,
      collect() {
        const value = self.#offlineProbe?.();
        if (value !== undefined) this.set(value);
      },
    });
    const raftGauge = (name: string, help: string, pick: (p: { term: number; commitIndex: number; leaderId: number; active: boolean }) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const probe = self.#raftProbe?.();
          if (probe) this.set(pick(probe));
        },
      });
    };
    raftGauge("brook_raft_term", "Current Raft term of the metadata quorum.", (p) => p.term);
    raftGauge("brook_raft_commit_index", "Highest committed index of the metadata log.", (p) => p.commitIndex);
    raftGauge("brook_raft_leader_id", "Node id of the Raft leader (-1: none known).", (p) => p.leaderId);
    raftGauge("brook_controller_active", "1 when this node is the active controller.", (p) => (p.active ? 1 : 0));
    new Gauge({
      name: "brook_consumer_groups",
      help: "Consumer groups coordinated by this broker.",
      registers,
      collect() {
        const probe = self.#groupProbe?.();
        if (probe) this.set(probe.groups);
      },
    });
    new Gauge({
      name: "brook_consumer_group_lag",
      help: "Records between the committed offset and the high watermark, per group and partition.",
      labelNames: ["group", "topic", "partition"],
      registers,
      collect() {
        const probe = self.#groupProbe?.();
        if (!probe) return;
        this.reset();
        for (const l of probe.lags) this.set({ group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag);
      },
    });
  }

  onRequest(api: string, durationMs: number | undefined, status: string): void {
    this.#requests.inc({ api, status });
    if (durationMs !== undefined) this.#latency.observe({ api }, durationMs / 1000);
  }
  onBytesIn(topic: string, bytes: number): void {
    this.#bytesIn.inc({ topic }, bytes);
  }
  onBytesOut(topic: string, bytes: number): void {
    this.#bytesOut.inc({ topic }, bytes);
  }
  onProduce(topic: string, records: number): void {
    this.#produced.inc({ topic }, records);
  }
  onFetch(topic: string, records: number): void {
    this.#fetched.inc({ topic }, records);
  }
  onIsrShrink(topic: string): void {
    this.#isrShrinks.inc({ topic });
  }
  onIsrExpand(topic: string): void {
    this.#isrExpands.inc({ topic });
  }
  onDurableWrite(kind: string, seconds: number): void {
    this.#durableWrites.observe({ kind }, seconds);
  }
  setUnderReplicatedProbe(probe: () => number): void {
    this.#underReplicatedProbe = probe;
  }
  setOfflinePartitionsProbe(probe: () => number): void {
    this.#offlineProbe = probe;
  }
  setRaftProbe(probe: () => { term: number; commitIndex: number; leaderId: number; active: boolean }): void {
    this.#raftProbe = probe;
  }
  setGroupProbe(probe: () => { groups: number; lags: readonly { group: string; topic: string; partition: number; lag: number }[] }): void {
    this.#groupProbe = probe;
  }
}
