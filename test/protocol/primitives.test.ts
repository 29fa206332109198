import { describe, expect, test } from "bun:test";
import { ProtocolDecodeError } from "../../src/protocol/errors.ts";
import {
  isUuidString,
  randomUuid,
  Reader,
  uuidToBytes,
  uuidToString,
  Writer,
  writerZeroCopyBytesMin,
  ZERO_UUID,
} from "../../src/protocol/primitives.ts";

function written(fill: (writer: Writer) => void): Uint8Array {
  const writer = new Writer(1);
  fill(writer);
  return writer.finish();
}

function decodeError(read: (reader: Reader) => unknown, bytes: number[] | Uint8Array): ProtocolDecodeError {
  try {
    read(new Reader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)));
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolDecodeError);
    return error as ProtocolDecodeError;
  }
  throw new Error("expected a ProtocolDecodeError");
}

describe("varints", () => {
  test("unsigned varint encodings match Kafka's (7 bits a byte, low first)", () => {
    expect([...written((w) => w.uvarint(0))]).toEqual([0]);
    expect([...written((w) => w.uvarint(127))]).toEqual([127]);
    expect([...written((w) => w.uvarint(128))]).toEqual([0x80, 1]);
    expect([...written((w) => w.uvarint(300))]).toEqual([0xac, 0x02]);
    expect([...written((w) => w.uvarint(0xffffffff))]).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  test("zig-zag varint and varlong round-trip at the edges", () => {
    for (const value of [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(new Reader(written((w) => w.varint(value))).varint()).toBe(value);
    }
    expect([...written((w) => w.varint(-1))]).toEqual([1]);
    expect([...written((w) => w.varint(1))]).toEqual([2]);
    for (const value of [0n, -1n, 1n, 2n ** 48n, -(2n ** 48n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      const bytes = written((w) => w.varlong(value));
      expect(new Reader(bytes).varlong()).toBe(value);
      expect(bytes.length).toBeLessThanOrEqual(10);
    }
    for (const value of [0, -1, 1700000000000, -1700000000000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
      const bytes = written((w) => w.varlongNumber(value));
      expect(bytes).toEqual(written((w) => w.varlong(BigInt(value))));
      expect(new Reader(bytes).varlongNumber()).toBe(value);
    }
  });

  test("varlongNumber refuses values beyond the safe integer range", () => {
    decodeError((r) => r.varlongNumber(), written((w) => w.varlong(2n ** 60n)));
  });

  test("malformed varints are decode errors", () => {
    decodeError((r) => r.uvarint(), [0x80, 0x80]);
    decodeError((r) => r.uvarint(), [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    decodeError((r) => r.uvarint(), [0xff, 0xff, 0xff, 0xff, 0x7f]); // > 32 bits
    decodeError((r) => r.uvarlong(), new Uint8Array(11).fill(0x80));
    decodeError((r) => r.varlong(), [0xff]);
  });
});

describe("fixed-width integers", () => {
  test("big-endian, signed and unsigned", () => {
    const bytes = written((w) => {
      w.int8(-2);
      w.int16(-300);
      w.uint16(65000);
      w.int32(-5);
      w.uint32(0xfffffffe);
      w.int64(-(2n ** 63n));
      w.float64(-0.25);
      w.bool(true);
    });
    expect([...bytes.subarray(0, 5)]).toEqual([0xfe, 0xfe, 0xd4, 0xfd, 0xe8]);
    const reader = new Reader(bytes);
    expect(reader.int8()).toBe(-2);
    expect(reader.int16()).toBe(-300);
    expect(reader.uint16()).toBe(65000);
    expect(reader.int32()).toBe(-5);
    expect(reader.uint32()).toBe(0xfffffffe);
    expect(reader.int64()).toBe(-(2n ** 63n));
    expect(reader.float64()).toBe(-0.25);
    expect(reader.bool()).toBe(true);
    expect(reader.remaining).toBe(0);
  });

  test("every fixed read past the end is a decode error", () => {
    const reads: ((reader: Reader) => unknown)[] = [
      (r) => r.int8(),
      (r) => r.int16(),
      (r) => r.uint16(),
      (r) => r.int32(),
      (r) => r.int64(),
      (r) => r.float64(),
      (r) => r.bool(),
      (r) => r.uuid(),
    ];
    for (const read of reads) decodeError(read, []);
    decodeError((r) => r.int64(), [1, 2, 3, 4, 5, 6, 7]);
  });

  test("a Reader over a sub-range does not read outside it", () => {
    const reader = new Reader(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2]), 0, 4);
    expect(reader.int32()).toBe(1);
    expect(() => reader.int32()).toThrow(ProtocolDecodeError);
  });
});

describe("strings, bytes and arrays", () => {
  test("classic and compact strings round-trip, including non-ASCII and long ones", () => {
    const samples = ["", "a", "topic-1", "é☃𝄞", "x".repeat(33), "ü".repeat(40), "z".repeat(32767)];
    for (const text of samples) {
      expect(new Reader(written((w) => w.string(text))).string()).toBe(text);
      expect(new Reader(written((w) => w.compactString(text))).compactString()).toBe(text);
    }
    expect([...written((w) => w.string("ab"))]).toEqual([0, 2, 97, 98]);
    expect([...written((w) => w.compactString("ab"))]).toEqual([3, 97, 98]);
    expect([...written((w) => w.nullableString(null))]).toEqual([0xff, 0xff]);
    expect([...written((w) => w.compactNullableString(null))]).toEqual([0]);
    expect(new Reader(new Uint8Array([0xff, 0xff])).nullableString()).toBe(null);
    expect(new Reader(new Uint8Array([0])).compactNullableString()).toBe(null);
  });

  test("null where null is not allowed, and lengths past the end, are decode errors", () => {
    decodeError((r) => r.string(), [0xff, 0xff]);
    decodeError((r) => r.compactString(), [0]);
    decodeError((r) => r.string(), [0, 5, 97]);
    decodeError((r) => r.nullableString(), [0xff, 0xfe]);
    decodeError((r) => r.compactString(), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    decodeError((r) => r.bytesField(), [0xff, 0xff, 0xff, 0xff]);
    decodeError((r) => r.nullableBytes(), [0x7f, 0xff, 0xff, 0xff, 1, 2]);
    decodeError((r) => r.compactBytes(), [0xff, 0xff, 0xff, 0xff, 0x0f, 1]);
    decodeError((r) => r.nullableBytes(), [0xff, 0xff, 0xff, 0xfe]);
  });

  test("bytes are views of the input, null stays null", () => {
    const input = written((w) => {
      w.nullableBytes(new Uint8Array([1, 2, 3]));
      w.compactNullableBytes(null);
      w.compactBytes(new Uint8Array([4]));
    });
    const reader = new Reader(input);
    const first = reader.nullableBytes()!;
    expect([...first]).toEqual([1, 2, 3]);
    expect(first.buffer).toBe(input.buffer);
    expect(reader.compactNullableBytes()).toBe(null);
    expect([...reader.compactBytes()]).toEqual([4]);
  });

  test("array counts above the bytes remaining are refused before allocating", () => {
    decodeError((r) => r.arrayLength(), [0x7f, 0xff, 0xff, 0xff]);
    decodeError((r) => r.arrayLength(), [0, 0, 0, 3, 1, 2]);
    decodeError((r) => r.arrayLength(), [0xff, 0xff, 0xff, 0xfe]);
    decodeError((r) => r.compactArrayLength(), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(new Reader(new Uint8Array([0xff, 0xff, 0xff, 0xff])).arrayLength()).toBe(-1);
    expect(new Reader(new Uint8Array([0])).compactArrayLength()).toBe(-1);
    expect(new Reader(new Uint8Array([3, 0, 0])).compactArrayLength()).toBe(2);
  });

  test("tagged-field sections are skipped whole, and checked", () => {
    const reader = new Reader(new Uint8Array([2, 0, 1, 9, 5, 2, 7, 7, 42]));
    reader.skipTaggedFields();
    expect(reader.int8()).toBe(42);
    decodeError((r) => r.skipTaggedFields(), [1, 0, 5, 1]);
    decodeError((r) => r.skipTaggedFields(), [100, 0, 0]);
  });
});

describe("uuids", () => {
  test("Kafka's text form: URL-safe base64 without padding", () => {
    expect(uuidToString(new Uint8Array(16))).toBe(ZERO_UUID);
    const bytes = new Uint8Array(16).fill(0xff);
    expect(uuidToString(bytes)).toBe("_____________________w");
    const hex = "6ba7b8109dad11d180b400c04fd430c8";
    const fromHex = Uint8Array.from(hex.match(/../g)!.map((pair) => Number.parseInt(pair, 16)));
    const text = uuidToString(fromHex);
    expect(text).toBe(Buffer.from(fromHex).toString("base64url"));
    expect(uuidToBytes(text)).toEqual(fromHex);
  });

  test("random uuids round-trip through the wire", () => {
    for (let index = 0; index < 100; index++) {
      const id = randomUuid();
      expect(isUuidString(id)).toBe(true);
      expect(id).not.toBe(ZERO_UUID);
      expect(new Reader(written((w) => w.uuid(id))).uuid()).toBe(id);
    }
  });

  test("malformed text is not a uuid", () => {
    expect(isUuidString("")).toBe(false);
    expect(isUuidString("AAAAAAAAAAAAAAAAAAAAA=")).toBe(false);
    expect(isUuidString("AAAAAAAAAAAAAAAAAAAAAB")).toBe(false); // low bits of the last char set
    expect(() => written((w) => w.uuid("not-a-uuid"))).toThrow();
  });
});

describe("Writer", () => {
  test("grows from one byte to megabytes", () => {
    const writer = new Writer(1);
    for (let index = 0; index < 300_000; index++) writer.int32(index);
    const bytes = writer.finish();
    expect(bytes.length).toBe(1_200_000);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getInt32(4 * 299_999)).toBe(299_999);
  });

  test("long byte fields are appended by reference; finish() and finishChunks() agree", () => {
    const big = new Uint8Array(writerZeroCopyBytesMin).fill(5);
    const writer = new Writer(8);
    const sizeAt = writer.reserveInt32();
    writer.string("head");
    writer.bytesField(big);
    writer.int16(7);
    writer.patchInt32(sizeAt, writer.length - 4);
    const whole = writer.finish();
    const chunks = writer.finishChunks();
    expect(chunks.some((chunk) => chunk === big)).toBe(true);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(whole));
    expect(new DataView(whole.buffer).getInt32(0)).toBe(whole.length - 4);
    const reader = new Reader(whole, 4);
    expect(reader.string()).toBe("head");
    expect(reader.bytesField()).toEqual(big);
    expect(reader.int16()).toBe(7);
  });

  test("out-of-range values are programmer errors", () => {
    expect(() => written((w) => w.uvarint(-1))).toThrow();
    expect(() => written((w) => w.varint(2 ** 31))).toThrow();
    expect(() => written((w) => w.string("x".repeat(32768)))).toThrow();
  });
});

describe("byte sequences", () => {
  test("several views make one bytes field, classic and compact", () => {
    const parts = [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])];
    expect([...written((w) => w.bytesField(parts))]).toEqual([0, 0, 0, 3, 1, 2, 3]);
    expect([...written((w) => w.compactNullableBytes(parts))]).toEqual([4, 1, 2, 3]);
    expect([...written((w) => w.compactBytes([]))]).toEqual([1]);
  });
});
