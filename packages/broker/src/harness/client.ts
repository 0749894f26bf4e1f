// Harness (tests and benchmarks): a promise-returning client of brook.v1.Broker over real gRPC.
import { credentials, makeGenericClientConstructor, type ClientDuplexStream } from "@grpc/grpc-js";
import {
  BrokerClient,
  BrokerService,
  ProduceRequest,
  ProduceStreamRequest,
  type FetchResponse,
  type ListOffsetsResponse,
  type MetadataResponse,
  type ProduceResponse,
  type InitProducerIdResponse,
  type CreateTopicsResponse,
  type DescribeClusterResponse,
  type ProduceStreamResponse,
} from "@brook/protocol/gen/brook/v1/broker";
import { encodeNoCopy } from "@brook/protocol";

/** As the SDK does: Produce requests serialized without the generated code's second copy. */
const NoCopyBrokerClient = makeGenericClientConstructor(
  {
    ...BrokerService,
    produce: { ...BrokerService.produce, requestSerialize: (v: ProduceRequest) => encodeNoCopy(ProduceRequest, v) },
    produceStream: { ...BrokerService.produceStream, requestSerialize: (v: ProduceStreamRequest) => encodeNoCopy(ProduceStreamRequest, v) },
  },
  "brook.v1.Broker",
) as unknown as typeof BrokerClient;

export class TestClient {
  private readonly c: BrokerClient;
  constructor(readonly address: string) {
    this.c = new NoCopyBrokerClient(address, credentials.createInsecure(), {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      // Fetch responses are megabytes: a 64 KiB HTTP/2 window would cost a round trip per 64 KiB.
      "grpc-node.flow_control_window": 64 * 1024 * 1024,
    });
  }

  private call<Req, Res>(fn: (req: Req, cb: (err: Error | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn.call(this.c, req, (err, res) => (err ? reject(err) : resolve(res))));
  }

  metadata(topics: string[] = []): Promise<MetadataResponse> {
    return this.call(this.c.metadata, { topics, allowAutoTopicCreation: false });
  }

  produce(topic: string, partition: number, records: Buffer, acks = -1, timeoutMs = 10_000): Promise<ProduceResponse> {
    return this.call(this.c.produce, { acks, timeoutMs, transactionalId: "", topics: [{ topic, partitions: [{ partition, records }] }] });
  }

  produceMany(topic: string, partitions: { partition: number; records: Buffer }[], acks = -1, timeoutMs = 10_000): Promise<ProduceResponse> {
    return this.call(this.c.produce, { acks, timeoutMs, transactionalId: "", topics: [{ topic, partitions }] });
  }

  /** Produce on this client's ProduceStream (opened on first use); answers are matched by correlation id. */
  produceStreamed(topic: string, partitions: { partition: number; records: Buffer }[], acks = -1, timeoutMs = 10_000): Promise<ProduceResponse> {
    return this.streamed({ acks, timeoutMs, transactionalId: "", topics: [{ topic, partitions }] });
  }

  private stream: ClientDuplexStream<ProduceStreamRequest, ProduceStreamResponse> | undefined;
  private readonly pending = new Map<number, { resolve: (r: ProduceResponse) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  private streamed(request: ProduceRequest): Promise<ProduceResponse> {
    if (this.stream === undefined) {
      const s = this.c.produceStream();
      s.on("data", (m: ProduceStreamResponse) => {
        const p = this.pending.get(m.correlationId);
        this.pending.delete(m.correlationId);
        if (m.response !== undefined && m.errorCode === 0) p?.resolve(m.response);
        else p?.reject(new Error(`ProduceStream request failed: ${m.errorCode} ${m.errorMessage}`));
      });
      const broken = (err?: Error) => {
        if (this.stream === s) this.stream = undefined;
        for (const p of this.pending.values()) p.reject(err ?? new Error("ProduceStream ended"));
        this.pending.clear();
      };
      s.on("error", broken);
      s.on("end", () => broken());
      this.stream = s;
    }
    const correlationId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      this.stream!.write({ correlationId, request });
    });
  }

  fetch(topic: string, partition: number, fetchOffset: number, opts: { maxWaitMs?: number; maxBytes?: number } = {}): Promise<FetchResponse> {
    return this.call(this.c.fetch, {
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: 1,
      maxBytes: opts.maxBytes ?? 8 * 1024 * 1024,
      isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition, fetchOffset, currentLeaderEpoch: -1, partitionMaxBytes: opts.maxBytes ?? 8 * 1024 * 1024 }] }],
    });
  }

  listOffsets(topic: string, partition: number, timestamp: number): Promise<ListOffsetsResponse> {
    return this.call(this.c.listOffsets, { topics: [{ topic, partitions: [{ partition, timestamp }] }] });
  }

  initProducerId(): Promise<InitProducerIdResponse> {
    return this.call(this.c.initProducerId, { transactionalId: "", producerId: -1, producerEpoch: -1 });
  }

  createTopic(name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<CreateTopicsResponse> {
    return this.call(this.c.createTopics, {
      topics: [{ name, numPartitions, replicationFactor, configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v, isDefault: false, readOnly: false })), assignments: [] }],
      timeoutMs: 15_000,
      validateOnly: false,
    });
  }

  describeCluster(): Promise<DescribeClusterResponse> {
    return this.call(this.c.describeCluster, {});
  }

  close(): void {
    this.stream?.cancel();
    this.c.close();
  }
}
