// The magic 0/1 message-set codec (src/protocol/legacy-message-set/): up-conversion of produced sets
// into RecordBatch v2 (timestamps, codecs, wrapper offsets, Kafka 0.8's LZ4 checksum, every refusal
// with its error code) and down-conversion of stored batches for Fetch v0-3 (offsets, timestamps,
// compression kept, byte limits, control batches, zstd), checked against an encoder/decoder written
// apart from it (test/helpers/legacy-messages.ts).

import { describe, expect, test } from "bun:test";
import * as zlib from "node:zlib";
import { compress, CompressionType, decompress } from "../../src/protocol/compression.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { downConvert, upConvertMessageSet } from "../../src/protocol/legacy-message-set/index.ts";
import { buildMarkerBatch, buildRecordBatch, compressionOf, decodeRecords, isLogAppendTime, splitBatches, validateIncomingBatches, defaultCrcSource } from "../../src/protocol/record-batch.ts";
import { concatBytes, decodeSet, encodeMessage, encodeSet, lz4HeaderChecksum, type TestMessage } from "../helpers/legacy-messages.ts";

const text = new TextDecoder();
const limits = { inflatedBytesMax: 1024 * 1024 };

function recordsOf(batch: Uint8Array) {
  const [view] = splitBatches(batch);
  return { header: view!.header, records: decodeRecords(view!) };
}

function codeOf(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
  throw new Error("expected a KafkaError");
}

function wrapper(magic: 0 | 1, codec: number, inner: TestMessage[], options: { offset?: bigint; timestamp?: bigint; logAppendTime?: boolean } = {}): TestMessage {
  const value = compress(codec, encodeSet(inner));
  return { magic, offset: options.offset ?? BigInt(inner.length - 1), attributes: codec | (options.logAppendTime ? 8 : 0), timestamp: options.timestamp ?? 0n, key: null, value };
}

describe("up-conversion (Produce v0-2)", () => {
  test("magic 0: keys, values, nulls; offsets assigned from 0; timestamps -1 (NO_TIMESTAMP)", () => {
    const set = encodeSet([
      { magic: 0, offset: 7n, key: "k1", value: "v1" },
      { magic: 0, offset: 7n, key: null, value: "v2" },
      { magic: 0, offset: 9n, key: "k3", value: null },
    ]);
    const converted = upConvertMessageSet(set, limits);
    expect(converted.recordsCount).toBe(3);
    validateIncomingBatches(defaultCrcSource, converted.batch, { maxMessageBytes: 1 << 20 });
    const { header, records } = recordsOf(converted.batch);
    expect(header.maxTimestamp).toBe(-1n);
    expect(records.map((record) => record.offset)).toEqual([0n, 1n, 2n]);
    expect(records.map((record) => record.timestamp)).toEqual([-1n, -1n, -1n]);
    expect(records.map((record) => (record.key ? text.decode(record.key) : null))).toEqual(["k1", null, "k3"]);
    expect(records.map((record) => (record.value ? text.decode(record.value) : null))).toEqual(["v1", "v2", null]);
  });

  test("magic 1: timestamps kept, max timestamp in the header", () => {
    const set = encodeSet([
      { magic: 1, timestamp: 1_700_000_000_123n, key: "a", value: "1" },
      { magic: 1, timestamp: 1_700_000_000_100n, key: "b", value: "2" },
    ]);
    const { header, records } = recordsOf(upConvertMessageSet(set, limits).batch);
    expect(records.map((record) => record.timestamp)).toEqual([1_700_000_000_123n, 1_700_000_000_100n]);
    expect(header.maxTimestamp).toBe(1_700_000_000_123n);
    expect(isLogAppendTime(header.attributes)).toBe(false);
  });

  for (const [name, codec] of [["gzip", 1], ["snappy", 2], ["lz4", 3]] as const) {
    for (const magic of [0, 1] as const) {
      test(`magic ${magic} ${name} wrapper: inner messages kept, codec kept`, () => {
        const inner: TestMessage[] = [0, 1, 2].map((index) => ({ magic, offset: BigInt(index), timestamp: 1_000n + BigInt(index), key: `key-${index}`, value: `value-${index}`.repeat(20) }));
        const set = encodeSet([wrapper(magic, codec, inner, { offset: magic === 1 ? 2n : 2n })]);
        const converted = upConvertMessageSet(set, limits);
        const { header, records } = recordsOf(converted.batch);
        expect(compressionOf(header.attributes)).toBe(codec);
        expect(records.map((record) => text.decode(record.key!))).toEqual(["key-0", "key-1", "key-2"]);
        expect(records.map((record) => record.timestamp)).toEqual(magic === 1 ? [1_000n, 1_001n, 1_002n] : [-1n, -1n, -1n]);
      });
    }
  }

  test("magic 0 lz4 with Kafka 0.8's broken header checksum is read", () => {
    const inner: TestMessage[] = [{ magic: 0, key: "x", value: "y".repeat(100) }];
    const frame = compress(CompressionType.lz4, encodeSet(inner));
    const broken = frame.slice();
    broken[6] = lz4HeaderChecksum(frame, 0, 6);
    expect(broken[6]).not.toBe(frame[6]);
    const set = encodeSet([{ magic: 0, attributes: 3, key: null, value: broken }]);
    const { records } = recordsOf(upConvertMessageSet(set, limits).batch);
    expect(text.decode(records[0]!.value!)).toBe("y".repeat(100));
  });

  test("a magic 1 LogAppendTime wrapper gives its timestamp to its inner messages; several wrappers make one batch", () => {
    const first = wrapper(1, 1, [{ magic: 1, offset: 0n, timestamp: 5n, value: "a" }], { timestamp: 99n, logAppendTime: true, offset: 0n });
    const second = wrapper(1, 1, [{ magic: 1, offset: 0n, timestamp: 6n, value: "b" }, { magic: 1, offset: 1n, timestamp: 7n, value: "c" }], { offset: 1n });
    const { records } = recordsOf(upConvertMessageSet(encodeSet([first, second]), limits).batch);
    expect(records.map((record) => record.timestamp)).toEqual([99n, 6n, 7n]);
    expect(records.map((record) => record.offset)).toEqual([0n, 1n, 2n]);
  });

  test("refusals, with Kafka's error codes", () => {
    const good = encodeMessage({ magic: 1, timestamp: 1n, key: "k", value: "v" });
    const badCrc = good.slice();
    badCrc[good.length - 1]! ^= 1;
    expect(codeOf(() => upConvertMessageSet(badCrc, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const lyingLarge = good.slice();
    new DataView(lyingLarge.buffer).setInt32(8, 1000);
    expect(codeOf(() => upConvertMessageSet(lyingLarge, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const lyingSmall = good.slice();
    new DataView(lyingSmall.buffer).setInt32(8, 3);
    expect(codeOf(() => upConvertMessageSet(lyingSmall, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const negative = good.slice();
    new DataView(negative.buffer).setInt32(8, -5);
    expect(codeOf(() => upConvertMessageSet(negative, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(codeOf(() => upConvertMessageSet(concatBytes([good, good.subarray(0, 20)]), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    // A key length that lies inside a message whose CRC is right.
    const keyLie = encodeMessage({ magic: 0, key: "abc", value: "d" });
    new DataView(keyLie.buffer).setInt32(18, 400);
    new DataView(keyLie.buffer).setUint32(12, zlib.crc32(keyLie.subarray(16)) >>> 0);
    expect(codeOf(() => upConvertMessageSet(keyLie, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const magic2 = good.slice();
    magic2[16] = 2;
    new DataView(magic2.buffer).setUint32(12, zlib.crc32(magic2.subarray(16)) >>> 0);
    expect(codeOf(() => upConvertMessageSet(magic2, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);

    const nested = wrapper(1, 1, [wrapper(1, 1, [{ magic: 1, value: "deep" }], { offset: 0n })], { offset: 0n });
    expect(codeOf(() => upConvertMessageSet(encodeMessage(nested), limits))).toBe(ErrorCode.INVALID_RECORD);
    const mixed = wrapper(1, 1, [{ magic: 0, value: "old" }], { offset: 0n });
    expect(codeOf(() => upConvertMessageSet(encodeMessage(mixed), limits))).toBe(ErrorCode.INVALID_RECORD);
    // Client offsets are not checked (Kafka assigns its own): kafka-python writes 0 as a magic 1
    // wrapper's offset, whatever its inner offsets.
    const wrapperOffset = wrapper(1, 1, [{ magic: 1, offset: 0n, value: "a" }, { magic: 1, offset: 1n, value: "b" }, { magic: 1, offset: 2n, value: "c" }], { offset: 0n });
    expect(recordsOf(upConvertMessageSet(encodeMessage(wrapperOffset), limits).batch).records.map((record) => record.offset)).toEqual([0n, 1n, 2n]);
    const empty = { magic: 1 as const, attributes: 1, key: null, value: compress(1, new Uint8Array(0)) };
    expect(codeOf(() => upConvertMessageSet(encodeMessage(empty), limits))).toBe(ErrorCode.INVALID_RECORD);
    const nullValue = { magic: 1 as const, attributes: 2, key: null, value: null };
    expect(codeOf(() => upConvertMessageSet(encodeMessage(nullValue), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    const zstd = { magic: 1 as const, attributes: 4, key: null, value: compress(4, encodeSet([{ magic: 1, value: "z" }])) };
    expect(codeOf(() => upConvertMessageSet(encodeMessage(zstd), limits))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const garbage = { magic: 1 as const, attributes: 1, key: null, value: new Uint8Array([1, 2, 3, 4, 5]) };
    expect(codeOf(() => upConvertMessageSet(encodeMessage(garbage), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(codeOf(() => upConvertMessageSet(new Uint8Array(0), limits))).toBe(ErrorCode.INVALID_RECORD);
    expect(codeOf(() => upConvertMessageSet(encodeMessage({ magic: 1, timestamp: -5n, value: "t" }), limits))).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(codeOf(() => upConvertMessageSet(encodeMessage({ magic: 1, timestamp: -72055894036185090n, value: "t" }), limits))).toBe(ErrorCode.INVALID_TIMESTAMP);
  });

  test("a decompression bomb is refused at the cap without inflating it whole", () => {
    // 64 MiB of zeros as one message value, gzip-compressed to ~64 KiB; the cap is 1 MiB.
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const inner = encodeMessage({ magic: 1, value: zeros });
    for (const codec of [1, 2, 3]) {
      const bomb = encodeMessage({ magic: 1, attributes: codec, key: null, value: compress(codec, inner) });
      expect(bomb.length).toBeLessThan(4 * 1024 * 1024);
      expect(codeOf(() => upConvertMessageSet(bomb, limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
    // The cap is shared by all the set's wrappers: two that fit alone do not fit together.
    const half = encodeMessage({ magic: 1, attributes: 1, key: null, value: compress(1, encodeMessage({ magic: 1, value: new Uint8Array(600 * 1024) })) });
    expect(upConvertMessageSet(half, limits).recordsCount).toBe(1);
    expect(codeOf(() => upConvertMessageSet(concatBytes([half, half]), limits))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});

function storedBatch(baseOffset: bigint, count: number, options: { compression?: number; logAppendTime?: boolean; timestamp?: bigint } = {}): Uint8Array {
  return buildRecordBatch({
    baseOffset, compression: options.compression ?? 0, logAppendTime: options.logAppendTime, baseTimestamp: options.timestamp ?? 1_000n,
    records: Array.from({ length: count }, (_, index) => ({
      key: `k${Number(baseOffset) + index}`, value: `v${Number(baseOffset) + index}`, timestamp: (options.timestamp ?? 1_000n) + BigInt(index),
      headers: [{ key: "h", value: "dropped" }],
    })),
  });
}

const unlimited = { maxBytes: 1 << 30, oversizeFirst: "partial" as const, inflatedBytesMax: 1 << 26 };

describe("down-conversion (Fetch v0-3)", () => {
  test("uncompressed: absolute offsets, records before the fetch offset left out, timestamps on magic 1 only", () => {
    const chunk = concatBytes([storedBatch(0n, 3), storedBatch(3n, 2)]);
    for (const magic of [0, 1] as const) {
      const converted = downConvert([chunk], { ...unlimited, magic, fetchOffset: 1n });
      const { messages, partialBytes } = decodeSet(converted.bytes);
      expect(partialBytes).toBe(0);
      expect(converted.records).toBe(4);
      expect(messages.map((message) => message.offset)).toEqual([1n, 2n, 3n, 4n]);
      expect(messages.every((message) => message.crcOk && message.magic === magic && message.attributes === 0)).toBe(true);
      expect(messages.map((message) => text.decode(message.key!))).toEqual(["k1", "k2", "k3", "k4"]);
      expect(messages.map((message) => message.timestamp)).toEqual(magic === 1 ? [1_001n, 1_002n, 1_000n, 1_001n] : [-1n, -1n, -1n, -1n]);
    }
  });

  for (const [name, codec] of [["gzip", 1], ["snappy", 2], ["lz4", 3]] as const) {
    test(`${name}: one wrapper per batch, same codec; inner offsets relative (magic 1) or absolute (magic 0)`, () => {
      const chunk = storedBatch(10n, 4, { compression: codec });
      for (const magic of [0, 1] as const) {
        const { messages } = decodeSet(downConvert([chunk], { ...unlimited, magic, fetchOffset: 11n }).bytes);
        expect(messages.length).toBe(1);
        const outer = messages[0]!;
        expect(outer.attributes & 7).toBe(codec);
        expect(outer.offset).toBe(13n);
        expect(outer.crcOk).toBe(true);
        if (magic === 1) expect(outer.timestamp).toBe(1_003n);
        let value = outer.value!;
        if (codec === 3) {
          // Magic 0 carries Kafka 0.8's header checksum (over magic + descriptor), magic 1 the right one.
          const flags = value[4]!;
          const end = 6 + (flags & 0x08 ? 8 : 0);
          expect(value[end]).toBe(lz4HeaderChecksum(value, magic === 0 ? 0 : 4, end));
          value = value.slice();
          value[end] = lz4HeaderChecksum(value, 4, end);
        }
        const inner = decodeSet(decompress(codec, value, 1 << 20)).messages;
        expect(inner.map((message) => message.offset)).toEqual(magic === 1 ? [0n, 1n, 2n] : [11n, 12n, 13n]);
        expect(inner.map((message) => text.decode(message.value!))).toEqual(["v11", "v12", "v13"]);
        // Old → new: the converted set up-converts back to the same keys, values and timestamps.
        const back = recordsOf(upConvertMessageSet(encodeMessage({ ...outer, magic, attributes: outer.attributes, value: outer.value }), limits).batch).records;
        expect(back.map((record) => text.decode(record.value!))).toEqual(["v11", "v12", "v13"]);
        expect(back.map((record) => record.timestamp)).toEqual(magic === 1 ? [1_001n, 1_002n, 1_003n] : [-1n, -1n, -1n]);
      }
    });
  }

  test("LogAppendTime batches: magic 1 messages carry the timestamp-type bit and the log time", () => {
    const chunk = storedBatch(0n, 2, { logAppendTime: true, timestamp: 5_000n });
    const { messages } = decodeSet(downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n }).bytes);
    expect(messages.map((message) => message.attributes)).toEqual([8, 8]);
    expect(messages.map((message) => message.timestamp)).toEqual([5_001n, 5_001n]);
    const wrapped = decodeSet(downConvert([storedBatch(0n, 2, { compression: 1, logAppendTime: true, timestamp: 5_000n })], { ...unlimited, magic: 1, fetchOffset: 0n }).bytes).messages;
    expect(wrapped[0]!.attributes).toBe(8 | 1);
    expect(wrapped[0]!.timestamp).toBe(5_001n);
  });

  test("control batches are left out; zstd is UNSUPPORTED_COMPRESSION_TYPE unless something came before it", () => {
    const marker = buildMarkerBatch({ producerId: 1n, producerEpoch: 0, type: 1, coordinatorEpoch: 0, timestampMs: 1 });
    new DataView(marker.buffer, marker.byteOffset).setBigInt64(0, 2n); // the log would stamp it at offset 2
    const chunk = concatBytes([storedBatch(0n, 2), marker, storedBatch(3n, 1)]);
    const { messages } = decodeSet(downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n }).bytes);
    expect(messages.map((message) => message.offset)).toEqual([0n, 1n, 3n]);
    const zstd = storedBatch(4n, 1, { compression: CompressionType.zstd });
    expect(codeOf(() => downConvert([zstd], { ...unlimited, magic: 1, fetchOffset: 0n }))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    expect(decodeSet(downConvert([storedBatch(0n, 2), zstd], { ...unlimited, magic: 1, fetchOffset: 0n }).bytes).messages.length).toBe(2);
  });

  test("byte limit: whole messages only; a first message too large is cut (v0-2) or whole (v3)", () => {
    const chunk = storedBatch(0n, 10);
    const one = decodeSet(downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n }).bytes).messages.length;
    expect(one).toBe(10);
    const messageBytes = 12 + 22 + 2 + 2; // k0 / v0
    const limited = downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n, maxBytes: messageBytes * 3 + 5 });
    expect(limited.bytes.length).toBe(messageBytes * 3);
    expect(limited.records).toBe(3);
    const cut = downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n, maxBytes: 20 });
    expect(cut.bytes.length).toBe(20);
    expect(decodeSet(cut.bytes)).toEqual({ messages: [], partialBytes: 20 });
    const whole = downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n, maxBytes: 20, oversizeFirst: "whole" });
    expect(downConvert([chunk], { ...unlimited, magic: 1, fetchOffset: 0n, maxBytes: 20, oversizeFirst: "omit" }).bytes.length).toBe(0);
    expect(decodeSet(whole.bytes).messages.map((message) => message.offset)).toEqual([0n]);
  });

  test("a compressed batch larger than the limit is split into smaller wrappers when it comes first", () => {
    const big = buildRecordBatch({
      baseOffset: 0n, compression: 1,
      records: Array.from({ length: 64 }, (_, index) => ({ value: crypto.getRandomValues(new Uint8Array(200)), timestamp: BigInt(index) })),
    });
    const converted = downConvert([big], { ...unlimited, magic: 1, fetchOffset: 0n, maxBytes: 4000 });
    expect(converted.bytes.length).toBeLessThanOrEqual(4000);
    const { messages } = decodeSet(converted.bytes);
    expect(messages.length).toBeGreaterThan(0);
    const inner = messages.flatMap((message) => decodeSet(decompress(1, message.value!, 1 << 20)).messages);
    expect(inner.length).toBe(converted.records);
    expect(converted.records).toBeGreaterThan(0);
    expect(converted.records).toBeLessThan(64);
  });
});
