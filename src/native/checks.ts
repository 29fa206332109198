// Argument checks shared by both implementations, so that the C library and the fallback refuse
// the same bad calls with the same AssertionError. Wrong arguments here are programmer errors
// (the storage layer computed a bad range), never operating errors: those come back as errno codes.
//
// These run on every call (CRC of each batch, every index lookup), so the message is built only
// when a check fails: an always-evaluated template string cost ~30 ns per call.

import { AssertionError } from "../util/assert.ts";
import type { MappedRegion } from "./types.ts";

export const offsetIndexEntryBytes = 8;
export const timeIndexEntryBytes = 12;

/** Largest byte count or file offset accepted: 2^53 - 1, exact as a JS number. */
export const byteCountMax = Number.MAX_SAFE_INTEGER;

const int64Min = -(1n << 63n);
const int64Max = (1n << 63n) - 1n;

function fail(message: string): never {
  throw new AssertionError(message);
}

export function checkIndex(index: Uint8Array, entries: number, entryBytes: number): void {
  if (!(Number.isInteger(entries) && entries >= 0 && entries <= 0x7fffffff)) {
    fail(`index entries must be a non-negative int32, got ${entries}`);
  }
  if (entries * entryBytes > index.byteLength) {
    fail(`index holds ${index.byteLength} bytes, too few for ${entries} entries of ${entryBytes} bytes`);
  }
}

export function checkInt32(value: number, what: string): void {
  if ((value | 0) !== value) fail(`${what} must be an int32, got ${value}`);
}

export function checkTimestamp(value: bigint): void {
  if (!(typeof value === "bigint" && value >= int64Min && value <= int64Max)) {
    fail(`timestamp must be an int64 bigint, got ${String(value)}`);
  }
}

export function checkCrc(crc: number): void {
  if (crc >>> 0 !== crc) fail(`crc must be a uint32, got ${crc}`);
}

export function checkFd(fd: number): void {
  if (!(Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff)) fail(`fd must be a non-negative int32, got ${fd}`);
}

export function checkByteRange(offset: number, length: number, what: string): void {
  if (!(Number.isInteger(offset) && offset >= 0 && offset <= byteCountMax)) {
    fail(`${what} offset must be a non-negative safe integer, got ${offset}`);
  }
  if (!(Number.isInteger(length) && length >= 0 && length <= byteCountMax)) {
    fail(`${what} length must be a non-negative safe integer, got ${length}`);
  }
  if (offset + length > byteCountMax) fail(`${what} range ${offset}+${length} exceeds 2^53`);
}

export function checkRegionRange(region: MappedRegion, offset: number, length: number, what: string): void {
  checkByteRange(offset, length, what);
  if (offset + length > region.length) {
    fail(`${what} range [${offset}, ${offset + length}) exceeds the ${region.length}-byte mapping`);
  }
}
