// @brook/protocol: the bytes and names every Brook package agrees on.
export * from "./errors.js";
