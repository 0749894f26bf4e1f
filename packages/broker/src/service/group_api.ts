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

export interface GroupCoordinatorApi {
  findCoordinator(req: FindCoordinatorRequest): Promise<FindCoordinatorResponse>;
  consumerGroupHeartbeat(req: ConsumerGroupHeartbeatRequest): Promise<ConsumerGroupHeartbeatResponse>;
  offsetCommit(req: OffsetCommitRequest): Promise<OffsetCommitResponse>;
  offsetFetch(req: OffsetFetchRequest): Promise<OffsetFetchResponse>;
  listGroups(req: ListGroupsRequest): Promise<ListGroupsResponse>;
  describeGroups(req: DescribeGroupsRequest): Promise<DescribeGroupsResponse>;
  deleteGroups(req: DeleteGroupsRequest): Promise<DeleteGroupsResponse>;
}
