import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { native } from "../../src/native/index.ts";
import { CompressionType } from "../../src/protocol/compression.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import {
  buildRecordBatch,
  computeBatchCrc,
  decodeRecords,
  readBatchHeader,
  batchHeaderBytes,
  splitBatches,
  verifyBatchCrc,
} from "../../src/protocol/record-batch.ts";

const require = createRequire(import.meta.url);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A table CRC-32C (Castagnoli, reflected 0x82F63B78), only as a cross-check of the native one. */
const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();
function tableCrc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const byte of data) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function expectKafkaError(code: number, run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).code).toBe(code);
    return;
  }
  throw new Error("expected a KafkaError");
}

describe("CRC-32C", () => {
  test("the native crc32c is CRC-32C (check value of '123456789' is 0xE3069283)", () => {
    const check = encoder.encode("123456789");
    expect(native.crc32c(check) >>> 0).toBe(0xe3069283);
    expect(tableCrc32c(check)).toBe(0xe3069283);
  });

  test("a built batch's CRC covers attributes … end, as Kafka's", () => {
    const batch = buildRecordBatch({ records: [{ key: "k", value: "v" }], baseTimestamp: 1_700_000_000_000n });
    const stored = new DataView(batch.buffer).getUint32(17);
    expect(stored).toBe(tableCrc32c(batch.subarray(21)));
    expect(computeBatchCrc(batch)).toBe(stored);
    expect(verifyBatchCrc(batch)).toBe(true);
    // baseOffset and partitionLeaderEpoch are outside the CRC: a broker stamps them freely.
    new DataView(batch.buffer).setBigInt64(0, 12345n);
    new DataView(batch.buffer).setInt32(12, 9);
    expect(verifyBatchCrc(batch)).toBe(true);
    batch[batch.length - 1]! ^= 1;
    expect(verifyBatchCrc(batch)).toBe(false);
  });
});

describe("building and reading batches", () => {
  test("header fields round-trip", () => {
    const batch = buildRecordBatch({
      records: [
        { key: "a", value: "1", timestamp: 1_700_000_000_000n },
        { key: null, value: null, timestamp: 1_700_000_000_500n, headers: [{ key: "h", value: "x" }, { key: "n", value: null }] },
        { value: encoder.encode("third"), timestamp: 1_699_999_999_000n },
      ],
      baseOffset: 100n,
      partitionLeaderEpoch: 3,
      producerId: 77n,
      producerEpoch: 2,
      baseSequence: 10,
      transactional: true,
    });
    const header = readBatchHeader(batch);
    expect(header).toEqual({
      baseOffset: 100n,
      batchLength: batch.length - 12,
      sizeBytes: batch.length,
      partitionLeaderEpoch: 3,
      magic: 2,
      crc: tableCrc32c(batch.subarray(21)),
      attributes: 0x10,
      lastOffsetDelta: 2,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_500n,
      producerId: 77n,
      producerEpoch: 2,
      baseSequence: 10,
      recordsCount: 3,
    });
    const [view] = splitBatches(batch);
    const records = decodeRecords(view!);
    expect(records.map((record) => record.offset)).toEqual([100n, 101n, 102n]);
    expect(records.map((record) => record.timestamp)).toEqual([1_700_000_000_000n, 1_700_000_000_500n, 1_699_999_999_000n]);
    expect(records[1]!.timestampDelta).toBe(500);
    expect(records[2]!.timestampDelta).toBe(-1000);
    expect(decoder.decode(records[0]!.key!)).toBe("a");
    expect(records[1]!.key).toBe(null);
    expect(records[1]!.value).toBe(null);
    expect(records[1]!.headers.map((h) => [h.key, h.value && decoder.decode(h.value)])).toEqual([
      ["h", "x"],
      ["n", null],
    ]);
    // Uncompressed keys and values are views of the batch itself.
    expect(records[2]!.value!.buffer).toBe(batch.buffer);
  });

  test("several batches in one records blob, and a truncated tail", () => {
    const first = buildRecordBatch({ records: [{ value: "a" }, { value: "b" }], baseOffset: 0n });
    const second = buildRecordBatch({ records: [{ value: "c" }], baseOffset: 2n });
    const blob = new Uint8Array([...first, ...second]);
    const batches = splitBatches(blob);
    expect(batches.map((batch) => batch.header.baseOffset)).toEqual([0n, 2n]);
    expect(batches[1]!.bytes).toEqual(second);

    const truncated = blob.subarray(0, blob.length - 3);
    expectKafkaError(ErrorCode.CORRUPT_MESSAGE, () => splitBatches(truncated));
    expect(splitBatches(truncated, { allowTruncatedTail: true }).length).toBe(1);
    expect(splitBatches(blob.subarray(0, first.length + 10), { allowTruncatedTail: true }).length).toBe(1);
    expect(splitBatches(new Uint8Array(0))).toEqual([]);
  });

  test("corruption is refused: CRC, magic, lengths, record counts", () => {
    const batch = buildRecordBatch({ records: [{ value: "hello" }] });
    const flipped = batch.slice();
    flipped[batchHeaderBytes + 2]! ^= 0x40;
    expectKafkaError(ErrorCode.CORRUPT_MESSAGE, () => splitBatches(flipped));

    const badMagic = batch.slice();
    badMagic[16] = 1;
    expectKafkaError(ErrorCode.CORRUPT_MESSAGE, () => splitBatches(badMagic));

    const badLength = batch.slice();
    new DataView(badLength.buffer).setInt32(8, 10);
    expectKafkaError(ErrorCode.CORRUPT_MESSAGE, () => splitBatches(badLength));

    const badCount = batch.slice();
    new DataView(badCount.buffer).setInt32(57, 2);
    expect(() => decodeRecords(splitBatches(badCount, { verifyCrc: false })[0]!)).toThrow(KafkaError);

    const hugeCount = batch.slice();
    new DataView(hugeCount.buffer).setInt32(57, 0x7fffffff);
    expectKafkaError(ErrorCode.CORRUPT_MESSAGE, () => decodeRecords(splitBatches(hugeCount, { verifyCrc: false })[0]!));
  });

  for (const [name, codec] of Object.entries(CompressionType)) {
    test(`compressed batch (${name}) round-trips`, () => {
      const records = Array.from({ length: 200 }, (_, index) => ({
        key: `key-${index}`,
        value: `value-${index}-${"x".repeat(index % 50)}`,
        headers: index % 3 === 0 ? [{ key: "i", value: String(index) }] : [],
        timestamp: 1_700_000_000_000n + BigInt(index),
      }));
      const batch = buildRecordBatch({ records, compression: codec });
      const [view] = splitBatches(batch);
      expect(view!.header.attributes & 7).toBe(codec);
      const decoded = decodeRecords(view!);
      expect(decoded.length).toBe(200);
      expect(decoded.map((record) => decoder.decode(record.value!))).toEqual(records.map((record) => record.value));
      expect(decoded[199]!.offset).toBe(199n);
      expect(decoded[3]!.headers[0]!.key).toBe("i");
    });
  }

  test("a compressed batch that inflates beyond the limit is refused", () => {
    const records = [{ value: "z".repeat(200_000) }];
    for (const codec of [1, 2, 3, 4]) {
      const [view] = splitBatches(buildRecordBatch({ records, compression: codec }));
      expectKafkaError(ErrorCode.CORRUPT_MESSAGE, () => decodeRecords(view!, { inflatedBytesMax: 10_000 }));
      expect(decodeRecords(view!, { inflatedBytesMax: 300_000 }).length).toBe(1);
    }
  });
});

describe("interoperability with kafkajs's RecordBatch v2 code", () => {
  const KafkaJsRecordBatch = require("kafkajs/src/protocol/recordBatch/v0/index.js").RecordBatch;
  const KafkaJsRecord = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");
  const KafkaJsBatchDecoder = require("kafkajs/src/protocol/recordBatch/v0/decoder.js");
  const KafkaJsDecoder = require("kafkajs/src/protocol/decoder.js");
  const Long = require("kafkajs/src/utils/long.js");

  for (const [name, codec] of [["none", 0], ["gzip", 1]] as const) {
    test(`a batch kafkajs builds (${name}) decodes here, CRC included`, async () => {
      const kafkaRecords = [0, 1, 2].map((index) =>
        KafkaJsRecord({
          offsetDelta: index,
          timestampDelta: index * 10,
          key: Buffer.from(`k${index}`),
          value: Buffer.from(`v${index}`),
          headers: index === 1 ? { trace: Buffer.from("t1") } : {},
        }),
      );
      const encoded = await KafkaJsRecordBatch({
        compression: codec,
        firstOffset: Long.fromInt(40),
        firstTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_020,
        lastOffsetDelta: 2,
        producerId: Long.fromInt(5),
        producerEpoch: 1,
        firstSequence: 9,
        records: kafkaRecords,
      });
      const bytes = new Uint8Array(encoded.buffer);
      const [view] = splitBatches(bytes, { crc: { crc32c: tableCrc32c } });
      expect(splitBatches(bytes).length).toBe(1); // native CRC agrees
      expect(view!.header.baseOffset).toBe(40n);
      expect(view!.header.producerId).toBe(5n);
      expect(view!.header.baseSequence).toBe(9);
      const records = decodeRecords(view!);
      expect(records.map((record) => decoder.decode(record.value!))).toEqual(["v0", "v1", "v2"]);
      expect(records[2]!.timestamp).toBe(1_700_000_000_020n);
      expect(records[1]!.headers).toEqual([{ key: "trace", value: encoder.encode("t1") }]);
    });
  }

  test("a batch built here decodes in kafkajs", async () => {
    const batch = buildRecordBatch({
      records: [
        { key: "a", value: "first", headers: [{ key: "h", value: "1" }] },
        { key: "b", value: "second" },
      ],
      baseOffset: 7n,
      baseTimestamp: 1_700_000_000_000n,
    });
    const decoded = await KafkaJsBatchDecoder(new KafkaJsDecoder(Buffer.from(batch)));
    expect(decoded.firstOffset).toBe("7");
    expect(decoded.records.map((record: { value: Buffer }) => record.value.toString())).toEqual(["first", "second"]);
    expect(decoded.records[0].headers.h.toString()).toBe("1");
    expect(decoded.records[1].offset).toBe("8");
  });
});
