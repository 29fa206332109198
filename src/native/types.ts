// The contract of the native helper. `ffi.ts` implements it over the C library in `native/`
// (loaded with bun:ffi); `fallback.ts` implements it in pure TypeScript so that everything keeps
// working on a machine without a C compiler (RUNNEL_NATIVE=0 forces it). Both pass the same
// conformance suite (test/native/native.test.ts).
//
// Calls are per batch or per segment, never per record: an FFI call costs tens of nanoseconds.

/** A memory mapping of (part of) a file, exposed to JS without a copy. */
export interface MappedRegion {
  /** View over the mapping. It must not outlive the mapping: unmapping with live views crashes. */
  readonly bytes: Uint8Array;
  readonly length: number;
  readonly writable: boolean;
}

export type Advice = "normal" | "sequential" | "random" | "willneed" | "dontneed";

export interface NativeApi {
  readonly name: "native" | "fallback";
  /** ABI version of the C library (checked at load); 0 for the fallback. */
  readonly abiVersion: number;

  /**
   * CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start). Matches the CRC Kafka
   * clients write into RecordBatch v2 (computed over attributes … end of batch).
   */
  crc32c(data: Uint8Array, crc?: number): number;

  /** True when map/unmap/msync/madvise are real; false in the fallback. */
  readonly canMap: boolean;
  /** Map `length` bytes of the open file `fd` from offset 0 (MAP_SHARED). Throws if !canMap. */
  map(fd: number, length: number, writable: boolean): MappedRegion;
  /** Unmap. The caller guarantees that no view of `region.bytes` is still in use. */
  unmap(region: MappedRegion): void;
  /** msync(MS_SYNC) a byte range of the mapping (blocking: keep it off hot paths). */
  msync(region: MappedRegion, offset: number, length: number): void;
  madvise(region: MappedRegion, offset: number, length: number, advice: Advice): void;

  /**
   * Reserve disk space for [offset, offset+length) of `fd` (fallocate, keeping the file size when
   * `keepSize`). Throws an Error whose `code` is "ENOSPC" (or another errno name) on failure, so a
   * full disk is an error answered to the producer, never a SIGBUS later.
   */
  fallocate(fd: number, offset: number, length: number, keepSize: boolean): void;

  /**
   * Sparse offset index lookup. `index` holds `entries` 8-byte big-endian entries
   * (int32 relative offset, int32 file position), sorted by relative offset.
   * Returns the slot of the last entry whose relative offset is <= `relativeOffset`, or -1.
   */
  offsetIndexLookup(index: Uint8Array, entries: number, relativeOffset: number): number;

  /**
   * Time index lookup. `index` holds `entries` 12-byte big-endian entries
   * (int64 timestamp ms, int32 relative offset), sorted by timestamp.
   * Returns the slot of the last entry whose timestamp is <= `timestampMs`, or -1.
   */
  timeIndexLookup(index: Uint8Array, entries: number, timestampMs: bigint): number;
}
