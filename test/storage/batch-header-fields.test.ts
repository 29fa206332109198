// The batch header is read and stamped byte by byte (no DataView per batch, see protocol/record-batch/layout.ts):
// check every field against DataView's big-endian reads on random bytes, negative values included.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { native } from "../../src/native/index.ts";
import {
  Attribute,
  Field,
  batchHeaderBytes,
  batchSizeAt,
  logOverheadBytes,
  readBatchHeader,
  stampBaseOffset,
  stampLeaderEpoch,
  stampLogAppendTime,
} from "../../src/protocol/record-batch.ts";

describe("batch header fields", () => {
  test("readBatchHeader matches DataView reads at any position", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: batchHeaderBytes + 7, maxLength: batchHeaderBytes + 7 }), fc.integer({ min: 0, max: 7 }), (bytes, position) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset + position);
        const header = readBatchHeader(bytes, position);
        expect(header).toEqual({
          baseOffset: view.getBigInt64(Field.baseOffset),
          batchLength: view.getInt32(Field.batchLength),
          sizeBytes: view.getInt32(Field.batchLength) + logOverheadBytes,
          partitionLeaderEpoch: view.getInt32(Field.partitionLeaderEpoch),
          magic: view.getInt8(Field.magic),
          crc: view.getUint32(Field.crc),
          attributes: view.getInt16(Field.attributes),
          lastOffsetDelta: view.getInt32(Field.lastOffsetDelta),
          baseTimestamp: view.getBigInt64(Field.baseTimestamp),
          maxTimestamp: view.getBigInt64(Field.maxTimestamp),
          producerId: view.getBigInt64(Field.producerId),
          producerEpoch: view.getInt16(Field.producerEpoch),
          baseSequence: view.getInt32(Field.baseSequence),
          recordsCount: view.getInt32(Field.recordsCount),
        });
        expect(batchSizeAt(bytes, position)).toBe(header.sizeBytes);
      }),
    );
  });

  test("stamps write big-endian values and touch nothing else", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 200, maxLength: 200 }),
        fc.integer({ min: 0, max: 100 }),
        fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
        (original, position, baseOffset, epoch, timeMs) => {
          const bytes = original.slice();
          stampBaseOffset(bytes, position, baseOffset);
          stampLeaderEpoch(bytes, position, epoch);
          const size = 200 - position;
          stampLogAppendTime(native, bytes, position, size, timeMs);
          const expected = original.slice();
          const view = new DataView(expected.buffer, position);
          view.setBigInt64(Field.baseOffset, baseOffset);
          view.setInt32(Field.partitionLeaderEpoch, epoch);
          view.setBigInt64(Field.maxTimestamp, timeMs);
          view.setInt16(Field.attributes, view.getInt16(Field.attributes) | Attribute.logAppendTime);
          view.setUint32(Field.crc, native.crc32c(expected.subarray(position + 21, position + size)));
          expect(bytes).toEqual(expected);
        },
      ),
    );
  });

  test("a header read needs 61 bytes", () => {
    expect(() => readBatchHeader(new Uint8Array(batchHeaderBytes + 3), 4)).toThrow();
  });
});
