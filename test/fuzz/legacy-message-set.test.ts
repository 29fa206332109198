// Message-set fuzzing (Produce v0-2): valid magic 0/1 sets, plain and wrapped with every codec, then
// mutated (bytes flipped, sizes that lie, truncations, wrappers nested in wrappers, CRCs broken or
// recomputed so the damage reaches the parser, small decompression bombs) through the
// up-conversion. Only KafkaError may come out, never a RangeError/TypeError or a crash; whatever is
// accepted must be a RecordBatch v2 the log's own validation accepts. Seeded: RUNNEL_FUZZ_SEED.

import { expect, test } from "bun:test";
import * as zlib from "node:zlib";
import { compress } from "../../src/protocol/compression.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { upConvertMessageSet } from "../../src/protocol/legacy-message-set/index.ts";
import { defaultCrcSource, validateIncomingBatches } from "../../src/protocol/record-batch.ts";
import { concatBytes, encodeMessage, encodeSet, type TestMessage } from "../helpers/legacy-messages.ts";

const seed = Number(process.env.RUNNEL_FUZZ_SEED ?? 11);
const rounds = Number(process.env.RUNNEL_FUZZ_MESSAGE_SETS ?? 10_000);
const limits = { inflatedBytesMax: 256 * 1024 };

let state = seed >>> 0 || 1;
function below(limit: number): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state % limit;
}

function plain(magic: 0 | 1, count: number): TestMessage[] {
  return Array.from({ length: count }, (_, index) => ({
    magic, offset: BigInt(index), timestamp: BigInt(1_700_000_000_000 + index),
    key: index % 3 === 0 ? null : `key-${index}`, value: index % 4 === 3 ? null : `value-${index}`.repeat(1 + below(5)),
  }));
}

function wrapped(magic: 0 | 1, codec: number, inner: TestMessage[]): TestMessage {
  return { magic, offset: BigInt(inner.length - 1), attributes: codec, timestamp: 1n, key: null, value: compress(codec, encodeSet(inner)) };
}

function corpus(): Uint8Array[] {
  const sets: Uint8Array[] = [];
  for (const magic of [0, 1] as const) {
    sets.push(encodeSet(plain(magic, 4)));
    for (const codec of [1, 2, 3]) {
      sets.push(encodeSet([wrapped(magic, codec, plain(magic, 3))]));
      sets.push(encodeSet([wrapped(magic, codec, plain(magic, 2)), wrapped(magic, codec, plain(magic, 2))]));
      // Nested: a wrapper inside a wrapper.
      sets.push(encodeSet([wrapped(magic, codec, [wrapped(magic, codec, plain(magic, 2))])]));
      // A small bomb: a 1 MiB value of zeros, far above the 256 KiB cap.
      sets.push(encodeSet([wrapped(magic, codec, [{ magic, value: new Uint8Array(1024 * 1024) }])]));
    }
  }
  return sets;
}

/** Recomputes every top-level CRC so that a mutation is seen by the parser behind the CRC check. */
function recrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  let at = 0;
  while (at + 17 <= out.length) {
    const size = view.getInt32(at + 8);
    if (size < 5 || at + 12 + size > out.length) break;
    view.setUint32(at + 12, zlib.crc32(out.subarray(at + 16, at + 12 + size)) >>> 0);
    at += 12 + size;
  }
  return out;
}

function mutate(set: Uint8Array): Uint8Array {
  const out = set.slice();
  const view = new DataView(out.buffer);
  switch (below(7)) {
    case 0: // flip bytes
      for (let count = 1 + below(4); count > 0; count--) out[below(out.length)] ^= 1 << below(8);
      return below(2) === 0 ? out : recrc(out);
    case 1: // a size that lies
      view.setInt32(8, [-1, 0, 3, 13, 21, out.length, 0x7fffffff][below(7)]!);
      return out;
    case 2: // truncated
      return out.subarray(0, below(out.length));
    case 3: // key/value lengths that lie, CRC recomputed
      if (out.length > 30) view.setInt32(18 + below(12), [-2, -1, 1 << 20, 0x7fffffff, 5][below(5)]!);
      return recrc(out);
    case 4: // attributes: any codec, timestamp bit
      out[17] = below(256);
      return recrc(out);
    case 5: // trailing garbage
      return concatBytes([out, crypto.getRandomValues(new Uint8Array(1 + below(40)))]);
    default: // magic
      out[16] = below(4);
      return recrc(out);
  }
}

test(`${rounds} mutated message sets: KafkaError or a valid RecordBatch v2, nothing else`, () => {
  const sets = corpus();
  let accepted = 0;
  let refused = 0;
  for (let round = 0; round < rounds; round++) {
    const input = round < sets.length ? sets[round]! : mutate(sets[below(sets.length)]!);
    try {
      const converted = upConvertMessageSet(input, limits);
      validateIncomingBatches(defaultCrcSource, converted.batch, { maxMessageBytes: 1 << 30 });
      accepted++;
    } catch (error) {
      if (!(error instanceof KafkaError)) throw new Error(`round ${round} (seed ${seed}): ${String(error)}`);
      refused++;
    }
  }
  expect(accepted).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
  console.log(`legacy message-set fuzz: ${accepted} accepted, ${refused} refused (seed ${seed})`);
}, 60_000);

test("random bytes are refused with a KafkaError", () => {
  for (let round = 0; round < 2000; round++) {
    const bytes = crypto.getRandomValues(new Uint8Array(below(200)));
    try {
      upConvertMessageSet(bytes, limits);
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
    }
  }
});
