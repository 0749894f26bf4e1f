// @brook/cli: The brook command line for people: topics, produce, consume, groups, cluster, perf.
export {};
