// How `runnel consume` prints a record: a kcat-style format string (-f) or JSON lines.
//
//   %t topic   %p partition   %o offset   %T timestamp (ms)   %k key   %s value
//   %K key length (-1: null)   %S value length (-1: null)   %h headers as k=v,k=v   %%
//   \n newline   \t tab   \\ backslash
// Keys and values are written as their bytes (binary stays binary); a null one as nothing.

import type { ConsumedRecord } from "../client/consumer.ts";
import { UsageError } from "./flags.ts";

export type Piece = string | Uint8Array;
export type RecordFormatter = (record: ConsumedRecord) => Piece[];

const decoder = new TextDecoder();

function headersText(record: ConsumedRecord): string {
  return record.headers.map((header) => `${header.key}=${header.value === null ? "" : decoder.decode(header.value)}`).join(",");
}

const fields: Record<string, (record: ConsumedRecord) => Piece> = {
  t: (record) => record.topic,
  p: (record) => String(record.partition),
  o: (record) => String(record.offset),
  T: (record) => String(record.timestamp),
  k: (record) => record.key ?? "",
  s: (record) => record.value ?? "",
  K: (record) => String(record.key?.length ?? -1),
  S: (record) => String(record.value?.length ?? -1),
  h: headersText,
};

const escapes: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", r: "\r" };

export function compileFormat(format: string): RecordFormatter {
  const parts: (string | ((record: ConsumedRecord) => Piece))[] = [];
  let literal = "";
  for (let index = 0; index < format.length; index++) {
    const char = format[index]!;
    const next = format[index + 1];
    if (char === "%" && next !== undefined) {
      index++;
      if (next === "%") literal += "%";
      else {
        const field = fields[next];
        if (!field) throw new UsageError(`--format: unknown field %${next}`);
        if (literal) parts.push(literal);
        literal = "";
        parts.push(field);
      }
    } else if (char === "\\" && next !== undefined && escapes[next] !== undefined) {
      literal += escapes[next];
      index++;
    } else {
      literal += char;
    }
  }
  if (literal) parts.push(literal);
  return (record) => parts.map((part) => (typeof part === "string" ? part : part(record)));
}

function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : decoder.decode(bytes);
}

/** One JSON line per record; keys, values and header values as UTF-8 text. */
export function jsonLine(record: ConsumedRecord): string {
  return `${JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    timestamp: Number(record.timestamp),
    timestampType: record.timestampType,
    key: text(record.key),
    value: text(record.value),
    headers: Object.fromEntries(record.headers.map((header) => [header.key, text(header.value)])),
  })}\n`;
}
