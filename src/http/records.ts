// Records at the HTTP edge, typed as Confluent REST Proxy v3 types them:
//
//   {"partition_id": 0,                                   optional: chosen by key hash otherwise
//    "headers": [{"name": "h", "value": "<base64>"}],     optional
//    "key":   {"type": "BINARY", "data": "<base64>"},      or STRING (UTF-8 text) or JSON (any value)
//    "value": {"type": "JSON",   "data": {"any": "json"}},
//    "timestamp": "2026-01-02T03:04:05.678Z"}             optional: ISO 8601 or epoch milliseconds
//
// A missing type means JSON, as REST Proxy without a schema. In CBOR the same shape, with byte
// strings where JSON has base64 (binary carried natively); a bare byte string stands for BINARY.
// Schema types (AVRO, PROTOBUF, JSONSCHEMA) need a schema registry, which Runnel does not have:
// 422. A null or absent key/value is a null key/value (a tombstone for a value).
//
// Consumed records come back in the same typed form; the reader picks per request how bytes are
// shown (binary by default, which is byte-exact; string and json when the bytes allow it).

import type { ConsumedRecord, ProduceRecord, RecordHeaderBytes } from "./backend.ts";
import { int64, toJsonText, utf8, utf8Text } from "./encoding.ts";
import { badRequest, RestErrorCode, unprocessable } from "./errors.ts";

export type DataType = "BINARY" | "STRING" | "JSON";

export interface ParsedProduceRecord {
  partition: number | null;
  record: ProduceRecord;
  keyType: DataType | null;
  valueType: DataType | null;
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function typedData(field: unknown, what: "key" | "value"): { bytes: Uint8Array | null; type: DataType | null } {
  const errorCode = what === "key" ? RestErrorCode.INVALID_KEY : RestErrorCode.INVALID_VALUE;
  if (field === undefined || field === null) return { bytes: null, type: null };
  if (field instanceof Uint8Array) return { bytes: field, type: "BINARY" };
  if (!isObject(field)) {
    throw unprocessable(`${what} must be an object {"type": "BINARY"|"STRING"|"JSON", "data": …}, was ${JSON.stringify(field)?.slice(0, 60)}`, errorCode);
  }
  const rawType = field.type ?? "JSON";
  if (typeof rawType !== "string") throw unprocessable(`${what}.type must be a string`, errorCode);
  const type = rawType.toUpperCase();
  const data = field.data;
  switch (type) {
    case "BINARY":
      if (data === null || data === undefined) return { bytes: null, type };
      if (data instanceof Uint8Array) return { bytes: data, type };
      if (typeof data !== "string") throw unprocessable(`${what}.data of type BINARY must be a base64 string`, errorCode);
      if (!base64Pattern.test(data)) throw unprocessable(`${what}.data is not valid base64`, errorCode);
      return { bytes: new Uint8Array(Buffer.from(data, "base64")), type };
    case "STRING":
      if (data === null || data === undefined) return { bytes: null, type };
      if (typeof data !== "string") throw unprocessable(`${what}.data of type STRING must be a string`, errorCode);
      return { bytes: utf8(data), type };
    case "JSON":
      if (data === undefined) return { bytes: null, type };
      return { bytes: utf8(toJsonText(data)), type };
    case "AVRO":
    case "PROTOBUF":
    case "JSONSCHEMA":
      throw unprocessable(`${what}.type ${type} needs a schema registry, which this broker does not have: use BINARY, STRING or JSON`, errorCode);
    default:
      throw unprocessable(`${what}.type must be BINARY, STRING or JSON, was ${JSON.stringify(rawType)}`, errorCode);
  }
}

function parseHeaders(field: unknown): RecordHeaderBytes[] {
  if (field === undefined || field === null) return [];
  if (!Array.isArray(field)) throw badRequest("headers must be an array of {\"name\", \"value\"}");
  return field.map((header, index) => {
    if (!isObject(header) || typeof header.name !== "string") throw badRequest(`headers[${index}] must be {"name": string, "value": base64 or null}`);
    const value = header.value;
    if (value === undefined || value === null) return { key: header.name, value: null };
    if (value instanceof Uint8Array) return { key: header.name, value };
    if (typeof value !== "string" || !base64Pattern.test(value)) throw badRequest(`headers[${index}].value must be base64 (or null)`);
    return { key: header.name, value: new Uint8Array(Buffer.from(value, "base64")) };
  });
}

/** Epoch milliseconds from an ISO 8601 string or a number; 400 otherwise. */
export function parseTimestamp(field: unknown, what = "timestamp"): bigint | undefined {
  if (field === undefined || field === null) return undefined;
  if (typeof field === "number" && Number.isSafeInteger(field) && field >= 0) return BigInt(field);
  if (typeof field === "bigint" && field >= 0n) return field;
  if (typeof field === "string") {
    if (/^\d+$/.test(field)) return BigInt(field);
    const parsed = Date.parse(field);
    if (!Number.isNaN(parsed) && parsed >= 0) return BigInt(parsed);
  }
  throw badRequest(`${what} must be an ISO 8601 date-time or epoch milliseconds, was ${JSON.stringify(typeof field === "bigint" ? String(field) : field)}`);
}

/** One record of a produce request, checked; throws HttpError (400/422) saying what is wrong. */
export function parseProduceRecord(document: unknown): ParsedProduceRecord {
  if (!isObject(document)) throw badRequest("a record must be an object {\"key\", \"value\", \"headers\", \"partition_id\", \"timestamp\"}");
  let partition: number | null = null;
  const partitionField = document.partition_id ?? document.partition;
  if (partitionField !== undefined && partitionField !== null) {
    if (typeof partitionField !== "number" || !Number.isInteger(partitionField) || partitionField < 0) {
      throw badRequest(`partition_id must be a non-negative integer, was ${JSON.stringify(partitionField)}`);
    }
    partition = partitionField;
  }
  const headers = parseHeaders(document.headers);
  const key = typedData(document.key, "key");
  const value = typedData(document.value, "value");
  const timestampMs = parseTimestamp(document.timestamp);
  return {
    partition,
    record: { key: key.bytes, value: value.bytes, headers, ...(timestampMs !== undefined ? { timestampMs } : {}) },
    keyType: key.type,
    valueType: value.type,
  };
}

// ── consumed records ──────────────────────────────────────────────────────────────────────────

export type ShowAs = "binary" | "string" | "json";

export function parseShowAs(text: string | undefined, what: string): ShowAs {
  if (text === undefined || text === "") return "binary";
  const lower = text.toLowerCase();
  if (lower === "binary" || lower === "string" || lower === "json") return lower;
  throw badRequest(`${what} must be binary, string or json, was '${text}'`);
}

/**
 * Typed data for a consumed key or value. Bytes that are not what was asked for (not UTF-8 for
 * string, not a JSON document for json) fall back to BINARY, and the type says so: nothing is lost.
 */
export function showData(bytes: Uint8Array | null, showAs: ShowAs, cbor: boolean): { type: DataType; data: unknown } | null {
  if (bytes === null) return null;
  if (showAs !== "binary") {
    const text = utf8Text(bytes);
    if (text !== null && showAs === "string") return { type: "STRING", data: text };
    if (text !== null && showAs === "json") {
      try {
        return { type: "JSON", data: JSON.parse(text) };
      } catch {
        // not JSON: shown as binary below
      }
    }
  }
  return { type: "BINARY", data: cbor ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64") };
}

function showHeaders(headers: RecordHeaderBytes[], cbor: boolean) {
  return headers.map((header) => ({
    name: header.key,
    value: header.value === null ? null : cbor ? header.value : Buffer.from(header.value.buffer, header.value.byteOffset, header.value.length).toString("base64"),
  }));
}

/** A consumed record in the v3-style typed form. */
export function showRecord(record: ConsumedRecord, keyAs: ShowAs, valueAs: ShowAs, cbor: boolean) {
  return {
    topic_name: record.topic,
    partition_id: record.partition,
    offset: int64(record.offset),
    timestamp: int64(record.timestampMs),
    timestamp_type: record.timestampType,
    key: showData(record.key, keyAs, cbor),
    value: showData(record.value, valueAs, cbor),
    headers: showHeaders(record.headers, cbor),
  };
}

/** A consumed record as REST Proxy v2 consumer instances answer it (format chosen at creation). */
export function showV2Record(record: ConsumedRecord, format: ShowAs, cbor: boolean) {
  const show = (bytes: Uint8Array | null) => {
    if (bytes === null) return null;
    const shown = showData(bytes, format, cbor)!;
    return shown.data;
  };
  return {
    topic: record.topic,
    key: show(record.key),
    value: show(record.value),
    partition: record.partition,
    offset: int64(record.offset),
    timestamp: int64(record.timestampMs),
    headers: showHeaders(record.headers, cbor),
  };
}
