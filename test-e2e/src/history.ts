// The safety checker now lives in @brook/server (src/soak/history.ts), shared with the
// loopback chaos soak (`npm run soak`); the suite keeps importing it from here.
export { checkHistory, readPastAcked, type AckedRecord, type ReadRecord, type Violation } from "@brook/server/soak/history";
