// @brook/broker: Partition logs on disk, ISR replication, the group coordinator and the client-facing gRPC service.
export {};
