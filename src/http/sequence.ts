// Cutting a streamed request body into documents: newline-delimited JSON (one JSON document a
// line, blank lines skipped) and CBOR sequences (RFC 8742: items back to back). Each document is
// bounded (http.request.max.bytes): a longer line or item ends the stream with an error rather
// than buffering without limit. A CBOR item that does not decode cannot be skipped (there is no
// delimiter to resynchronise on), so it ends the stream too; a bad JSON line is answered and the
// next line read.

import { decodeMultiple } from "cbor-x";
import { utf8Text } from "./encoding.ts";
import { badRequest, HttpError } from "./errors.ts";

/** One document of the stream: its value, or why it could not be read. `fatal`: nothing after it can be read. */
export type SequenceItem = { ok: true; value: unknown } | { ok: false; error: HttpError; fatal: boolean };

export interface SequenceSplitter {
  /** Documents completed by this chunk. */
  push(chunk: Uint8Array): SequenceItem[];
  /** The end of the body: a last unterminated document, or an error for a truncated one. */
  end(): SequenceItem[];
}

function tooLong(what: string, maxBytes: number): SequenceItem {
  return { ok: false, fatal: true, error: new HttpError(413, 413, `${what} longer than http.request.max.bytes (${maxBytes} bytes): stream ended.`) };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

export class NdjsonSplitter implements SequenceSplitter {
  private rest: Uint8Array = new Uint8Array(0);
  private failed = false;

  constructor(private readonly lineBytesMax: number) {}

  private parseLine(line: Uint8Array): SequenceItem | null {
    let end = line.length;
    if (end > 0 && line[end - 1] === 0x0d) end--; // CRLF
    let start = 0;
    while (start < end && (line[start] === 0x20 || line[start] === 0x09)) start++;
    if (start === end) return null;
    const text = utf8Text(line.subarray(start, end));
    if (text === null) return { ok: false, fatal: false, error: badRequest("Malformed JSON line: not UTF-8.") };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false, fatal: false, error: badRequest(`Malformed JSON line: ${(error as Error).message}`) };
    }
  }

  push(chunk: Uint8Array): SequenceItem[] {
    if (this.failed) return [];
    const items: SequenceItem[] = [];
    const data = concat(this.rest, chunk);
    const lastNewline = data.lastIndexOf(0x0a);
    if (lastNewline < 0) {
      this.rest = data === chunk ? chunk.slice() : data;
    } else {
      const complete = data.subarray(0, lastNewline);
      // One decode for every complete line of the chunk (a newline byte never occurs inside a
      // multi-byte UTF-8 character, so splitting the text splits the bytes at the same places).
      const text = utf8Text(complete);
      if (text === null) {
        this.pushLinesOneByOne(complete, items);
      } else {
        for (const line of text.split("\n")) {
          if (line.length > this.lineBytesMax) {
            this.failed = true;
            items.push(tooLong("JSON line", this.lineBytesMax));
            return items;
          }
          const item = this.parseText(line);
          if (item) items.push(item);
        }
      }
      // Keep the unterminated tail (a copy: the chunk's buffer may be reused by the body reader).
      this.rest = data.slice(lastNewline + 1);
    }
    if (this.rest.length > this.lineBytesMax) {
      this.failed = true;
      items.push(tooLong("JSON line", this.lineBytesMax));
    }
    return items;
  }

  /** Line by line, for a region that holds invalid UTF-8 (only the lines that do are refused). */
  private pushLinesOneByOne(region: Uint8Array, items: SequenceItem[]): void {
    let start = 0;
    while (start <= region.length) {
      let newline = region.indexOf(0x0a, start);
      if (newline < 0) newline = region.length;
      const item = this.parseLine(region.subarray(start, newline));
      if (item) items.push(item);
      start = newline + 1;
    }
  }

  private parseText(line: string): SequenceItem | null {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (text.trim() === "") return null;
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false, fatal: false, error: badRequest(`Malformed JSON line: ${(error as Error).message}`) };
    }
  }

  end(): SequenceItem[] {
    if (this.failed) return [];
    const item = this.parseLine(this.rest);
    this.rest = new Uint8Array(0);
    return item ? [item] : [];
  }
}

export class CborSeqSplitter implements SequenceSplitter {
  private rest: Uint8Array = new Uint8Array(0);
  private failed = false;

  constructor(private readonly itemBytesMax: number) {}

  push(chunk: Uint8Array): SequenceItem[] {
    if (this.failed) return [];
    const data = concat(this.rest, chunk);
    if (data.length === 0) return [];
    const items: SequenceItem[] = [];
    let consumed = 0;
    try {
      decodeMultiple(data, (value: unknown) => {
        items.push({ ok: true, value });
      });
      consumed = data.length;
    } catch (error) {
      const failure = error as { incomplete?: boolean; lastPosition?: number; message?: string };
      if (!failure.incomplete) {
        this.failed = true;
        items.push({ ok: false, fatal: true, error: badRequest(`Malformed CBOR item: ${failure.message ?? String(error)}; stream ended.`) });
        return items;
      }
      // Items before the incomplete one were delivered; the incomplete one starts at lastPosition.
      consumed = failure.lastPosition ?? 0;
    }
    this.rest = data.slice(consumed);
    if (this.rest.length > this.itemBytesMax) {
      this.failed = true;
      items.push(tooLong("CBOR item", this.itemBytesMax));
    }
    return items;
  }

  end(): SequenceItem[] {
    if (this.failed || this.rest.length === 0) return [];
    this.rest = new Uint8Array(0);
    return [{ ok: false, fatal: true, error: badRequest("Truncated CBOR item at the end of the stream.") }];
  }
}
