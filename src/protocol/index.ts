// The Kafka protocol layer: bytes in, values out, and back. No I/O. See docs/protocol.md.

export type { AnyApi, Api, DataCodec } from "./api.ts";
export * from "./compression.ts";
export * from "./consumer-protocol.ts";
export * from "./errors.ts";
export * from "./generated/index.ts";
export {
  apiVersionsKey,
  decodeRequestFrame,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeRequestHeader,
  encodeResponseFrame,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from "./headers.ts";
export * from "./primitives.ts";
export * from "./record-batch.ts";
