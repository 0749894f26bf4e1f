// Key and value serializers: turn an application value into bytes and back. Generic so a
// producer/consumer is typed by what the application sends (Buffer, string, JSON, custom).
export interface Serializer<T> {
  serialize(value: T, topic: string): Buffer | null;
}
export interface Deserializer<T> {
  deserialize(bytes: Buffer | null, topic: string): T;
}
export type Serde<T> = Serializer<T> & Deserializer<T>;

export const bytesSerde: Serde<Buffer | null> = {
  serialize: (v) => v,
  deserialize: (b) => b,
};

export const stringSerde: Serde<string | null> = {
  serialize: (v) => (v === null ? null : Buffer.from(v, "utf8")),
  deserialize: (b) => (b === null ? null : b.toString("utf8")),
};

export function jsonSerde<T>(): Serde<T | null> {
  return {
    serialize: (v) => (v === null ? null : Buffer.from(JSON.stringify(v), "utf8")),
    deserialize: (b) => (b === null ? null : (JSON.parse(b.toString("utf8")) as T)),
  };
}
