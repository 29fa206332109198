// The native helper in pure TypeScript, for machines without a C compiler (or RUNNEL_NATIVE=0).
// Same contract as the C library (src/native/types.ts), same conformance suite
// (test/native/native.test.ts). What differs:
//
// - CRC-32C: slicing-by-8 tables in JS, several times slower than the SSE4.2 instruction
//   (bench/native-ffi.ts prints both).
// - No memory mappings: `canMap` is false and map/unmap/msync/madvise throw. The storage layer
//   then reads and writes segments with pread/pwrite.
// - fallocate cannot reserve blocks from JS. What it does instead:
//     1. checks with statfs that the part of the range past the current end of file fits in the
//        space available to us, and throws an ENOSPC-coded Error otherwise (a full disk is
//        reported at reservation time, as with the real call);
//     2. when !keepSize, extends the file (ftruncate) to cover the range, as fallocate would.
//   The extension is sparse, so a later write can still fail with ENOSPC when other writers took
//   the space in between. That is safe here because the fallback never maps files: a full disk
//   surfaces as an ENOSPC error from pwrite, never as a SIGBUS. Writing zeros would reserve for
//   real but costs a full write of the range on the event loop, so we do not.

import { fstatSync, ftruncateSync, statfsSync } from "node:fs";
import { assert } from "../util/assert.ts";
import {
  checkByteRange,
  checkCrc,
  checkFd,
  checkIndex,
  checkInt32,
  checkTimestamp,
  offsetIndexEntryBytes,
  timeIndexEntryBytes,
} from "./checks.ts";
import { errnoNumber, nativeError } from "./errors.ts";
import type { Advice, MappedRegion, NativeApi } from "./types.ts";

const crc32cPolynomialReflected = 0x82f63b78;

// crcTable[k * 256 + b]: CRC register after byte b followed by k zero bytes (slicing-by-8).
const crcTable = buildCrcTable();

function buildCrcTable(): Int32Array {
  const table = new Int32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (crc32cPolynomialReflected & -(crc & 1));
    table[byte] = crc;
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = table[byte]!;
    for (let slice = 1; slice < 8; slice++) {
      crc = table[crc & 0xff]! ^ (crc >>> 8);
      table[slice * 256 + byte] = crc;
    }
  }
  return table;
}

/** CRC-32C of `data` continuing from `crc` (0 to start). */
export function crc32cSoftware(data: Uint8Array, crc = 0): number {
  checkCrc(crc);
  const table = crcTable;
  const length = data.length;
  let state = ~crc;
  let index = 0;
  const wholeEnd = length - (length & 7);
  while (index < wholeEnd) {
    const low =
      state ^ (data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24));
    state =
      table[7 * 256 + (low & 0xff)]! ^
      table[6 * 256 + ((low >>> 8) & 0xff)]! ^
      table[5 * 256 + ((low >>> 16) & 0xff)]! ^
      table[4 * 256 + (low >>> 24)]! ^
      table[3 * 256 + data[index + 4]!]! ^
      table[2 * 256 + data[index + 5]!]! ^
      table[256 + data[index + 6]!]! ^
      table[data[index + 7]!]!;
    index += 8;
  }
  while (index < length) {
    state = table[(state ^ data[index]!) & 0xff]! ^ (state >>> 8);
    index++;
  }
  return ~state >>> 0;
}

function readInt32BigEndian(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

function readInt64BigEndian(bytes: Uint8Array, at: number): bigint {
  const high = BigInt(readInt32BigEndian(bytes, at)); // signed: carries the sign of the int64
  const low = BigInt(readInt32BigEndian(bytes, at + 4) >>> 0);
  return (high << 32n) | low;
}

export function offsetIndexLookupSoftware(index: Uint8Array, entries: number, relativeOffset: number): number {
  checkIndex(index, entries, offsetIndexEntryBytes);
  checkInt32(relativeOffset, "relative offset");
  // Invariant: slots below `low` are <= target, slots at or above `high` are > target.
  let low = 0;
  let high = entries;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (readInt32BigEndian(index, middle * offsetIndexEntryBytes) <= relativeOffset) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

export function timeIndexLookupSoftware(index: Uint8Array, entries: number, timestampMs: bigint): number {
  checkIndex(index, entries, timeIndexEntryBytes);
  checkTimestamp(timestampMs);
  let low = 0;
  let high = entries;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (readInt64BigEndian(index, middle * timeIndexEntryBytes) <= timestampMs) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** Space available to an unprivileged writer on the file system holding `fd`, or null if unknown. */
function availableBytes(fd: number): number | null {
  if (process.platform !== "linux") return null;
  try {
    // statfs follows the /proc magic link to the file system that holds the open file.
    const stats = statfsSync(`/proc/self/fd/${fd}`);
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

function fallocateBestEffort(fd: number, offset: number, length: number, keepSize: boolean): void {
  checkFd(fd);
  checkByteRange(offset, length, "fallocate");
  assert(length > 0, "fallocate length must be > 0");
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (error) {
    throw nativeError("fallocate", errnoNumber((error as { code?: string }).code ?? "EBADF"), `fd ${fd}`);
  }
  const end = offset + length;
  // Blocks past the end of file are the ones the range may still need; a sparse hole inside the
  // file is not counted (statfs cannot tell holes), which makes this check optimistic there.
  const needed = Math.max(0, end - size);
  const available = availableBytes(fd);
  if (available !== null && needed > available) {
    throw nativeError("fallocate", errnoNumber("ENOSPC"), `${needed} bytes needed past EOF of fd ${fd}, ${available} available`);
  }
  if (!keepSize && end > size) ftruncateSync(fd, end);
}

function mapUnavailable(): never {
  const error = new Error(
    "memory mapping is not available in the pure-TypeScript fallback (native library not loaded); check native.canMap",
  ) as Error & { code: string };
  error.code = "ERR_RUNNEL_NO_MMAP";
  throw error;
}

export const fallback: NativeApi = {
  name: "fallback",
  abiVersion: 0,
  crc32c: crc32cSoftware,
  canMap: false,
  map: (_fd: number, _length: number, _writable: boolean): MappedRegion => mapUnavailable(),
  unmap: (_region: MappedRegion): void => mapUnavailable(),
  msync: (_region: MappedRegion, _offset: number, _length: number): void => mapUnavailable(),
  madvise: (_region: MappedRegion, _offset: number, _length: number, _advice: Advice): void => mapUnavailable(),
  fallocate: fallocateBestEffort,
  offsetIndexLookup: offsetIndexLookupSoftware,
  timeIndexLookup: timeIndexLookupSoftware,
};
