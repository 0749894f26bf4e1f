// Server side of brook.v1.Broker/ProduceStream: Produce requests on one long-lived bidi
// stream per client connection, each answered with its correlation id as soon as it is done,
// so answers may overtake each other (a request waiting for a slow partition's ISR does not
// hold back the next one). A stream saves the per-call cost of a unary gRPC call (headers,
// a new HTTP/2 stream, call objects), which dominated the broker's CPU per request.
// Contract: every request read gets exactly one answer while the stream is open; a handler
// failure becomes a request-level error code, never a thrown exception or a crash.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ProduceRequest, ProduceResponse, ProduceStreamRequest, ProduceStreamResponse } from "@brook/protocol/gen/brook/v1/broker";
import { Code } from "../errors.js";

/** Requests of one stream worked on at once; past it the stream is paused (HTTP/2 flow control holds the client). */
export const PRODUCE_STREAM_MAX_IN_FLIGHT = 64;

export function produceStreamHandler(
  produce: (req: ProduceRequest) => Promise<ProduceResponse>,
  logger: Logger,
  maxInFlight = PRODUCE_STREAM_MAX_IN_FLIGHT,
): (call: ServerDuplexStream<ProduceStreamRequest, ProduceStreamResponse>) => void {
  return (call) => {
    let inFlight = 0;
    let paused = false;
    let inputEnded = false;
    let closed = false;
    const finishIfDone = () => {
      if (inputEnded && inFlight === 0 && !closed) {
        closed = true;
        call.end();
      }
    };
    const answer = (res: ProduceStreamResponse) => {
      inFlight--;
      if (!closed) call.write(res);
      if (paused && inFlight <= maxInFlight / 2) {
        paused = false;
        call.resume();
      }
      finishIfDone();
    };
    call.on("data", (m: ProduceStreamRequest) => {
      inFlight++;
      if (inFlight >= maxInFlight && !paused) {
        paused = true;
        call.pause();
      }
      const correlationId = m.correlationId;
      if (m.request === undefined) {
        answer({ correlationId, errorCode: Code.INVALID_REQUEST, errorMessage: "ProduceStreamRequest without a request" });
        return;
      }
      produce(m.request).then(
        (response) => answer({ correlationId, response, errorCode: Code.NONE, errorMessage: "" }),
        (err: unknown) => {
          logger.error({ err, rpc: "produceStream" }, "handler failed");
          answer({ correlationId, errorCode: Code.UNKNOWN_SERVER_ERROR, errorMessage: `produce: ${err instanceof Error ? err.message : String(err)}` });
        },
      );
    });
    call.on("end", () => {
      inputEnded = true;
      finishIfDone();
    });
    const gone = () => {
      closed = true;
    };
    call.on("error", gone);
    call.on("cancelled", gone);
    call.on("close", gone);
  };
}
