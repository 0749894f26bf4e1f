// The hook through which the client-facing service hands consumer-group calls to the group
// coordinator (implemented in src/group by its owner). Every method answers with a response
// message (errors inside it); a rejected promise is reported as UNKNOWN_SERVER_ERROR.
import type {
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  DeleteGroupsRequest,
  DeleteGroupsResponse,
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from "@brook/protocol/gen/brook/v1/broker";

/** Who sent a request: its client.id (gRPC metadata) and address, as DescribeGroups reports them. */
export interface ClientIdentity {
  readonly clientId: string;
  readonly clientHost: string;
}

export interface GroupCoordinatorApi {
  findCoordinator(req: FindCoordinatorRequest): Promise<FindCoordinatorResponse>;
  consumerGroupHeartbeat(req: ConsumerGroupHeartbeatRequest, client?: ClientIdentity): Promise<ConsumerGroupHeartbeatResponse>;
  offsetCommit(req: OffsetCommitRequest): Promise<OffsetCommitResponse>;
  offsetFetch(req: OffsetFetchRequest): Promise<OffsetFetchResponse>;
  listGroups(req: ListGroupsRequest): Promise<ListGroupsResponse>;
  describeGroups(req: DescribeGroupsRequest): Promise<DescribeGroupsResponse>;
  deleteGroups(req: DeleteGroupsRequest): Promise<DeleteGroupsResponse>;
}
