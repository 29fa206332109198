// Media types of the HTTP API and the conversions at its edge: which body format a request carries
// (Content-Type), which one the client wants back (Accept), bounded body reading, and encoding a
// response body as JSON or CBOR (cbor-x).
//
//   application/json (and REST Proxy's application/vnd.kafka…+json)  one JSON document
//   application/cbor                                                  one CBOR item
//   application/x-ndjson (also application/jsonl)                     a stream of JSON documents, one a line
//   application/cbor-seq                                              a stream of CBOR items (RFC 8742)
//   text/event-stream                                                 Server-Sent Events (live streams only)
//
// JSON carries bytes as base64 with an explicit type; CBOR carries them natively as byte strings.
// Offsets and timestamps are int64: JSON numbers when exact (below 2^53), else decimal strings.
// cbor-x encodes into a buffer it reuses, so every encoded body is copied before it leaves.

import { decode as cborDecode, Encoder } from "cbor-x";
import { badRequest, HttpError } from "./errors.ts";

export type BodyFormat = "json" | "cbor" | "ndjson" | "cbor-seq";
export type ResponseFormat = "json" | "cbor";

const cborEncoder = new Encoder({ useRecords: false, tagUint8Array: false, largeBigIntToFloat: false } as ConstructorParameters<typeof Encoder>[0]);

function mediaTypeOf(header: string | null | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The request body's format, or 415. `allowed` lists what the route accepts. */
export function requestFormat(contentType: string | null | undefined, allowed: readonly BodyFormat[]): BodyFormat {
  const type = mediaTypeOf(contentType);
  let format: BodyFormat | null = null;
  if (type === "application/json" || /^application\/vnd\.kafka(\.[a-z0-9]+)*\.v[23]\+json$/.test(type)) format = "json";
  else if (type === "application/cbor") format = "cbor";
  else if (type === "application/x-ndjson" || type === "application/jsonl" || type === "application/x-jsonlines") format = "ndjson";
  else if (type === "application/cbor-seq") format = "cbor-seq";
  if (format === null || !allowed.includes(format)) {
    const accepted = allowed.map(formatMediaType).join(", ");
    throw new HttpError(415, 415, `Unsupported media type ${type === "" ? "(none)" : `'${type}'`}: this route takes ${accepted}.`);
  }
  return format;
}

export function formatMediaType(format: BodyFormat): string {
  switch (format) {
    case "json":
      return "application/json";
    case "cbor":
      return "application/cbor";
    case "ndjson":
      return "application/x-ndjson";
    case "cbor-seq":
      return "application/cbor-seq";
  }
}

interface AcceptEntry {
  type: string;
  quality: number;
}

function parseAccept(accept: string | null | undefined): AcceptEntry[] {
  if (!accept) return [];
  return accept
    .split(",")
    .map((part) => {
      const [type, ...parameters] = part.split(";");
      const q = parameters.map((parameter) => parameter.trim()).find((parameter) => parameter.startsWith("q="));
      return { type: type!.trim().toLowerCase(), quality: q ? Number(q.slice(2)) || 0 : 1 };
    })
    .filter((entry) => entry.type !== "" && entry.quality > 0)
    .sort((a, b) => b.quality - a.quality);
}

/**
 * The first of `offered` (media types, in the route's order of preference) that the Accept header
 * allows; the first offered when there is no Accept header; 406 when nothing fits.
 */
export function negotiate(accept: string | null | undefined, offered: readonly string[]): string {
  const entries = parseAccept(accept);
  if (entries.length === 0) return offered[0]!;
  for (const entry of entries) {
    if (entry.type === "*/*") return offered[0]!;
    const [major] = entry.type.split("/");
    for (const type of offered) {
      if (type === entry.type) return type;
      if (entry.type === `${major}/*` && type.startsWith(`${major}/`)) return type;
      // REST Proxy's versioned JSON types are JSON to us.
      if (type === "application/json" && /^application\/vnd\.kafka(\.[a-z0-9]+)*\.v[23]\+json$/.test(entry.type)) return type;
    }
  }
  throw new HttpError(406, 406, `Not acceptable: this route answers ${offered.join(", ")}.`);
}

/** JSON or CBOR for a one-document answer. */
export function responseFormat(accept: string | null | undefined): ResponseFormat {
  if (accept === undefined || accept === null || accept === "*/*" || accept === "application/json") return "json";
  return negotiate(accept, ["application/json", "application/cbor"]) === "application/cbor" ? "cbor" : "json";
}

/**
 * A refused body is still read (and dropped) up to this many bytes before the error is answered:
 * an HTTP/2 client whose request stream is reset mid-body sees a stream error (curl exits 92)
 * instead of the 4xx. Past it, the stream is reset: the client is not owed more reading.
 */
export const drainBytesMax = 16 * 1024 * 1024;

/** Read and drop what is left of a request body, at most `drainBytesMax`. Never throws. */
export async function drainBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return;
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > drainBytesMax) return;
  try {
    const reader = request.body.getReader();
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.length;
      if (total > drainBytesMax) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // the client went away: nothing to drain
  }
}

/**
 * The whole body, refusing more than `maxBytes` with 413 before reading it when Content-Length
 * says so, and as soon as a chunked body passes the limit (the rest is drained, not kept).
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await drainBody(request);
    throw tooLarge(maxBytes);
  }
  // A declared length within the limit: one read of the whole body (Bun holds it to that length).
  if (declared !== null) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      reader.releaseLock();
      await drainBody(request);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let position = 0;
  for (const chunk of chunks) {
    body.set(chunk, position);
    position += chunk.length;
  }
  return body;
}

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 413, `Request body larger than http.request.max.bytes (${maxBytes} bytes).`);
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Parse one JSON or CBOR document (400 when malformed). An empty body is undefined. */
export function parseDocument(body: Uint8Array, format: "json" | "cbor"): unknown {
  if (body.length === 0) return undefined;
  if (format === "json") {
    let text: string;
    try {
      text = utf8Decoder.decode(body);
    } catch {
      throw badRequest("Malformed JSON: the body is not UTF-8.");
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw badRequest(`Malformed JSON: ${(error as Error).message}`);
    }
  }
  try {
    return cborDecode(body);
  } catch (error) {
    throw badRequest(`Malformed CBOR: ${(error as Error).message}`);
  }
}

/** int64 values for the wire: a number when exact in JSON, else a string. */
export function int64(value: bigint): number | string {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value.toString();
}

/** Replace bigints by numbers (or strings when too large) so that JSON.stringify and CBOR agree. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return int64(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Uint8Array) return value;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[key] = plain(inner);
    return out;
  }
  return value;
}

/** JSON text of a value; bigints as numbers (strings past 2^53). */
export function toJsonText(value: unknown): string {
  // A replacer makes JSON.stringify several times slower; documents rarely hold a bigint (the
  // routes convert offsets with int64), so try without one first.
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, inner) => (typeof inner === "bigint" ? int64(inner) : inner));
  }
}

/** CBOR bytes of a value, copied out of the encoder's reused buffer. */
export function toCbor(value: unknown): Uint8Array {
  return new Uint8Array(cborEncoder.encode(plain(value)));
}

export function encodeDocument(value: unknown, format: ResponseFormat): { body: Uint8Array | string; contentType: string } {
  if (format === "cbor") return { body: toCbor(value), contentType: "application/cbor" };
  return { body: toJsonText(value), contentType: "application/json" };
}

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decode UTF-8 strictly; null when the bytes are not valid UTF-8. */
export function utf8Text(bytes: Uint8Array): string | null {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return null;
  }
}
