// What the client-facing service needs from the active controller: admin calls forwarded as
// the same broker.proto messages, and producer-id blocks. Implemented by ControllerLink
// (src/lifecycle) over gRPC; NOT_CONTROLLER redirects and retries happen behind it.
import type {
  AlterConfigsRequest,
  AlterConfigsResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClusterResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
} from "@brook/protocol/gen/brook/v1/broker";

export interface ProducerIdBlock {
  readonly firstProducerId: number;
  readonly size: number;
}

export interface ControllerApi {
  createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse>;
  deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse>;
  createPartitions(req: CreatePartitionsRequest): Promise<CreatePartitionsResponse>;
  describeConfigs(req: DescribeConfigsRequest): Promise<DescribeConfigsResponse>;
  alterConfigs(req: AlterConfigsRequest): Promise<AlterConfigsResponse>;
  describeCluster(): Promise<DescribeClusterResponse>;
  allocateProducerIds(): Promise<ProducerIdBlock>;
}
