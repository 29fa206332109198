import { describe, expect, test } from "bun:test";
import * as zlib from "node:zlib";
import snappy from "snappy";
import { CompressionType, compress, decompress, lz4FrameBound, snappyDeclaredLength } from "../../src/protocol/compression.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

function corrupt(run: () => unknown): KafkaError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).code).toBe(ErrorCode.CORRUPT_MESSAGE);
    return error as KafkaError;
  }
  throw new Error("expected KafkaError(CORRUPT_MESSAGE)");
}

const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog ".repeat(2000));
const random = crypto.getRandomValues(new Uint8Array(50_000));
const codecs = [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd];

describe("round trips", () => {
  for (const codec of codecs) {
    test(`codec ${codec}: text, random, empty and 1 MiB data`, () => {
      for (const data of [text, random, new Uint8Array(0), new Uint8Array(1 << 20).fill(3)]) {
        const packed = compress(codec, data);
        expect(decompress(codec, packed, data.length)).toEqual(data);
      }
    });
  }

  test("none passes bytes through, under the limit", () => {
    expect(decompress(CompressionType.none, text, text.length)).toBe(text);
    corrupt(() => decompress(CompressionType.none, text, 10));
  });

  test("an unknown codec is UNSUPPORTED_COMPRESSION_TYPE", () => {
    expect(() => decompress(5, text, 1 << 20)).toThrow(/UNSUPPORTED_COMPRESSION_TYPE/);
    expect(() => compress(7, text)).toThrow(/UNSUPPORTED_COMPRESSION_TYPE/);
  });
});

describe("snappy framings", () => {
  test("raw snappy (what librdkafka sends) is read", () => {
    const raw = new Uint8Array(snappy.compressSync(Buffer.from(text)));
    expect(snappyDeclaredLength(raw)).toBe(text.length);
    expect(decompress(CompressionType.snappy, raw, text.length)).toEqual(text);
  });

  test("our output is the xerial framing the Java client writes, in 32 KiB chunks", () => {
    const framed = compress(CompressionType.snappy, text);
    expect([...framed.subarray(0, 8)]).toEqual([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
    const view = new DataView(framed.buffer, framed.byteOffset);
    expect(view.getInt32(8)).toBe(1);
    expect(view.getInt32(12)).toBe(1);
    // First chunk: int32 length, then a raw snappy block declaring 32 KiB.
    const firstLength = view.getInt32(16);
    expect(snappyDeclaredLength(framed.subarray(20, 20 + firstLength))).toBe(32 * 1024);
  });

  test("xerial chunks whose declared sizes sum over the limit are refused before inflating", () => {
    corrupt(() => decompress(CompressionType.snappy, compress(CompressionType.snappy, text), text.length - 1));
  });

  test("a raw block declaring 4 GiB is refused from its preamble", () => {
    const bomb = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    expect(corrupt(() => decompress(CompressionType.snappy, bomb, 1 << 20)).message).toContain("limit");
  });

  test("xerial chunk lengths past the end are refused", () => {
    const framed = compress(CompressionType.snappy, text).slice();
    new DataView(framed.buffer).setInt32(16, 0x7fffffff);
    corrupt(() => decompress(CompressionType.snappy, framed, 1 << 20));
  });
});

describe("lz4 frames", () => {
  test("the frame bound is computed from block headers, without inflating", () => {
    const frame = compress(CompressionType.lz4, text);
    expect(lz4FrameBound(frame)).toBeGreaterThanOrEqual(text.length);
    corrupt(() => decompress(CompressionType.lz4, frame, 1000));
  });

  test("a frame whose header declares a content size uses it", () => {
    // Hand-made frame: FLG with content size, BD 64 KiB, content size 5, one uncompressed block "hello".
    const frame = new Uint8Array([
      0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 5, 0, 0, 0, 0, 0, 0, 0, 0x00, 5, 0, 0, 0x80, ...new TextEncoder().encode("hello"), 0, 0, 0, 0,
    ]);
    expect(lz4FrameBound(frame)).toBe(5);
  });

  test("truncated frames, trailing bytes and bad magic are corrupt", () => {
    const frame = compress(CompressionType.lz4, text);
    corrupt(() => decompress(CompressionType.lz4, frame.subarray(0, frame.length - 6), 1 << 20));
    corrupt(() => decompress(CompressionType.lz4, new Uint8Array([...frame, 1, 2, 3]), 1 << 20));
    corrupt(() => decompress(CompressionType.lz4, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 1 << 20));
  });
});

describe("bombs and garbage", () => {
  const zeros = new Uint8Array(8 << 20);
  for (const codec of codecs) {
    test(`codec ${codec}: 8 MiB of zeros refused under a 1 MiB limit`, () => {
      const packed = compress(codec, zeros);
      expect(packed.length).toBeLessThan(1 << 20);
      corrupt(() => decompress(codec, packed, 1 << 20));
    });

    test(`codec ${codec}: random bytes are corrupt, never a crash`, () => {
      for (let round = 0; round < 200; round++) {
        const junk = crypto.getRandomValues(new Uint8Array(1 + (round % 97)));
        try {
          decompress(codec, junk, 1 << 20);
        } catch (error) {
          expect(error).toBeInstanceOf(KafkaError);
        }
      }
    });
  }

  test("gzip members that are not gzip are corrupt", () => {
    corrupt(() => decompress(CompressionType.gzip, zlib.deflateSync(text), 1 << 20));
  });
});
