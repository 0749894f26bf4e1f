// gRPC service definitions whose record-carrying messages are serialized without the extra
// copy of the generated code (see encodeNoCopy in @brook/protocol).
import { encodeNoCopy } from "@brook/protocol";
import { BrokerService, FetchResponse, ProduceResponse, ProduceStreamResponse } from "@brook/protocol/gen/brook/v1/broker";
import { ReplicaFetchResponse, ReplicaService } from "@brook/protocol/gen/brook/v1/replica";

export const BrokerServiceDefinition: typeof BrokerService = {
  ...BrokerService,
  produce: { ...BrokerService.produce, responseSerialize: (v: ProduceResponse) => encodeNoCopy(ProduceResponse, v) },
  produceStream: { ...BrokerService.produceStream, responseSerialize: (v: ProduceStreamResponse) => encodeNoCopy(ProduceStreamResponse, v) },
  fetch: { ...BrokerService.fetch, responseSerialize: (v: FetchResponse) => encodeNoCopy(FetchResponse, v) },
};

export const ReplicaServiceDefinition: typeof ReplicaService = {
  ...ReplicaService,
  replicaFetch: { ...ReplicaService.replicaFetch, responseSerialize: (v: ReplicaFetchResponse) => encodeNoCopy(ReplicaFetchResponse, v) },
};

