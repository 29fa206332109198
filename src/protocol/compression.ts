// The record-batch compression codecs Kafka uses (attributes bits 0-2): 1 gzip, 2 snappy, 3 lz4,
// 4 zstd. Only the records section of a batch (after the 61-byte header) is compressed.
//
// Every decompression takes a `maxBytes` cap and refuses BEFORE inflating when the declared or
// provable size is above it (snappy's length preamble, an LZ4 frame's content size or block bound),
// or stops inflating at the cap (gzip, zstd: zlib's maxOutputLength). A 1 KiB "zip bomb" must not
// make the broker allocate gigabytes. Garbage and bombs are KafkaError(CORRUPT_MESSAGE).
//
// Wire formats, as the clients send them:
// - gzip: RFC 1952 (possibly several members).
// - snappy: either raw snappy (librdkafka) or the xerial framing the Java client writes:
//   magic 82 53 4E 41 50 50 59 00, int32 version, int32 compatible version, then repeated
//   [int32 big-endian chunk length][raw snappy chunk]. We write the xerial framing.
// - lz4: the LZ4 frame format (magic 04 22 4D 18), as Kafka ≥ 0.10 writes it.
// - zstd: a standard zstd frame.

import * as zlib from "node:zlib";
import type * as Lz4Napi from "lz4-napi";
import type * as Snappy from "snappy";
import { assert } from "../util/assert.ts";
import { ErrorCode, KafkaError } from "./errors.ts";

// The snappy and lz4 native addons load on first use: loading both took ~5 ms of every process
// start (the broker's, and every `runnel` command's), most of which never see such a batch.
let snappyModule: typeof Snappy | null = null;
let lz4Module: typeof Lz4Napi | null = null;

function snappyAddon(): typeof Snappy {
  return (snappyModule ??= require("snappy") as typeof Snappy);
}

function lz4Addon(): typeof Lz4Napi {
  return (lz4Module ??= require("lz4-napi") as typeof Lz4Napi);
}

export const CompressionType = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

export type CompressionCodec = (typeof CompressionType)[keyof typeof CompressionType];

export const compressionNames: Record<CompressionCodec, string> = {
  0: "none",
  1: "gzip",
  2: "snappy",
  3: "lz4",
  4: "zstd",
};

function corrupt(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

function tooLarge(codec: string, declared: number, maxBytes: number): KafkaError {
  return corrupt(`${codec} data would inflate to ${declared} bytes, above the ${maxBytes}-byte limit`);
}

/** A view of a Node Buffer as a plain Uint8Array (same memory). */
function asUint8Array(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ------------------------------------------------------------------------------------ gzip / zstd

function inflateCapped(codec: "gzip" | "zstd", data: Uint8Array, maxBytes: number): Uint8Array {
  try {
    const options = { maxOutputLength: Math.max(1, maxBytes) };
    const out = codec === "gzip" ? zlib.gunzipSync(data, options) : zlib.zstdDecompressSync(data, options);
    return asUint8Array(out);
  } catch (error) {
    if (error instanceof RangeError || (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw corrupt(`${codec} data inflates beyond the ${maxBytes}-byte limit`);
    }
    throw corrupt(`${codec}: ${(error as Error).message}`);
  }
}

// ----------------------------------------------------------------------------------------- snappy

const xerialMagic = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const xerialHeaderBytes = 16;
/** The Java client's xerial block size; we frame our own output the same way. */
const xerialChunkBytes = 32 * 1024;

function isXerial(data: Uint8Array): boolean {
  if (data.length < xerialHeaderBytes) return false;
  for (let index = 0; index < xerialMagic.length; index++) if (data[index] !== xerialMagic[index]) return false;
  return true;
}

/** The uncompressed length a raw snappy block declares (its leading unsigned varint). */
export function snappyDeclaredLength(block: Uint8Array): number {
  let value = 0;
  let multiplier = 1;
  for (let index = 0; index < 5 && index < block.length; index++) {
    const byte = block[index]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return value;
    multiplier *= 128;
  }
  throw corrupt("snappy block without a valid length preamble");
}

function snappyRaw(block: Uint8Array, maxBytes: number): Uint8Array {
  const declared = snappyDeclaredLength(block);
  if (declared > maxBytes) throw tooLarge("snappy", declared, maxBytes);
  // (The npm library fails on the 1-byte encoding of an empty block.)
  if (declared === 0) return new Uint8Array(0);
  try {
    return asUint8Array(snappyAddon().uncompressSync(asBuffer(block), { asBuffer: true }) as Buffer);
  } catch (error) {
    throw corrupt(`snappy: ${(error as Error).message}`);
  }
}

function snappyDecompress(data: Uint8Array, maxBytes: number): Uint8Array {
  if (!isXerial(data)) return snappyRaw(data, maxBytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // First pass: check every chunk's bounds and declared size, so that nothing is inflated unless
  // the whole is within the limit.
  const chunks: Uint8Array[] = [];
  let total = 0;
  let position = xerialHeaderBytes;
  while (position < data.length) {
    if (position + 4 > data.length) throw corrupt("xerial snappy: truncated chunk length");
    const length = view.getInt32(position);
    position += 4;
    if (length < 0 || length > data.length - position) throw corrupt(`xerial snappy: chunk length ${length} past the end`);
    const chunk = data.subarray(position, position + length);
    position += length;
    total += snappyDeclaredLength(chunk);
    if (total > maxBytes) throw tooLarge("snappy", total, maxBytes);
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    const inflated = snappyRaw(chunk, maxBytes);
    out.set(inflated, offset);
    offset += inflated.length;
  }
  assert(offset === total, "snappy chunk inflated to a size other than declared");
  return out;
}

function snappyCompress(data: Uint8Array): Uint8Array {
  const pieces: Uint8Array[] = [];
  const header = new Uint8Array(xerialHeaderBytes);
  header.set(xerialMagic);
  const headerView = new DataView(header.buffer);
  headerView.setInt32(8, 1); // version
  headerView.setInt32(12, 1); // minimum compatible version
  pieces.push(header);
  for (let offset = 0; offset < data.length || offset === 0; offset += xerialChunkBytes) {
    const chunk = asUint8Array(snappyAddon().compressSync(asBuffer(data.subarray(offset, offset + xerialChunkBytes))));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setInt32(0, chunk.length);
    pieces.push(length, chunk);
    if (data.length === 0) break;
  }
  return asUint8Array(Buffer.concat(pieces));
}

// ------------------------------------------------------------------------------------------- lz4

const lz4Magic = 0x184d2204;
const lz4BlockMaxBytes: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

interface Lz4Frame {
  readonly blockMax: number;
  readonly independentBlocks: boolean;
  /** The declared content size, or -1. */
  readonly contentSize: number;
  /** [start, end, compressed] of each data block. */
  readonly blocks: [number, number, boolean][];
  /** An upper bound of the inflated size: see lz4FrameBound. */
  readonly bound: number;
}

/** Parses an LZ4 frame's header and block headers (no inflating), checking every length. */
function parseLz4Frame(data: Uint8Array): Lz4Frame {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 7 || view.getUint32(0, true) !== lz4Magic) throw corrupt("lz4: not an LZ4 frame");
  const flags = data[4]!;
  const descriptor = data[5]!;
  if (flags >> 6 !== 1) throw corrupt(`lz4: frame version ${flags >> 6}`);
  const independentBlocks = (flags & 0x20) !== 0;
  const blockChecksum = (flags & 0x10) !== 0;
  const hasContentSize = (flags & 0x08) !== 0;
  const contentChecksum = (flags & 0x04) !== 0;
  const hasDictionary = (flags & 0x01) !== 0;
  const blockMax = lz4BlockMaxBytes[(descriptor >> 4) & 7];
  if (blockMax === undefined) throw corrupt("lz4: bad block maximum size");
  let position = 6;
  let contentSize = -1;
  if (hasContentSize) {
    if (position + 8 > data.length) throw corrupt("lz4: truncated frame header");
    const size = view.getBigUint64(position, true);
    contentSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
    position += 8;
  }
  if (hasDictionary) position += 4;
  position += 1; // header checksum
  const blocks: [number, number, boolean][] = [];
  let bound = 0;
  for (;;) {
    if (position + 4 > data.length) throw corrupt("lz4: truncated block header");
    const word = view.getUint32(position, true);
    position += 4;
    if (word === 0) break; // end mark
    const compressed = (word & 0x80000000) === 0;
    const size = word & 0x7fffffff;
    if (size > blockMax || size > data.length - position) throw corrupt(`lz4: block of ${size} bytes past the end`);
    blocks.push([position, position + size, compressed]);
    bound += compressed ? Math.min(blockMax, size * 255 + 64) : size;
    position += size + (blockChecksum ? 4 : 0);
  }
  if (contentChecksum) position += 4;
  if (position > data.length) throw corrupt("lz4: truncated frame");
  if (position !== data.length) throw corrupt("lz4: bytes after the end of the frame");
  if (contentSize >= 0) bound = Math.min(bound, contentSize);
  return { blockMax, independentBlocks, contentSize, blocks, bound };
}

/**
 * An upper bound of what an LZ4 frame inflates to, read from its header and block headers without
 * inflating: the declared content size when present, else the sum over blocks of
 * min(block maximum, 255 × compressed size + 64) (LZ4 cannot expand a byte to more than ~255).
 */
export function lz4FrameBound(data: Uint8Array): number {
  return parseLz4Frame(data).bound;
}

/**
 * Frames of independent blocks (what Kafka's Java client and lz4-napi write) are inflated block by
 * block, each into at most what remains of the limit, so the limit is exact. Frames of linked
 * blocks are inflated whole, and only when their bound is within the limit.
 */
function lz4Decompress(data: Uint8Array, maxBytes: number): Uint8Array {
  const frame = parseLz4Frame(data);
  if (frame.contentSize > maxBytes) throw tooLarge("lz4", frame.contentSize, maxBytes);
  if (!frame.independentBlocks) {
    if (frame.bound > maxBytes) throw tooLarge("lz4", frame.bound, maxBytes);
    try {
      return asUint8Array(lz4Addon().decompressFrameSync(asBuffer(data)));
    } catch (error) {
      throw corrupt(`lz4: ${(error as Error).message}`);
    }
  }
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (const [start, end, compressed] of frame.blocks) {
    const room = maxBytes - total;
    let piece: Uint8Array;
    if (!compressed) {
      piece = data.subarray(start, end);
      if (piece.length > room) throw tooLarge("lz4", total + piece.length, maxBytes);
    } else {
      // lz4-napi's block decoder takes the output capacity as a 4-byte little-endian prefix and
      // fails when the block needs more.
      const capacity = Math.min(frame.blockMax, room);
      const input = Buffer.allocUnsafe(4 + end - start);
      input.writeUInt32LE(capacity, 0);
      input.set(data.subarray(start, end), 4);
      try {
        piece = asUint8Array(lz4Addon().uncompressSync(input));
      } catch (error) {
        const message = (error as Error).message;
        if (capacity < frame.blockMax && /too small/.test(message)) throw corrupt(`lz4 data inflates beyond the ${maxBytes}-byte limit`);
        throw corrupt(`lz4: ${message}`);
      }
    }
    pieces.push(piece);
    total += piece.length;
  }
  if (frame.contentSize >= 0 && frame.contentSize !== total) throw corrupt("lz4: content size does not match the blocks");
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

// -------------------------------------------------------------------------------------- dispatch

/** Inflates `data` compressed with `codec`, refusing output above `maxBytes`. */
export function decompress(codec: number, data: Uint8Array, maxBytes: number): Uint8Array {
  assert(Number.isInteger(maxBytes) && maxBytes >= 0, "decompress needs a byte limit");
  switch (codec) {
    case CompressionType.none:
      if (data.length > maxBytes) throw tooLarge("uncompressed", data.length, maxBytes);
      return data;
    case CompressionType.gzip:
      return inflateCapped("gzip", data, maxBytes);
    case CompressionType.snappy:
      return snappyDecompress(data, maxBytes);
    case CompressionType.lz4:
      return lz4Decompress(data, maxBytes);
    case CompressionType.zstd:
      return inflateCapped("zstd", data, maxBytes);
    default:
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec}`);
  }
}

/** Compresses `data` with `codec` in the wire format Kafka clients read. */
export function compress(codec: number, data: Uint8Array): Uint8Array {
  switch (codec) {
    case CompressionType.none:
      return data;
    case CompressionType.gzip:
      return asUint8Array(zlib.gzipSync(data));
    case CompressionType.snappy:
      return snappyCompress(data);
    case CompressionType.lz4:
      return asUint8Array(lz4Addon().compressFrameSync(asBuffer(data)));
    case CompressionType.zstd:
      return asUint8Array(zlib.zstdCompressSync(data));
    default:
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `compression codec ${codec}`);
  }
}
