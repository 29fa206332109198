// The Kafka wire primitives: big-endian integers, zig-zag and unsigned varints, the classic
// (int16/int32 length) and compact (unsigned varint length + 1, KIP-482) strings, bytes and
// arrays, UUIDs and tagged-field sections. Generated codecs (src/protocol/generated/) are made of
// calls to these two classes. No I/O here: bytes in, values out, and back.
//
// Reader never trusts a length: every length and count is checked against the bytes that remain
// BEFORE anything is allocated, so a hostile 20-byte frame cannot make us allocate 2 GiB. Every
// failure is a ProtocolDecodeError (never a RangeError from a DataView).
//
// UUIDs are strings in Kafka's own text form: URL-safe base64 of the 16 bytes without padding
// (22 characters), the form `kafka-topics.sh --describe` prints. The zero UUID is
// "AAAAAAAAAAAAAAAAAAAAAA" (ZERO_UUID).

import { assert } from "../util/assert.ts";
import { ProtocolDecodeError } from "./errors.ts";

const textDecoder = new TextDecoder("utf-8");
const textEncoder = new TextEncoder();

export const ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA";

// 64-bit values go through one shared 8-byte scratch DataView. Making a DataView over a fresh
// Uint8Array (or taking its subarray) forces JavaScriptCore to materialize an ArrayBuffer, which
// measured ~0.6 µs: more than decoding a whole Produce request.
const scratchBytes = new Uint8Array(new ArrayBuffer(8));
const scratchView = new DataView(scratchBytes.buffer);

const base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const base64UrlValues = new Int8Array(128).fill(-1);
for (let index = 0; index < 64; index++) base64UrlValues[base64UrlAlphabet.charCodeAt(index)] = index;

/** Kafka's text form of a 16-byte UUID (URL-safe base64, no padding, 22 characters). */
export function uuidToString(bytes: Uint8Array, offset = 0): string {
  assert(bytes.length - offset >= 16, "uuidToString needs 16 bytes");
  let out = "";
  // 15 bytes make 20 characters; the 16th byte makes the last 2 (8 bits + 4 zero bits).
  for (let index = 0; index < 15; index += 3) {
    const triple = (bytes[offset + index]! << 16) | (bytes[offset + index + 1]! << 8) | bytes[offset + index + 2]!;
    out +=
      base64UrlAlphabet[(triple >> 18) & 63]! +
      base64UrlAlphabet[(triple >> 12) & 63]! +
      base64UrlAlphabet[(triple >> 6) & 63]! +
      base64UrlAlphabet[triple & 63]!;
  }
  const last = bytes[offset + 15]!;
  return out + base64UrlAlphabet[last >> 2]! + base64UrlAlphabet[(last & 3) << 4]!;
}

/** True when `text` is a UUID in Kafka's text form (22 URL-safe base64 characters). */
export function isUuidString(text: string): boolean {
  if (text.length !== 22) return false;
  for (let index = 0; index < 22; index++) {
    const code = text.charCodeAt(index);
    if (code >= 128 || base64UrlValues[code]! < 0) return false;
  }
  // The last character carries only 2 meaningful bits; the 4 low bits must be zero.
  return (base64UrlValues[text.charCodeAt(21)]! & 15) === 0;
}

/** Writes the 16 bytes of a UUID given in Kafka's text form into `out` at `offset`. */
export function uuidToBytes(text: string, out: Uint8Array = new Uint8Array(16), offset = 0): Uint8Array {
  assert(isUuidString(text), `not a UUID in Kafka's text form: ${JSON.stringify(text)}`);
  for (let index = 0, char = 0; index < 15; index += 3, char += 4) {
    const triple =
      (base64UrlValues[text.charCodeAt(char)]! << 18) |
      (base64UrlValues[text.charCodeAt(char + 1)]! << 12) |
      (base64UrlValues[text.charCodeAt(char + 2)]! << 6) |
      base64UrlValues[text.charCodeAt(char + 3)]!;
    out[offset + index] = triple >> 16;
    out[offset + index + 1] = (triple >> 8) & 255;
    out[offset + index + 2] = triple & 255;
  }
  out[offset + 15] = (base64UrlValues[text.charCodeAt(20)]! << 2) | (base64UrlValues[text.charCodeAt(21)]! >> 4);
  return out;
}

/** A random (version 4) UUID in Kafka's text form, never the zero UUID. */
export function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return uuidToString(bytes);
}

/** Short strings are decoded by hand (faster than TextDecoder for the topic names of a request). */
function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let out = "";
    for (let index = start; index < end; index++) {
      const byte = bytes[index]!;
      if (byte >= 0x80) return textDecoder.decode(bytes.subarray(start, end));
      out += String.fromCharCode(byte);
    }
    return out;
  }
  return textDecoder.decode(bytes.subarray(start, end));
}

export class Reader {
  readonly bytes: Uint8Array;
  position: number;
  /** One past the last readable byte. */
  readonly end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    assert(start >= 0 && start <= end && end <= bytes.length, "Reader range outside its bytes");
    this.bytes = bytes;
    this.position = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  /** Throws unless `count` more bytes can be read. */
  need(count: number, what = "field"): void {
    if (count > this.end - this.position) {
      throw new ProtocolDecodeError(
        `truncated ${what}: needs ${count} bytes at position ${this.position}, ${this.end - this.position} remain`,
      );
    }
  }

  skip(count: number): void {
    if (count < 0) throw new ProtocolDecodeError(`negative length ${count}`);
    this.need(count);
    this.position += count;
  }

  int8(): number {
    this.need(1, "int8");
    return (this.bytes[this.position++]! << 24) >> 24;
  }

  uint8(): number {
    this.need(1, "uint8");
    return this.bytes[this.position++]!;
  }

  bool(): boolean {
    this.need(1, "bool");
    return this.bytes[this.position++] !== 0;
  }

  int16(): number {
    this.need(2, "int16");
    const bytes = this.bytes;
    const at = this.position;
    this.position = at + 2;
    return ((bytes[at]! << 24) | (bytes[at + 1]! << 16)) >> 16;
  }

  uint16(): number {
    this.need(2, "uint16");
    const bytes = this.bytes;
    const at = this.position;
    this.position = at + 2;
    return (bytes[at]! << 8) | bytes[at + 1]!;
  }

  int32(): number {
    this.need(4, "int32");
    const bytes = this.bytes;
    const at = this.position;
    this.position = at + 4;
    return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  /** The int16 at `offset` bytes ahead, without moving (header peeking). */
  peekInt16(offset: number): number {
    this.need(offset + 2, "int16");
    const at = this.position + offset;
    return ((this.bytes[at]! << 24) | (this.bytes[at + 1]! << 16)) >> 16;
  }

  private toScratch(): void {
    const bytes = this.bytes;
    const at = this.position;
    for (let index = 0; index < 8; index++) scratchBytes[index] = bytes[at + index]!;
    this.position = at + 8;
  }

  int64(): bigint {
    this.need(8, "int64");
    this.toScratch();
    return scratchView.getBigInt64(0);
  }

  float64(): number {
    this.need(8, "float64");
    this.toScratch();
    return scratchView.getFloat64(0);
  }

  /** Unsigned varint of at most 5 bytes (a uint32), as Kafka's ByteUtils.readUnsignedVarint. */
  uvarint(): number {
    const bytes = this.bytes;
    let value = 0;
    let multiplier = 1;
    for (let count = 0; count < 5; count++) {
      if (this.position >= this.end) throw new ProtocolDecodeError("truncated varint");
      const byte = bytes[this.position++]!;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw new ProtocolDecodeError("varint does not fit 32 bits");
        return value;
      }
      multiplier *= 128;
    }
    throw new ProtocolDecodeError("varint longer than 5 bytes");
  }

  /** Zig-zag signed varint (int32). */
  varint(): number {
    const raw = this.uvarint();
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Unsigned varint of at most 10 bytes (a uint64), as a bigint. */
  uvarlong(): bigint {
    const bytes = this.bytes;
    // Most varlongs are short: accumulate in a number while it stays exact (7 × 7 = 49 bits).
    let low = 0;
    let multiplier = 1;
    let count = 0;
    for (; count < 7; count++) {
      if (this.position >= this.end) throw new ProtocolDecodeError("truncated varlong");
      const byte = bytes[this.position++]!;
      low += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return BigInt(low);
      multiplier *= 128;
    }
    let value = BigInt(low);
    let shift = 49n;
    for (; count < 10; count++) {
      if (this.position >= this.end) throw new ProtocolDecodeError("truncated varlong");
      const byte = bytes[this.position++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffffffffffffn) throw new ProtocolDecodeError("varlong does not fit 64 bits");
        return value;
      }
      shift += 7n;
    }
    throw new ProtocolDecodeError("varlong longer than 10 bytes");
  }

  /** Zig-zag signed varlong (int64), as a bigint. */
  varlong(): bigint {
    const raw = this.uvarlong();
    return (raw >> 1n) ^ -(raw & 1n);
  }

  /** Zig-zag signed varlong that must fit a safe JS integer (record timestamp deltas). */
  varlongNumber(): number {
    const start = this.position;
    const bytes = this.bytes;
    let raw = 0;
    let multiplier = 1;
    for (let count = 0; count < 7; count++) {
      if (this.position >= this.end) throw new ProtocolDecodeError("truncated varlong");
      const byte = bytes[this.position++]!;
      raw += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      multiplier *= 128;
    }
    this.position = start;
    const value = this.varlong();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ProtocolDecodeError(`varlong ${value} outside the safe integer range`);
    }
    return Number(value);
  }

  uuid(): string {
    this.need(16, "uuid");
    const text = uuidToString(this.bytes, this.position);
    this.position += 16;
    return text;
  }

  /** `length` raw bytes as a view into the input (no copy). */
  rawView(length: number): Uint8Array {
    this.need(length, "bytes");
    const start = this.position;
    this.position += length;
    return this.bytes.subarray(start, start + length);
  }

  private utf8(length: number): string {
    this.need(length, "string");
    const start = this.position;
    this.position += length;
    return decodeUtf8(this.bytes, start, this.position);
  }

  /** int16 length, then UTF-8. A null (-1) here is an error. */
  string(): string {
    const length = this.int16();
    if (length < 0) throw new ProtocolDecodeError("non-nullable string was null");
    return this.utf8(length);
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) {
      if (length !== -1) throw new ProtocolDecodeError(`bad string length ${length}`);
      return null;
    }
    return this.utf8(length);
  }

  compactString(): string {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) throw new ProtocolDecodeError("non-nullable compact string was null");
    if (lengthPlusOne - 1 > 0x7fff) throw new ProtocolDecodeError(`string length ${lengthPlusOne - 1} too long`);
    return this.utf8(lengthPlusOne - 1);
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) return null;
    if (lengthPlusOne - 1 > 0x7fff) throw new ProtocolDecodeError(`string length ${lengthPlusOne - 1} too long`);
    return this.utf8(lengthPlusOne - 1);
  }

  /** int32 length, then the bytes as a view of the input. */
  bytesField(): Uint8Array {
    const length = this.int32();
    if (length < 0) throw new ProtocolDecodeError("non-nullable bytes were null");
    return this.rawView(length);
  }

  nullableBytes(): Uint8Array | null {
    const length = this.int32();
    if (length < 0) {
      if (length !== -1) throw new ProtocolDecodeError(`bad bytes length ${length}`);
      return null;
    }
    return this.rawView(length);
  }

  compactBytes(): Uint8Array {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) throw new ProtocolDecodeError("non-nullable compact bytes were null");
    return this.rawView(lengthPlusOne - 1);
  }

  compactNullableBytes(): Uint8Array | null {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) return null;
    return this.rawView(lengthPlusOne - 1);
  }

  /**
   * int32 element count of a classic array, -1 for null. Each element takes at least one byte,
   * so a count above the bytes remaining is corrupt (the check Kafka makes before allocating).
   */
  arrayLength(): number {
    const count = this.int32();
    if (count < 0) {
      if (count !== -1) throw new ProtocolDecodeError(`bad array length ${count}`);
      return -1;
    }
    if (count > this.end - this.position) {
      throw new ProtocolDecodeError(`array of ${count} elements but only ${this.end - this.position} bytes remain`);
    }
    return count;
  }

  /** Compact array count (unsigned varint count + 1), -1 for null; checked like arrayLength. */
  compactArrayLength(): number {
    const countPlusOne = this.uvarint();
    if (countPlusOne === 0) return -1;
    const count = countPlusOne - 1;
    if (count > this.end - this.position) {
      throw new ProtocolDecodeError(`array of ${count} elements but only ${this.end - this.position} bytes remain`);
    }
    return count;
  }

  /** Skips a whole tagged-field section (used for structs that know none of their tags). */
  skipTaggedFields(): void {
    const count = this.uvarint();
    if (count > this.end - this.position) throw new ProtocolDecodeError(`${count} tagged fields in too few bytes`);
    for (let index = 0; index < count; index++) {
      this.uvarint(); // tag
      this.skip(this.uvarint());
    }
  }
}

/** Writer.finish() copies results up to this size rather than returning a view. */
const writerCopyOutBytesMax = 16 * 1024;

/** Byte fields at least this long are appended to a Writer by reference, not copied. */
export const writerZeroCopyBytesMin = 4096;

/**
 * A growable big-endian byte writer. `finish()` returns the bytes written (a view of the internal
 * buffer when no view was appended by reference, else one copy); `finishChunks()` returns the
 * pieces without copying, so that a Fetch response can go to the socket as header bytes followed by
 * the record views themselves.
 */
export class Writer {
  private buffer: Uint8Array;
  private position = 0;
  /** Completed pieces, in order: own buffer slices and views appended by reference. */
  private chunks: Uint8Array[] = [];
  private chunksLength = 0;

  constructor(initialBytes = 256) {
    assert(initialBytes > 0, "Writer needs a positive initial size");
    this.buffer = new Uint8Array(initialBytes);
  }

  /** Bytes written so far (all pieces). */
  get length(): number {
    return this.chunksLength + this.position;
  }

  private ensure(count: number): void {
    if (this.position + count <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.position + count) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
  }

  private fromScratch(): void {
    this.ensure(8);
    const buffer = this.buffer;
    const at = this.position;
    for (let index = 0; index < 8; index++) buffer[at + index] = scratchBytes[index]!;
    this.position = at + 8;
  }

  int8(value: number): void {
    this.ensure(1);
    this.buffer[this.position++] = value;
  }

  uint8(value: number): void {
    this.ensure(1);
    this.buffer[this.position++] = value;
  }

  bool(value: boolean): void {
    this.ensure(1);
    this.buffer[this.position++] = value ? 1 : 0;
  }

  int16(value: number): void {
    this.ensure(2);
    const buffer = this.buffer;
    const at = this.position;
    buffer[at] = value >> 8;
    buffer[at + 1] = value;
    this.position = at + 2;
  }

  uint16(value: number): void {
    this.int16(value);
  }

  int32(value: number): void {
    this.ensure(4);
    const buffer = this.buffer;
    const at = this.position;
    buffer[at] = value >> 24;
    buffer[at + 1] = value >> 16;
    buffer[at + 2] = value >> 8;
    buffer[at + 3] = value;
    this.position = at + 4;
  }

  uint32(value: number): void {
    this.int32(value | 0);
  }

  int64(value: bigint): void {
    scratchView.setBigInt64(0, value);
    this.fromScratch();
  }

  float64(value: number): void {
    scratchView.setFloat64(0, value);
    this.fromScratch();
  }

  uvarint(value: number): void {
    assert(value >= 0 && value <= 0xffffffff && Number.isInteger(value), `uvarint out of range: ${value}`);
    this.ensure(5);
    while (value >= 0x80) {
      this.buffer[this.position++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.position++] = value;
  }

  /** Zig-zag signed varint (int32). */
  varint(value: number): void {
    assert(value >= -0x80000000 && value <= 0x7fffffff, `varint out of range: ${value}`);
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  uvarlong(value: bigint): void {
    this.ensure(10);
    while (value >= 0x80n) {
      this.buffer[this.position++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buffer[this.position++] = Number(value);
  }

  /** Zig-zag signed varlong (int64). */
  varlong(value: bigint): void {
    this.uvarlong(BigInt.asUintN(64, (value << 1n) ^ (value >> 63n)));
  }

  /** Zig-zag signed varlong from a safe integer (record timestamp deltas). */
  varlongNumber(value: number): void {
    assert(Number.isSafeInteger(value), `varlong not a safe integer: ${value}`);
    const raw = value >= 0 ? value * 2 : -value * 2 - 1;
    if (raw <= 0xffffffff) {
      this.uvarint(raw);
      return;
    }
    this.varlong(BigInt(value));
  }

  uuid(value: string): void {
    this.ensure(16);
    uuidToBytes(value, this.buffer, this.position);
    this.position += 16;
  }

  /** Raw bytes, copied (or appended by reference when long: see writerZeroCopyBytesMin). */
  raw(bytes: Uint8Array): void {
    if (bytes.length >= writerZeroCopyBytesMin) {
      this.flushChunk();
      this.chunks.push(bytes);
      this.chunksLength += bytes.length;
      return;
    }
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.position);
    this.position += bytes.length;
  }

  /** Moves the bytes written so far into `chunks` and starts a fresh buffer for what follows. */
  private flushChunk(): void {
    if (this.position === 0) return;
    const position = this.position;
    const piece = position <= writerCopyOutBytesMax ? this.buffer.slice(0, position) : this.buffer.subarray(0, position);
    this.chunks.push(piece);
    this.chunksLength += position;
    // The old buffer stays with its piece when it is a view; start a new one either way.
    this.buffer = new Uint8Array(Math.max(256, Math.min(this.buffer.length, 64 * 1024)));
    this.position = 0;
  }

  /** Writes UTF-8 of `value` preceded by its byte length written by `writeLength`. */
  private utf8(value: string, compact: boolean): void {
    const length = value.length;
    let ascii = true;
    for (let index = 0; index < length; index++) {
      if (value.charCodeAt(index) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const encoded = textEncoder.encode(value);
      assert(encoded.length <= 0x7fff, `string longer than 32767 bytes`);
      if (compact) this.uvarint(encoded.length + 1);
      else this.int16(encoded.length);
      this.ensure(encoded.length);
      this.buffer.set(encoded, this.position);
      this.position += encoded.length;
      return;
    }
    assert(length <= 0x7fff, `string longer than 32767 bytes`);
    if (compact) this.uvarint(length + 1);
    else this.int16(length);
    this.ensure(length);
    const buffer = this.buffer;
    let position = this.position;
    for (let index = 0; index < length; index++) buffer[position++] = value.charCodeAt(index);
    this.position = position;
  }

  string(value: string): void {
    this.utf8(value, false);
  }

  nullableString(value: string | null): void {
    if (value === null) this.int16(-1);
    else this.utf8(value, false);
  }

  compactString(value: string): void {
    this.utf8(value, true);
  }

  compactNullableString(value: string | null): void {
    if (value === null) this.uvarint(0);
    else this.utf8(value, true);
  }

  /** Writes one view, or several back to back (a Fetch's batches from several segments, uncopied). */
  private byteSequence(value: ByteSequence): void {
    if (value instanceof Uint8Array) this.raw(value);
    else for (const piece of value) this.raw(piece);
  }

  bytesField(value: ByteSequence): void {
    this.int32(byteSequenceLength(value));
    this.byteSequence(value);
  }

  nullableBytes(value: ByteSequence | null): void {
    if (value === null) this.int32(-1);
    else this.bytesField(value);
  }

  compactBytes(value: ByteSequence): void {
    this.uvarint(byteSequenceLength(value) + 1);
    this.byteSequence(value);
  }

  compactNullableBytes(value: ByteSequence | null): void {
    if (value === null) this.uvarint(0);
    else this.compactBytes(value);
  }

  /** Classic array count; -1 for null. */
  arrayLength(count: number): void {
    this.int32(count);
  }

  /** Compact array count (count + 1, 0 for null). */
  compactArrayLength(count: number): void {
    this.uvarint(count + 1);
  }

  /** Reserves 4 bytes for an int32 written later with patchInt32 (a frame size, a batch length). */
  reserveInt32(): number {
    const at = this.length;
    this.int32(0);
    return at;
  }

  /** Overwrites the int32 at absolute position `at`, which must lie in bytes this Writer owns. */
  patchInt32(at: number, value: number): void {
    let base = 0;
    for (const chunk of this.chunks) {
      if (at < base + chunk.length) {
        assert(at + 4 <= base + chunk.length, "patchInt32 across a chunk boundary");
        new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).setInt32(at - base, value);
        return;
      }
      base += chunk.length;
    }
    assert(at - base + 4 <= this.position, "patchInt32 past the end");
    const buffer = this.buffer;
    const local = at - base;
    buffer[local] = value >> 24;
    buffer[local + 1] = value >> 16;
    buffer[local + 2] = value >> 8;
    buffer[local + 3] = value;
  }

  /** All bytes written, as one Uint8Array (no copy when nothing was appended by reference). */
  finish(): Uint8Array {
    // A small result is copied out (cheaper in JavaScriptCore than a subarray of a fresh array).
    if (this.chunks.length === 0) {
      return this.position <= writerCopyOutBytesMax ? this.buffer.slice(0, this.position) : this.buffer.subarray(0, this.position);
    }
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    out.set(this.buffer.subarray(0, this.position), offset);
    return out;
  }

  /** All bytes written, as pieces to write in order (views appended by reference stay views). */
  finishChunks(): Uint8Array[] {
    if (this.chunks.length === 0) return [this.finish()];
    this.flushChunk();
    return this.chunks.slice();
  }
}

/**
 * What encoders accept for a `bytes`/`records` field: one view, or several written back to back as
 * one field (e.g. a Fetch partition's batches read from several log segments, without a copy).
 */
export type ByteSequence = Uint8Array | readonly Uint8Array[];

export function byteSequenceLength(value: ByteSequence): number {
  if (value instanceof Uint8Array) return value.length;
  let total = 0;
  for (const piece of value) total += piece.length;
  return total;
}

/**
 * The input type of every generated encoder: every field optional, recursively. A missing field is
 * written as the descriptor's default (as Kafka's generated Java classes start from defaults).
 * Byte fields also accept a ByteSequence (several views).
 */
export type Init<T> = T extends Uint8Array
  ? ByteSequence
  : T extends bigint | string | number | boolean | null | undefined
  ? T
  : T extends readonly (infer Element)[]
    ? readonly Init<Element>[]
    : { [Key in keyof T]?: Init<T[Key]> };
