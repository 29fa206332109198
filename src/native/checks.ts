// Argument checks shared by both implementations, so that the C library and the fallback refuse
// the same bad calls with the same AssertionError. Wrong arguments here are programmer errors
// (the storage layer computed a bad range), never operating errors: those come back as errno codes.

import { assert } from "../util/assert.ts";
import type { MappedRegion } from "./types.ts";

export const offsetIndexEntryBytes = 8;
export const timeIndexEntryBytes = 12;

/** Largest byte count or file offset accepted: 2^53 - 1, exact as a JS number. */
export const byteCountMax = Number.MAX_SAFE_INTEGER;

export function checkIndex(index: Uint8Array, entries: number, entryBytes: number): void {
  assert(Number.isInteger(entries) && entries >= 0 && entries <= 0x7fffffff, `index entries must be a non-negative int32, got ${entries}`);
  assert(entries * entryBytes <= index.byteLength, `index holds ${index.byteLength} bytes, too few for ${entries} entries of ${entryBytes} bytes`);
}

export function checkInt32(value: number, what: string): void {
  assert(Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff, `${what} must be an int32, got ${value}`);
}

export function checkTimestamp(value: bigint): void {
  assert(typeof value === "bigint" && value >= -(1n << 63n) && value < 1n << 63n, `timestamp must be an int64 bigint, got ${String(value)}`);
}

export function checkCrc(crc: number): void {
  assert(Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff, `crc must be a uint32, got ${crc}`);
}

export function checkFd(fd: number): void {
  assert(Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff, `fd must be a non-negative int32, got ${fd}`);
}

export function checkByteRange(offset: number, length: number, what: string): void {
  assert(Number.isInteger(offset) && offset >= 0 && offset <= byteCountMax, `${what} offset must be a non-negative safe integer, got ${offset}`);
  assert(Number.isInteger(length) && length >= 0 && length <= byteCountMax, `${what} length must be a non-negative safe integer, got ${length}`);
  assert(offset + length <= byteCountMax, `${what} range ${offset}+${length} exceeds 2^53`);
}

export function checkRegionRange(region: MappedRegion, offset: number, length: number, what: string): void {
  checkByteRange(offset, length, what);
  assert(offset + length <= region.length, `${what} range [${offset}, ${offset + length}) exceeds the ${region.length}-byte mapping`);
}
