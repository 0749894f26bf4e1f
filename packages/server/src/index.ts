// @brook/server: The brook node process: config, roles, wiring, metrics, health.
export {};
