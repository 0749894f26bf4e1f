// @brook/controller: The KRaft-style metadata quorum: metadata records, MetadataImage/MetadataDelta, placement, the controller service.
export {};
