// The bench's own Kafka codec: batches it writes read back (indexes, CRC), frames are cut
// correctly however the bytes are chunked, and the TypeScript CRC-32C matches the standard.

import { describe, expect, test } from "bun:test";
import { crc32cTs } from "../../bench/kafka/crc32c.ts";
import { buildRecordBatch, decodeProduceResponse, produceFrame, produceRequest, walkBatches, WireWriter } from "../../bench/kafka/wire.ts";
import { randomPayload } from "../../bench/kafka/producer.ts";

describe("bench Kafka codec", () => {
  test("CRC-32C check value", () => {
    expect(crc32cTs(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    const data = randomPayload(1000);
    expect(crc32cTs(data.subarray(500), crc32cTs(data.subarray(0, 500)))).toBe(crc32cTs(data));
  });

  for (const compression of ["none", "gzip", "zstd"] as const) {
    test(`RecordBatch v2 (${compression}) reads back with its indexes and a valid CRC`, () => {
      const payload = randomPayload(100);
      const batch = buildRecordBatch({ valueBytes: 100, firstIndex: 40, count: 200, timestampMs: 1_700_000_000_000, compression }, payload, crc32cTs);
      const view = new DataView(batch.buffer);
      expect(view.getUint32(17)).toBe(crc32cTs(batch.subarray(21)));
      const seen: number[] = [];
      const whole = walkBatches(batch, (visit) => {
        expect(visit.recordCount).toBe(200);
        expect(visit.lastOffsetDelta).toBe(199);
        expect(visit.bytes).toBe(batch.length);
      }, (index) => seen.push(index));
      expect(whole).toBe(1);
      expect(seen).toEqual(Array.from({ length: 200 }, (_, k) => 40 + k));
    });
  }

  test("single-allocation produce frame equals the generic encoder", () => {
    const payload = randomPayload(1024);
    const spec = { valueBytes: 1024, firstIndex: 7, count: 16, timestampMs: 1_700_000_000_000, compression: "none" as const };
    const fast = produceFrame(7, 42, "runnel-bench", 1, 30_000, "topic-a", 3, spec, payload, crc32cTs);
    const generic = produceRequest(7, 42, "runnel-bench", 1, 30_000, "topic-a", [{ partition: 3, batch: buildRecordBatch(spec, payload, crc32cTs) }]);
    expect(Buffer.from(fast).equals(Buffer.from(generic))).toBe(true);
  });

  test("a trailing partial batch is ignored", () => {
    const batch = buildRecordBatch({ valueBytes: 16, firstIndex: 0, count: 3, timestampMs: 0, compression: "none" }, randomPayload(16), crc32cTs);
    const two = new Uint8Array(batch.length * 2 - 10);
    two.set(batch);
    two.set(batch.subarray(0, batch.length - 10), batch.length);
    expect(walkBatches(two, () => {})).toBe(1);
  });

  test("produce response v7 decodes", () => {
    const writer = new WireWriter().int32(1).string("t").int32(1).int32(2).int16(0).int64(99n).int64(-1n).int64(0n).int32(0);
    expect(decodeProduceResponse(7, writer.bytes.subarray(0, writer.length))).toEqual([{ partition: 2, errorCode: 0, baseOffset: 99n }]);
  });
});
