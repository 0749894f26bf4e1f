// Harness (tests and benchmarks): a promise-returning client of brook.v1.Broker over real gRPC.
import { credentials } from "@grpc/grpc-js";
import {
  BrokerClient,
  type FetchResponse,
  type ListOffsetsResponse,
  type MetadataResponse,
  type ProduceResponse,
  type InitProducerIdResponse,
  type CreateTopicsResponse,
  type DescribeClusterResponse,
} from "@brook/protocol/gen/brook/v1/broker";

export class TestClient {
  private readonly c: BrokerClient;
  constructor(readonly address: string) {
    this.c = new BrokerClient(address, credentials.createInsecure(), {
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
    this.c.close();
  }
}
