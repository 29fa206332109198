// The shape every generated API module exports (src/protocol/generated/<api>.ts), so that the
// dispatcher can hold them all in one table (`apiByKey` in generated/index.ts).

import type { Init, Reader, Writer } from "./primitives.ts";

export interface Api<Request = unknown, Response = unknown> {
  readonly apiKey: number;
  /** Kafka's name without the Request/Response suffix: "Produce", "ApiVersions". */
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible (KIP-482) version; Infinity when the API has none. */
  readonly flexibleMinVersion: number;
  /** True when Kafka marks the newest request version as not yet stable (do not advertise it). */
  readonly latestVersionUnstable: boolean;
  /** Reads a request body (after the header). Throws ProtocolDecodeError on malformed bytes. */
  decodeRequest(reader: Reader, version: number): Request;
  /** Writes a request body; missing fields are written as their defaults. */
  encodeRequest(writer: Writer, version: number, value: Init<Request>): void;
  decodeResponse(reader: Reader, version: number): Response;
  encodeResponse(writer: Writer, version: number, value: Init<Response>): void;
}

// biome-ignore lint: a table of heterogeneous APIs needs the widest element type.
export type AnyApi = Api<any, any>;

/** A versioned data structure that is not an API (e.g. the consumer protocol's subscription). */
export interface DataCodec<Value> {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  decode(reader: Reader, version: number): Value;
  encode(writer: Writer, version: number, value: Init<Value>): void;
}
