// The one dlopen table of Runnel: the C library native/runnel.c behind the NativeApi interface.
//
// Finding the library (first match wins):
//   1. RUNNEL_NATIVE_LIBRARY, an explicit path (deployments that keep the .so elsewhere);
//   2. the path registered by src/native/embedded.ts, inside a single binary built with
//      `bun build --compile` (the library lives in the binary's embedded file system);
//   3. native/build/librunnel.so relative to this source file (bun install / bun run build:native
//      put it there), for normal runs and tests.
//
// Why a separate embedded.ts instead of `import path from "…/librunnel.so" with { type: "file" }`
// here: that import is resolved when bundling AND when running from source, and fails when the file
// does not exist, i.e. on every machine without a C compiler, taking the fallback down with it.
// Resolving the path at run time keeps the fallback working; the binary's entry imports
// embedded.ts first (only when the library was built), which registers the embedded path through
// the import-free module library-path.ts before this module loads the library.
//
// The ABI version is checked before the full table is bound: a library built from other sources
// (stale build, other checkout) is refused with a message saying to rebuild, never half-used.
//
// Mappings are exposed with toArrayBuffer (no copy). unmap() detaches that ArrayBuffer before
// munmap, so a view that someone forgot turns into an empty array instead of a pointer into freed
// address space (which would crash the process).

import { dlopen, FFIType, toArrayBuffer, type Pointer } from "bun:ffi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import {
  checkByteRange,
  checkCrc,
  checkFd,
  checkIndex,
  checkInt32,
  checkRegionRange,
  checkTimestamp,
  offsetIndexEntryBytes,
  timeIndexEntryBytes,
} from "./checks.ts";
import { errnoNumber, nativeError } from "./errors.ts";
import { embeddedLibrary } from "./library-path.ts";
import type { Advice, MappedRegion, NativeApi } from "./types.ts";

/** Must equal RUNNEL_ABI_VERSION in native/runnel.c. */
export const expectedAbiVersion = 2;

/** Where `bun run build:native` writes the library. */
export const builtLibraryPath = join(import.meta.dir, "..", "..", "native", "build", "librunnel.so");

const adviceCodes: Record<Advice, number> = { normal: 0, sequential: 1, random: 2, willneed: 3, dontneed: 4 };

function openTable(path: string) {
  return dlopen(path, {
    runnel_abi_version: { args: [], returns: "u32" },
    runnel_noop: { args: ["u32"], returns: "u32" },
    runnel_crc32c_hardware: { args: [], returns: "i32" },
    // The length is passed as u32 because a u64 argument costs ~6 ns more per call here; longer
    // inputs (never seen: segments are < 2 GiB) are fed in chunks by crcInChunks.
    runnel_crc32c: { args: ["u32", "ptr", "u32"], returns: "u32" },
    runnel_crc32c_software: { args: ["u32", "ptr", "u32"], returns: "u32" },
    runnel_page_size: { args: [], returns: FFIType.i64_fast },
    runnel_file_size: { args: ["i32"], returns: FFIType.i64_fast },
    runnel_map: { args: ["i32", "u64", "i32"], returns: FFIType.i64_fast },
    runnel_unmap: { args: ["u64", "u64"], returns: "i32" },
    runnel_msync: { args: ["u64", "u64", "u64"], returns: "i32" },
    runnel_madvise: { args: ["u64", "u64", "u64", "i32"], returns: "i32" },
    runnel_fallocate: { args: ["i32", "u64", "u64", "i32"], returns: "i32" },
    runnel_offset_index_lookup: { args: ["ptr", "u32", "i32"], returns: "i32" },
    runnel_time_index_lookup: { args: ["ptr", "u32", "i64"], returns: "i32" },
  });
}

type Symbols = ReturnType<typeof openTable>["symbols"];

/** Largest length handed to one runnel_crc32c call (its length argument is a u32). */
const crcChunkBytes = 0x8000_0000;

function crcInChunks(crcFunction: (crc: number, data: Uint8Array, length: number) => number, data: Uint8Array, crc: number): number {
  let state = crc;
  for (let start = 0; start < data.length; start += crcChunkBytes) {
    const chunk = data.subarray(start, Math.min(data.length, start + crcChunkBytes));
    state = crcFunction(state, chunk, chunk.length);
  }
  return state;
}

/** The native implementation, with a few extras for tests and benchmarks. */
export interface NativeLibrary extends NativeApi {
  readonly name: "native";
  /** The file that was loaded (`/$bunfs/root/…` inside a compiled binary). */
  readonly libraryPath: string;
  /** True when CRC-32C runs on the CPU's crc32 instruction (SSE4.2), false for the table. */
  readonly crcHardware: boolean;
  readonly pageBytes: number;
  /** CRC-32C through the C table code whatever the CPU (to test and time that path too). */
  crc32cTable(data: Uint8Array, crc?: number): number;
  /** A call that does nothing, to time the FFI call itself. */
  noop(value: number): number;
}

/** The path to load, or null when no library is to be found. */
export function resolveLibraryPath(): string | null {
  const explicit = process.env.RUNNEL_NATIVE_LIBRARY;
  if (explicit) return explicit;
  const embedded = embeddedLibrary();
  if (embedded) return embedded;
  return existsSync(builtLibraryPath) ? builtLibraryPath : null;
}

function checkAbiVersion(path: string): void {
  const probe = dlopen(path, { runnel_abi_version: { args: [], returns: "u32" } });
  try {
    const version = probe.symbols.runnel_abi_version();
    if (version !== expectedAbiVersion) {
      throw new Error(
        `${path} has ABI version ${version}, this Runnel needs ${expectedAbiVersion}: rebuild it with \`bun run build:native\``,
      );
    }
  } finally {
    probe.close();
  }
}

class NativeRegion implements MappedRegion {
  readonly bytes: Uint8Array;
  mapped = true;
  constructor(
    readonly address: number,
    readonly length: number,
    readonly writable: boolean,
    readonly buffer: ArrayBuffer,
  ) {
    this.bytes = new Uint8Array(buffer);
  }
}

function nativeRegion(region: MappedRegion): NativeRegion {
  assert(region instanceof NativeRegion, "region was not mapped by the native library");
  assert(region.mapped, "region is already unmapped");
  return region;
}

/** Loads the library at `path` (checked ABI version) and wraps it. Throws when it cannot. */
export function loadNativeLibrary(path: string): NativeLibrary {
  checkAbiVersion(path);
  const symbols: Symbols = openTable(path).symbols;
  const pageBytes = Number(symbols.runnel_page_size());
  return {
    name: "native",
    abiVersion: symbols.runnel_abi_version(),
    libraryPath: path,
    crcHardware: symbols.runnel_crc32c_hardware() === 1,
    pageBytes,
    canMap: true,

    crc32c(data: Uint8Array, crc = 0): number {
      checkCrc(crc);
      const length = data.length;
      if (length === 0) return crc;
      if (length > crcChunkBytes) return crcInChunks(symbols.runnel_crc32c, data, crc);
      return symbols.runnel_crc32c(crc, data, length);
    },
    crc32cTable(data: Uint8Array, crc = 0): number {
      checkCrc(crc);
      if (data.length === 0) return crc;
      return crcInChunks(symbols.runnel_crc32c_software, data, crc);
    },
    noop: (value: number): number => symbols.runnel_noop(value),

    map(fd: number, length: number, writable: boolean): MappedRegion {
      checkFd(fd);
      checkByteRange(0, length, "map");
      assert(length > 0, "map length must be > 0");
      const size = Number(symbols.runnel_file_size(fd));
      if (size < 0) throw nativeError("fstat", -size, `fd ${fd}`);
      if (size < length) {
        // Touching a mapped page past the end of file raises SIGBUS and kills the process.
        throw nativeError("mmap", errnoNumber("EINVAL"), `fd ${fd} is ${size} bytes, cannot map ${length}: extend it first (fallocate keepSize=false)`);
      }
      const address = Number(symbols.runnel_map(fd, length, writable ? 1 : 0));
      if (address < 0) throw nativeError("mmap", -address, `fd ${fd} length ${length}`);
      assert(address > 0 && address % pageBytes === 0, "mmap returned an unaligned address");
      return new NativeRegion(address, length, writable, toArrayBuffer(address as Pointer, 0, length));
    },
    unmap(region: MappedRegion): void {
      const native = nativeRegion(region);
      native.mapped = false;
      // Detach every view of the mapping first (transfer to a 0-byte buffer moves nothing).
      if (!native.buffer.detached) native.buffer.transfer(0);
      const result = symbols.runnel_unmap(native.address, native.length);
      if (result < 0) throw nativeError("munmap", -result, `length ${native.length}`);
    },
    msync(region: MappedRegion, offset: number, length: number): void {
      const native = nativeRegion(region);
      checkRegionRange(native, offset, length, "msync");
      if (length === 0) return;
      const result = symbols.runnel_msync(native.address, offset, length);
      if (result < 0) throw nativeError("msync", -result, `range [${offset}, ${offset + length})`);
    },
    madvise(region: MappedRegion, offset: number, length: number, advice: Advice): void {
      const native = nativeRegion(region);
      checkRegionRange(native, offset, length, "madvise");
      const code = adviceCodes[advice];
      assert(code !== undefined, `unknown advice ${String(advice)}`);
      if (length === 0) return;
      const result = symbols.runnel_madvise(native.address, offset, length, code);
      if (result < 0) throw nativeError("madvise", -result, `${advice} range [${offset}, ${offset + length})`);
    },

    fallocate(fd: number, offset: number, length: number, keepSize: boolean): void {
      checkFd(fd);
      checkByteRange(offset, length, "fallocate");
      assert(length > 0, "fallocate length must be > 0");
      const result = symbols.runnel_fallocate(fd, offset, length, keepSize ? 1 : 0);
      if (result < 0) {
        throw nativeError("fallocate", -result, `fd ${fd} range [${offset}, ${offset + length}) keepSize=${keepSize}`);
      }
    },

    offsetIndexLookup(index: Uint8Array, entries: number, relativeOffset: number): number {
      checkIndex(index, entries, offsetIndexEntryBytes);
      checkInt32(relativeOffset, "relative offset");
      if (entries === 0) return -1;
      return symbols.runnel_offset_index_lookup(index, entries, relativeOffset);
    },
    timeIndexLookup(index: Uint8Array, entries: number, timestampMs: bigint): number {
      checkIndex(index, entries, timeIndexEntryBytes);
      checkTimestamp(timestampMs);
      if (entries === 0) return -1;
      return symbols.runnel_time_index_lookup(index, entries, timestampMs);
    },
  };
}
