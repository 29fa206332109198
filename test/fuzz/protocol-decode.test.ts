// Decode fuzzing: ≥100,000 random and mutated frames through header + body decoding for every API
// (requests, the broker's side, and responses, the client side). The only errors allowed are
// ProtocolDecodeError and KafkaError (UNSUPPORTED_VERSION for versions we do not serve); never a
// RangeError or TypeError, never a decoded value much larger than its input.
//
// Deterministic: a seeded PRNG (RUNNEL_FUZZ_SEED to replay, RUNNEL_FUZZ_FRAMES to scale).

import { expect, test } from "bun:test";
import type { AnyApi } from "../../src/protocol/api.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { allApis, apiByKey } from "../../src/protocol/generated/index.ts";
import { decodeRequestHeader, encodeRequestFrame } from "../../src/protocol/headers.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";
import { messageByName, sample } from "../protocol/samples.ts";

const seed = Number(process.env.RUNNEL_FUZZ_SEED ?? 20261127);
const framesTotal = Number(process.env.RUNNEL_FUZZ_FRAMES ?? 120_000);

/** xorshift32: small, fast, replayable. */
function prng(start: number): () => number {
  let state = start >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

const next = prng(seed);
const below = (limit: number): number => next() % limit;

interface Corpus {
  readonly api: AnyApi;
  readonly version: number;
  readonly request: Uint8Array; // frame without the int32 size
  readonly response: Uint8Array; // body only
}

function buildCorpus(): Corpus[] {
  const corpus: Corpus[] = [];
  for (const api of allApis) {
    const request = messageByName.get(`${api.name}Request`)!;
    const response = messageByName.get(`${api.name}Response`)!;
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      for (const nulls of [false, true]) {
        const frame = encodeRequestFrame(api, version, 7, nulls ? null : "fuzz", sample(request, request.root, version, nulls, 1).input);
        const writer = new Writer();
        api.encodeResponse(writer, version, sample(response, response.root, version, nulls, 2).input);
        corpus.push({ api, version, request: frame.slice(4), response: writer.finish().slice() });
      }
    }
  }
  return corpus;
}

/** One mutation of `input`: bit flips, overwrites, truncation, length-field corruption, splices. */
function mutate(input: Uint8Array): Uint8Array {
  const bytes = input.slice();
  const kind = below(8);
  if (bytes.length === 0) return bytes;
  switch (kind) {
    case 0: // flip a few bits
      for (let count = 1 + below(4); count > 0; count--) bytes[below(bytes.length)]! ^= 1 << below(8);
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, below(bytes.length));
    case 2: // random bytes over a span
      for (let at = below(bytes.length), count = 1 + below(8); count > 0 && at < bytes.length; count--, at++) bytes[at] = below(256);
      return bytes;
    case 3: {
      // an int32 length field made absurd or negative
      if (bytes.length < 4) return bytes.subarray(1);
      const values = [0x7fffffff, -2, -1, 0x10000, bytes.length, 0xffff];
      new DataView(bytes.buffer).setInt32(below(bytes.length - 3), values[below(values.length)]!);
      return bytes;
    }
    case 4: {
      // an int16 length field made absurd or negative
      if (bytes.length < 2) return bytes.subarray(1);
      new DataView(bytes.buffer).setInt16(below(bytes.length - 1), [0x7fff, -1, -2, 0x100][below(4)]!);
      return bytes;
    }
    case 5: {
      // a varint made endless or huge
      const at = below(bytes.length);
      for (let index = at; index < Math.min(bytes.length, at + 1 + below(6)); index++) bytes[index] = 0xff;
      return bytes;
    }
    case 6: {
      // delete a span
      const at = below(bytes.length);
      const end = Math.min(bytes.length, at + 1 + below(16));
      const out = new Uint8Array(bytes.length - (end - at));
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(end), at);
      return out;
    }
    default: {
      // duplicate a span (grows the frame)
      const at = below(bytes.length);
      const span = bytes.subarray(at, at + 1 + below(32));
      const out = new Uint8Array(bytes.length + span.length);
      out.set(bytes.subarray(0, at));
      out.set(span, at);
      out.set(bytes.subarray(at), at + span.length);
      return out;
    }
  }
}

/** A rough size of a decoded value: array elements, string characters, object fields. */
function footprint(value: unknown, depth = 0): number {
  if (depth > 64) throw new Error("decoded value nested too deep");
  if (value === null || typeof value !== "object") return typeof value === "string" ? value.length + 1 : 1;
  if (value instanceof Uint8Array) return 1; // a view: no allocation of its bytes
  if (Array.isArray(value)) {
    let total = 1;
    for (const item of value) total += footprint(item, depth + 1);
    return total;
  }
  let total = 1;
  for (const item of Object.values(value)) total += footprint(item, depth + 1);
  return total;
}

const unexpected: string[] = [];
let footprintWorstRatio = 0;

function expectOnlyDecodeErrors(label: string, input: Uint8Array, decode: () => unknown): void {
  try {
    const decoded = decode();
    // Each byte can become at most a handful of decoded items (default fields fill absent ones).
    const ratio = footprint(decoded) / (input.length + 64);
    footprintWorstRatio = Math.max(footprintWorstRatio, ratio);
  } catch (error) {
    if (error instanceof KafkaError) return;
    if (unexpected.length < 10) {
      unexpected.push(`${label}: ${(error as Error)?.name}: ${(error as Error)?.message} input=${Buffer.from(input).toString("hex").slice(0, 200)}`);
    }
  }
}

function decodeRequestFrameBody(frame: Uint8Array): unknown {
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader);
  const api = apiByKey.get(header.requestApiKey);
  if (!api) return header;
  return api.decodeRequest(reader, header.requestApiVersion);
}

test(`decoding ${framesTotal} random and mutated frames throws only protocol errors (seed ${seed})`, () => {
  const corpus = buildCorpus();
  expect(corpus.length).toBe(2 * allApis.reduce((sum, api) => sum + api.maxVersion - api.minVersion + 1, 0));
  // Every corpus entry decodes cleanly before mutation.
  for (const entry of corpus) {
    decodeRequestFrameBody(entry.request);
    entry.api.decodeResponse(new Reader(entry.response), entry.version);
  }
  let frames = 0;
  while (frames < framesTotal) {
    const entry = corpus[below(corpus.length)]!;
    const choice = below(10);
    if (choice < 6) {
      let input = mutate(entry.request);
      if (below(4) === 0) input = mutate(input);
      expectOnlyDecodeErrors(`request ${entry.api.name} v${entry.version}`, input, () => decodeRequestFrameBody(input));
    } else if (choice < 9) {
      const input = mutate(entry.response);
      expectOnlyDecodeErrors(`response ${entry.api.name} v${entry.version}`, input, () =>
        entry.api.decodeResponse(new Reader(input), entry.version),
      );
    } else {
      // Pure noise after a plausible header prefix (known key, random version, random rest).
      const input = new Uint8Array(4 + below(200));
      for (let index = 0; index < input.length; index++) input[index] = below(256);
      new DataView(input.buffer).setInt16(0, entry.api.apiKey);
      new DataView(input.buffer).setInt16(2, below(entry.api.maxVersion + 3));
      expectOnlyDecodeErrors("noise", input, () => decodeRequestFrameBody(input));
    }
    frames++;
  }
  expect(unexpected).toEqual([]);
  expect(footprintWorstRatio).toBeLessThan(8);
}, 120_000);
