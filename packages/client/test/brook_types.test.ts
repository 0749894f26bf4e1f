// The factory methods' types: one serializer alone types its side and leaves the other as
// Buffers (as the runtime does). Checked by `tsc -p tsconfig.tests.json` (npm test runs it);
// the runtime part only proves the calls construct without a cluster round trip.
import { describe, expect, expectTypeOf, it } from "vitest";
import { Brook, type Consumer, type Producer, stringSerde, jsonSerde } from "../src/index.js";

describe("Brook factory types", () => {
  it("types each side by the serializer given, Buffers otherwise", async () => {
    const brook = new Brook({ brokers: ["127.0.0.1:1"], clientId: "types" });
    expectTypeOf(brook.producer()).toEqualTypeOf<Producer<Buffer | null, Buffer | null>>();
    expectTypeOf(brook.producer({ valueSerializer: stringSerde })).toEqualTypeOf<Producer<Buffer | null, string | null>>();
    expectTypeOf(brook.producer({ keySerializer: stringSerde })).toEqualTypeOf<Producer<string | null, Buffer | null>>();
    expectTypeOf(brook.producer({ keySerializer: stringSerde, valueSerializer: jsonSerde<{ n: number }>() })).toEqualTypeOf<Producer<string | null, { n: number } | null>>();
    expectTypeOf(brook.consumer({ valueDeserializer: stringSerde })).toEqualTypeOf<Consumer<Buffer | null, string | null>>();
    expectTypeOf(brook.consumer({ keyDeserializer: stringSerde })).toEqualTypeOf<Consumer<string | null, Buffer | null>>();
    const p = brook.producer({ valueSerializer: stringSerde });
    // @ts-expect-error a number is not what the string serializer takes
    void p.send({ topic: "t", messages: [{ value: 5 }] }).catch(() => undefined);
    expect(p).toBeDefined();
    await brook.close();
  });
});
