// The records inside produced batches are checked before anything is written (protocol/record-batch/records.ts,
// validateIncomingBatches): the count and lastOffsetDelta must describe the records, each record
// must lie wholly inside the batch with offsetDelta = its index, no bytes may follow the last one,
// and compressed records are inflated (with a cap) to be walked. Each refusal carries Kafka's error
// code and leaves the log exactly as it was. Run under RUNNEL_NATIVE=0 too (pure-TS CRC).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { native } from "../../src/native/index.ts";
import { CompressionType } from "../../src/protocol/compression.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { buildRecordBatch, decodeRecords, splitBatches, type RecordInput } from "../../src/protocol/record-batch.ts";
import { recordsInflatedBytesMaxFor, validateIncomingBatches } from "../../src/protocol/record-batch.ts";
import { Log } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import { walkRecords } from "../../src/protocol/record-batch.ts";
import { testTopicConfig } from "../../src/testing/log-harness.ts";
import { prng } from "../../src/testing/record-batches.ts";
import { realFs } from "../../src/storage/fs.ts";
import type { TopicConfig } from "../../src/config/index.ts";
import { setLogLevel } from "../../src/util/logger.ts";

if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("error");

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

interface Clocked {
  log: Log;
  nowMs: number;
}

async function openLog(config: Partial<TopicConfig> = {}): Promise<Clocked> {
  const directory = mkdtempSync(join(tmpdir(), "runnel-record-validation-"));
  directories.push(directory);
  const clocked = { nowMs: 1_700_000_000_000 } as Clocked;
  clocked.log = await Log.open({
    directory,
    topic: "validation",
    partition: 0,
    config: testTopicConfig(config),
    fs: realFs,
    native,
    clock: { nowMs: () => clocked.nowMs, monotonicMs: () => performance.now() },
    producerState: new PartitionProducerState({ nowMs: () => clocked.nowMs }),
  });
  return clocked;
}

function records(count: number, valueBytes = 20): RecordInput[] {
  return Array.from({ length: count }, (_, index) => ({ key: `key-${index}`, value: "v".repeat(valueBytes), headers: [{ key: "h", value: `${index}` }] }));
}

/** Recompute the CRC-32C after the bytes were changed (so the record checks, not the CRC, refuse). */
function reseal(batch: Uint8Array): Uint8Array {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setInt32(8, batch.length - 12);
  view.setUint32(17, native.crc32c(batch.subarray(21)));
  return batch;
}

function setCount(batch: Uint8Array, count: number, lastOffsetDelta = count - 1): Uint8Array {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setInt32(57, count);
  view.setInt32(23, lastOffsetDelta);
  return reseal(batch);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A batch whose records section is `recordsBytes` as given (already compressed or not). */
function batchWithRecords(recordsBytes: Uint8Array, count: number, codec: number): Uint8Array {
  const template = buildRecordBatch({ records: [{ value: "x" }], baseTimestamp: 1_700_000_000_000 });
  const batch = concat(template.subarray(0, 61), recordsBytes);
  new DataView(batch.buffer).setInt16(21, codec);
  return setCount(batch, count);
}

async function expectRefused(clocked: Clocked, bytes: Uint8Array, code: number): Promise<KafkaError> {
  const { log } = clocked;
  const before = { end: log.logEndOffset, size: log.sizeBytes, start: log.logStartOffset };
  let caught: unknown;
  try {
    await log.append(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KafkaError);
  const error = caught as KafkaError;
  expect({ code: error.code, message: error.message }).toEqual({ code, message: error.message });
  // The log is unchanged, and still takes a good batch at the same offset.
  expect({ end: log.logEndOffset, size: log.sizeBytes, start: log.logStartOffset }).toEqual(before);
  return error;
}

async function expectAppendsAfterRefusal(clocked: Clocked): Promise<void> {
  const end = clocked.log.logEndOffset;
  const result = await clocked.log.append(buildRecordBatch({ records: records(2) }));
  expect(result.baseOffset).toBe(end);
  expect(clocked.log.logEndOffset).toBe(end + 2n);
}

describe("the fuzz findings", () => {
  test("a 202-byte batch claiming 4,194,307 records is refused with INVALID_RECORD", async () => {
    const clocked = await openLog();
    await clocked.log.append(buildRecordBatch({ records: records(3) }));
    // Two records of ~70 bytes: 61 + 141 = 202 bytes.
    const batch = buildRecordBatch({ records: [{ value: "a".repeat(62) }, { value: "b".repeat(63) }], baseTimestamp: 1_700_000_000_000 });
    expect(batch.length).toBe(202);
    setCount(batch, 4_194_307);
    const error = await expectRefused(clocked, batch, ErrorCode.INVALID_RECORD);
    expect(error.message).toContain("4194307 records");
    expect(clocked.log.logEndOffset).toBe(3n);
    await expectAppendsAfterRefusal(clocked);
    await clocked.log.close();
  });

  test("a gzip bomb is refused with CORRUPT_MESSAGE before it is inflated past the cap", async () => {
    const clocked = await openLog();
    // 256 gzip members of 1 MiB of zeros each: ~260 KiB on the wire, 256 MiB inflated (gunzip
    // reads concatenated members). The cap for max.message.bytes 1 MiB is 64 MiB.
    const member = zlib.gzipSync(new Uint8Array(1024 * 1024));
    const bomb = concat(...Array.from({ length: 256 }, () => member));
    expect(bomb.length).toBeLessThan(clocked.log["config"]["max.message.bytes"]);
    const error = await expectRefused(clocked, batchWithRecords(bomb, 1, CompressionType.gzip), ErrorCode.CORRUPT_MESSAGE);
    expect(error.message).toContain("limit");
    await expectAppendsAfterRefusal(clocked);
    await clocked.log.close();
  });
});

describe("malformed records are refused with INVALID_RECORD and change nothing", () => {
  let clocked: Clocked;
  beforeAll(async () => {
    clocked = await openLog();
    await clocked.log.append(buildRecordBatch({ records: records(4) }));
  });
  afterAll(async () => {
    await expectAppendsAfterRefusal(clocked);
    await clocked.log.close();
  });

  test("an empty batch (recordsCount 0)", async () => {
    const batch = buildRecordBatch({ records: records(1) });
    await expectRefused(clocked, setCount(batch.subarray(0, 61).slice(), 0, 0), ErrorCode.INVALID_RECORD);
  });

  test("lastOffsetDelta not count - 1", async () => {
    await expectRefused(clocked, setCount(buildRecordBatch({ records: records(3) }), 3, 5), ErrorCode.INVALID_RECORD);
  });

  test("a count below the records present (bytes left after the last record)", async () => {
    const error = await expectRefused(clocked, setCount(buildRecordBatch({ records: records(3) }), 2), ErrorCode.INVALID_RECORD);
    expect(error.message).toContain("after the last");
  });

  test("a count above the records present", async () => {
    await expectRefused(clocked, setCount(buildRecordBatch({ records: records(3) }), 4), ErrorCode.INVALID_RECORD);
  });

  test("a truncated last record", async () => {
    const batch = buildRecordBatch({ records: records(3) });
    await expectRefused(clocked, reseal(batch.slice(0, batch.length - 5)), ErrorCode.INVALID_RECORD);
  });

  test("trailing garbage after the last record", async () => {
    const batch = buildRecordBatch({ records: records(3) });
    await expectRefused(clocked, reseal(concat(batch, new Uint8Array([0, 0, 0, 0, 0]))), ErrorCode.INVALID_RECORD);
  });

  test("offset deltas that are not 0, 1, 2 …", async () => {
    const batch = buildRecordBatch({ records: [{ value: "a", offsetDelta: 1 }, { value: "b", offsetDelta: 1 }] });
    const error = await expectRefused(clocked, batch, ErrorCode.INVALID_RECORD);
    expect(error.message).toContain("offsetDelta 1");
  });

  test("a record whose fields overrun its length", async () => {
    const batch = buildRecordBatch({ records: [{ value: "abcdef" }] });
    // The value length (zig-zag 6 = 12) sits just before the value's last 6 bytes: claim 7.
    const valueLengthAt = batch.length - 1 - 6 - 1;
    expect(batch[valueLengthAt]).toBe(12);
    batch[valueLengthAt] = 14;
    await expectRefused(clocked, reseal(batch), ErrorCode.INVALID_RECORD);
  });

  test("a bad batch after a good one in the same request: neither is written", async () => {
    const good = buildRecordBatch({ records: records(2) });
    const bad = setCount(buildRecordBatch({ records: records(2) }), 3);
    await expectRefused(clocked, concat(good, bad), ErrorCode.INVALID_RECORD);
  });
});

describe("compressed batches", () => {
  const codecs = [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd];

  test.each(codecs)("codec %d: a valid batch is accepted and reads back whole", async (codec) => {
    const clocked = await openLog();
    const batch = buildRecordBatch({ records: records(50, 100), compression: codec });
    const sent = decodeRecords(splitBatches(batch)[0]!);
    const result = await clocked.log.append(batch.slice());
    expect(result.lastOffset - result.baseOffset).toBe(49n);
    const read = clocked.log.read(0n, 1 << 20);
    const stored = splitBatches(concat(...read.chunks));
    read.release();
    expect(stored.length).toBe(1);
    const back = decodeRecords(stored[0]!);
    expect(back.map((record) => [record.offsetDelta, record.key, record.value])).toEqual(sent.map((record) => [record.offsetDelta, record.key, record.value]));
    await clocked.log.close();
  });

  test.each(codecs)("codec %d: a count that does not match the inflated records is INVALID_RECORD", async (codec) => {
    const clocked = await openLog();
    await expectRefused(clocked, setCount(buildRecordBatch({ records: records(5), compression: codec }), 6), ErrorCode.INVALID_RECORD);
    await expectRefused(clocked, setCount(buildRecordBatch({ records: records(5), compression: codec }), 4), ErrorCode.INVALID_RECORD);
    await expectAppendsAfterRefusal(clocked);
    await clocked.log.close();
  });

  test.each(codecs)("codec %d: damaged compressed data is CORRUPT_MESSAGE", async (codec) => {
    const clocked = await openLog();
    const random = prng(codec);
    const garbage = Uint8Array.from({ length: 300 }, () => Math.floor(random() * 256));
    await expectRefused(clocked, batchWithRecords(garbage, 3, codec), ErrorCode.CORRUPT_MESSAGE);
    await clocked.log.close();
  });

  test("a compressed batch claiming more records than the cap could hold is refused without inflating", async () => {
    const clocked = await openLog();
    const batch = setCount(buildRecordBatch({ records: records(2), compression: CompressionType.zstd }), 100_000_000);
    const error = await expectRefused(clocked, batch, ErrorCode.INVALID_RECORD);
    expect(error.message).toContain("inflated bytes");
    await clocked.log.close();
  });

  test("codec 5, 6, 7 is UNSUPPORTED_COMPRESSION_TYPE", async () => {
    const clocked = await openLog();
    for (const codec of [5, 6, 7]) {
      const batch = buildRecordBatch({ records: records(2) });
      const view = new DataView(batch.buffer);
      view.setInt16(21, codec);
      await expectRefused(clocked, reseal(batch), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    }
    await clocked.log.close();
  });

  test("the inflation cap follows max.message.bytes within [64 MiB, 1 GiB]; a batch at the cap passes, one byte more does not", () => {
    expect(recordsInflatedBytesMaxFor(1024 * 1024 + 12)).toBe(64 * (1024 * 1024 + 12));
    expect(recordsInflatedBytesMaxFor(1000)).toBe(64 * 1024 * 1024);
    expect(recordsInflatedBytesMaxFor(100 * 1024 * 1024)).toBe(1024 * 1024 * 1024);
    const batch = buildRecordBatch({ records: records(10, 100), compression: CompressionType.zstd });
    const inflated = decodeRecords(splitBatches(batch)[0]!);
    expect(inflated.length).toBe(10);
    // The records section of this batch inflates to exactly `size` bytes.
    const uncompressed = buildRecordBatch({ records: records(10, 100), baseTimestamp: splitBatches(batch)[0]!.header.baseTimestamp });
    const size = uncompressed.length - 61;
    expect(validateIncomingBatches(native, batch, { maxMessageBytes: 1 << 20, recordsInflatedBytesMax: size }).length).toBe(1);
    expect(() => validateIncomingBatches(native, batch, { maxMessageBytes: 1 << 20, recordsInflatedBytesMax: size - 1 })).toThrow(/CORRUPT_MESSAGE/);
  });
});

describe("walkRecords", () => {
  test("agrees with the full record decoder on randomly damaged batches", () => {
    const random = prng(20261127);
    const original = buildRecordBatch({ records: records(6, 30), baseTimestamp: 1_700_000_000_000 });
    let accepted = 0;
    for (let round = 0; round < 2000; round++) {
      const batch = original.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let flip = 0; flip < flips; flip++) {
        const at = 61 + Math.floor(random() * (batch.length - 61));
        batch[at] = Math.floor(random() * 256);
      }
      const walked = walkRecords(batch, 61, batch.length, 6);
      let decoded: string | null = null;
      try {
        const list = decodeRecords(splitBatches(reseal(batch))[0]!);
        list.forEach((record, index) => {
          if (record.offsetDelta !== index) decoded = `offsetDelta ${record.offsetDelta} at ${index}`;
        });
      } catch (error) {
        decoded = String(error);
      }
      // Whatever the walk accepts, the decoder can decode (it may be stricter about UTF-8 keys).
      if (walked === null) {
        accepted++;
        expect(decoded).toBeNull();
      }
    }
    // Flips inside keys and values keep the structure: some batches must pass.
    expect(accepted).toBeGreaterThan(100);
  });

  test("refuses a varint longer than 5 bytes and one above 32 bits", () => {
    expect(walkRecords(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 0, 0, 0, 0, 0]), 0, 12, 1)).toContain("truncated length");
    expect(walkRecords(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0, 0, 0, 0, 0]), 0, 12, 1)).toContain("truncated length");
  });
});

describe("idempotent retries", () => {
  test("a duplicate on a LogAppendTime topic answers the original append time", async () => {
    const clocked = await openLog({ "message.timestamp.type": "LogAppendTime" });
    const idempotent = (baseSequence: number) =>
      buildRecordBatch({ records: records(2), producerId: 7n, producerEpoch: 0, baseSequence });
    const first = await clocked.log.append(idempotent(0));
    expect(first.logAppendTimeMs).toBe(1_700_000_000_000n);
    clocked.nowMs += 5_000;
    const second = await clocked.log.append(idempotent(2));
    expect(second.logAppendTimeMs).toBe(1_700_000_005_000n);
    clocked.nowMs += 5_000;
    const retry = await clocked.log.append(idempotent(0));
    expect(retry).toMatchObject({ duplicate: true, baseOffset: 0n, lastOffset: 1n, logAppendTimeMs: 1_700_000_000_000n });
    const retrySecond = await clocked.log.append(idempotent(2));
    expect(retrySecond).toMatchObject({ duplicate: true, baseOffset: 2n, logAppendTimeMs: 1_700_000_005_000n });
    expect(clocked.log.logEndOffset).toBe(4n);
    await clocked.log.close();
  });

  test("a duplicate on a CreateTime topic answers -1", async () => {
    const clocked = await openLog();
    const batch = () => buildRecordBatch({ records: records(1), producerId: 9n, producerEpoch: 0, baseSequence: 0 });
    await clocked.log.append(batch());
    expect(await clocked.log.append(batch())).toMatchObject({ duplicate: true, logAppendTimeMs: -1n });
    await clocked.log.close();
  });
});
