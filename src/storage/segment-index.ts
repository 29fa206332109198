// The two sparse indexes of a segment, kept in memory and written to their files when the segment
// is sealed (rolled) or the log is closed. Kafka's file formats:
//
//   .index      8-byte entries: int32 relative offset, int32 byte position in the .log
//   .timeindex  12-byte entries: int64 timestamp ms, int32 relative offset
//
// both big-endian, sorted, relative to the segment's base offset. Why in memory rather than
// mapped files: the active segment's indexes are rebuilt by recovery anyway (its tail is always
// rescanned), so writing them once at roll time costs one write per segment instead of a write
// per entry, and a sealed segment's indexes (at most segment.index.bytes) are read once at open.
// Lookups go through the native binary search on the same big-endian bytes.

import type { NativeApi } from "../native/types.ts";
import { assert } from "../util/assert.ts";

export const offsetIndexEntryBytes = 8;
export const timeIndexEntryBytes = 12;
const initialCapacityEntries = 64;

class EntryBuffer {
  bytes: Uint8Array;
  view: DataView;
  entries = 0;

  constructor(readonly entryBytes: number, initial?: Uint8Array) {
    const capacity = Math.max(initialCapacityEntries * entryBytes, initial?.length ?? 0);
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
    if (initial) {
      assert(initial.length % entryBytes === 0, "index bytes must be whole entries");
      this.bytes.set(initial);
      this.entries = initial.length / entryBytes;
    }
  }

  protected reserveOne(): number {
    const at = this.entries * this.entryBytes;
    if (at + this.entryBytes > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.entries += 1;
    return at;
  }

  /** The used bytes (a view, valid until the next append). */
  contents(): Uint8Array {
    return this.bytes.subarray(0, this.entries * this.entryBytes);
  }

  get sizeBytes(): number {
    return this.entries * this.entryBytes;
  }

  truncateEntries(entries: number): void {
    assert(entries >= 0 && entries <= this.entries, "index truncation out of range");
    this.entries = entries;
  }
}

export class OffsetIndex extends EntryBuffer {
  constructor(initial?: Uint8Array) {
    super(offsetIndexEntryBytes, initial);
  }

  relativeOffsetAt(slot: number): number {
    return this.view.getInt32(slot * offsetIndexEntryBytes);
  }

  positionAt(slot: number): number {
    return this.view.getInt32(slot * offsetIndexEntryBytes + 4);
  }

  append(relativeOffset: number, position: number): void {
    assert(this.entries === 0 || relativeOffset > this.relativeOffsetAt(this.entries - 1), "offset index entries must increase");
    assert(this.entries === 0 || position > this.positionAt(this.entries - 1), "offset index positions must increase");
    const at = this.reserveOne();
    this.view.setInt32(at, relativeOffset);
    this.view.setInt32(at + 4, position);
  }

  /** Byte position of the last indexed batch starting at or before `relativeOffset` (0 if none). */
  lookup(native: NativeApi, relativeOffset: number): number {
    if (this.entries === 0) return 0;
    const slot = native.offsetIndexLookup(this.bytes, this.entries, relativeOffset);
    return slot < 0 ? 0 : this.positionAt(slot);
  }

  /** Slot of the last entry at or before `relativeOffset`, or -1 if none (lookup's entry). */
  lookupSlot(native: NativeApi, relativeOffset: number): number {
    if (this.entries === 0) return -1;
    return native.offsetIndexLookup(this.bytes, this.entries, relativeOffset);
  }

  /** Drop entries whose position is at or past `position` (truncation). */
  truncateToPosition(position: number): void {
    let keep = this.entries;
    while (keep > 0 && this.positionAt(keep - 1) >= position) keep--;
    this.truncateEntries(keep);
  }

  /** Whether the entries are plausible for a segment file of `logSizeBytes`: increasing, in range. */
  isSane(logSizeBytes: number): boolean {
    let previousOffset = -1;
    let previousPosition = -1;
    for (let slot = 0; slot < this.entries; slot++) {
      const relative = this.relativeOffsetAt(slot);
      const position = this.positionAt(slot);
      if (relative <= previousOffset || position <= previousPosition || position >= logSizeBytes) return false;
      previousOffset = relative;
      previousPosition = position;
    }
    return true;
  }
}

export class TimeIndex extends EntryBuffer {
  constructor(initial?: Uint8Array) {
    super(timeIndexEntryBytes, initial);
  }

  timestampAt(slot: number): bigint {
    return this.view.getBigInt64(slot * timeIndexEntryBytes);
  }

  relativeOffsetAt(slot: number): number {
    return this.view.getInt32(slot * timeIndexEntryBytes + 8);
  }

  lastTimestamp(): bigint {
    return this.entries === 0 ? -1n : this.timestampAt(this.entries - 1);
  }

  /** Append when the timestamp is larger than the last entry's (Kafka's maybeAppend). */
  maybeAppend(timestampMs: bigint, relativeOffset: number): void {
    if (timestampMs < 0n || timestampMs <= this.lastTimestamp()) return;
    assert(this.entries === 0 || relativeOffset > this.relativeOffsetAt(this.entries - 1), "time index offsets must increase");
    const at = this.reserveOne();
    this.view.setBigInt64(at, timestampMs);
    this.view.setInt32(at + 8, relativeOffset);
  }

  /** Relative offset of the last entry with timestamp <= `timestampMs`, or -1 if none. */
  lookup(native: NativeApi, timestampMs: bigint): number {
    const slot = this.lookupSlot(native, timestampMs);
    return slot < 0 ? -1 : this.relativeOffsetAt(slot);
  }

  /** Slot of the last entry with timestamp <= `timestampMs`, or -1 (lookup's entry). */
  lookupSlot(native: NativeApi, timestampMs: bigint): number {
    if (this.entries === 0) return -1;
    return native.timeIndexLookup(this.bytes, this.entries, timestampMs);
  }

  /** Drop entries at or past `relativeOffset` (truncation). */
  truncateToOffset(relativeOffset: number): void {
    let keep = this.entries;
    while (keep > 0 && this.relativeOffsetAt(keep - 1) >= relativeOffset) keep--;
    this.truncateEntries(keep);
  }

  isSane(relativeOffsetEnd: number): boolean {
    let previousTimestamp = -1n;
    let previousOffset = -1;
    for (let slot = 0; slot < this.entries; slot++) {
      const timestamp = this.timestampAt(slot);
      const relative = this.relativeOffsetAt(slot);
      if (timestamp <= previousTimestamp || relative <= previousOffset || relative >= relativeOffsetEnd) return false;
      previousTimestamp = timestamp;
      previousOffset = relative;
    }
    return true;
  }
}
