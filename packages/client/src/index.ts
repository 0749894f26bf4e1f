// @brook/client: The Brook SDK for Node services: Producer, Consumer (groups), Admin.
export {};
