// Request and response headers, and which header version goes with which API version.
//
// A request is: int32 size | request header | body. The header is v1 (api key, api version,
// correlation id, nullable int16-length client id) for non-flexible request versions and v2 (the
// same, then a tagged-field section) for flexible ones. The client id keeps its int16 length even
// in v2, so that any broker can read the header of any ApiVersions request.
//
// A response is: int32 size | response header | body. Header v0 is the correlation id; v1 adds a
// tagged-field section and goes with flexible response versions — except for ApiVersions, whose
// responses ALWAYS use v0, so that a client that sent a version we do not know can still read our
// UNSUPPORTED_VERSION answer.

import type { AnyApi } from "./api.ts";
import { ProtocolDecodeError } from "./errors.ts";
import { apiByKey } from "./generated/index.ts";
import { type RequestHeader, RequestHeaderCodec, ResponseHeaderCodec } from "./generated/headers.ts";
import type { Init } from "./primitives.ts";
import { Reader, Writer } from "./primitives.ts";

export type { RequestHeader, ResponseHeader } from "./generated/headers.ts";

export const apiVersionsKey = 18;

/**
 * The request header version for an API version. Versions above the API's maximum follow the
 * API's flexibility rule too (a newer client's ApiVersions v4+ request has header v2).
 * Unknown API keys get v1: the broker answers them by closing the connection anyway.
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number, apis: ReadonlyMap<number, AnyApi> = apiByKey): number {
  const api = apis.get(apiKey);
  if (!api) return 1;
  return apiVersion >= api.flexibleMinVersion ? 2 : 1;
}

/** The response header version for an API version (ApiVersions: always 0). */
export function responseHeaderVersion(apiKey: number, apiVersion: number, apis: ReadonlyMap<number, AnyApi> = apiByKey): number {
  if (apiKey === apiVersionsKey) return 0;
  const api = apis.get(apiKey);
  if (!api) return 0;
  return apiVersion >= api.flexibleMinVersion ? 1 : 0;
}

/**
 * Decodes a request header from a frame (the bytes after the int32 size). On return the reader is
 * positioned at the body. Throws ProtocolDecodeError on malformed bytes.
 */
export function decodeRequestHeader(reader: Reader): RequestHeader {
  reader.need(4, "request header");
  const apiKey = reader.peekInt16(0);
  const apiVersion = reader.peekInt16(2);
  if (apiVersion < 0) throw new ProtocolDecodeError(`negative api version ${apiVersion}`);
  return RequestHeaderCodec.decode(reader, requestHeaderVersion(apiKey, apiVersion));
}

/** Encodes a request header (clients, tests and benchmarks). */
export function encodeRequestHeader(writer: Writer, header: RequestHeader): void {
  RequestHeaderCodec.encode(writer, requestHeaderVersion(header.requestApiKey, header.requestApiVersion), header);
}

export function encodeResponseHeader(writer: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  ResponseHeaderCodec.encode(writer, responseHeaderVersion(apiKey, apiVersion), { correlationId });
}

/** Decodes a response header (clients, tests). The reader is left at the body. */
export function decodeResponseHeader(reader: Reader, apiKey: number, apiVersion: number): { correlationId: number } {
  return ResponseHeaderCodec.decode(reader, responseHeaderVersion(apiKey, apiVersion));
}

/**
 * A whole response frame: int32 size, header, body. Returns the pieces to write in order; large
 * record views inside the body stay views (no copy), see Writer.finishChunks.
 */
export function encodeResponseFrame(api: AnyApi, apiVersion: number, correlationId: number, body: unknown): Uint8Array[] {
  const writer = new Writer(512);
  const sizeAt = writer.reserveInt32();
  encodeResponseHeader(writer, api.apiKey, apiVersion, correlationId);
  api.encodeResponse(writer, apiVersion, body as Init<unknown>);
  writer.patchInt32(sizeAt, writer.length - 4);
  return writer.finishChunks();
}

/** A whole request frame: int32 size, header, body, as one Uint8Array (clients, tests, benchmarks). */
export function encodeRequestFrame(api: AnyApi, apiVersion: number, correlationId: number, clientId: string | null, body: unknown): Uint8Array {
  const writer = new Writer(512);
  const sizeAt = writer.reserveInt32();
  encodeRequestHeader(writer, { requestApiKey: api.apiKey, requestApiVersion: apiVersion, correlationId, clientId });
  api.encodeRequest(writer, apiVersion, body as Init<unknown>);
  writer.patchInt32(sizeAt, writer.length - 4);
  return writer.finish();
}

/** Decodes a request frame WITHOUT its int32 size prefix: header, API and body. */
export function decodeRequestFrame(frame: Uint8Array): { header: RequestHeader; api: AnyApi | undefined; body: unknown; reader: Reader } {
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader);
  const api = apiByKey.get(header.requestApiKey);
  const body = api ? api.decodeRequest(reader, header.requestApiVersion) : undefined;
  return { header, api, body, reader };
}
