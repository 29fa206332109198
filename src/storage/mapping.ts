// Reference-counted read-only mappings of segment files, and the LRU that bounds how many are
// mapped at once across every partition of the node (so that 10,000 partitions stay well under
// vm.max_map_count, 65530 by default).
//
// A read takes a reference for as long as the caller uses the views it got (until
// ReadResult.release()). A mapping leaves service ("retired") when the LRU evicts it, when the
// segment is deleted or when it must be remapped larger; it is unmapped only once its last
// reference is released, because unmapping under a live view crashes the process.

import type { MappedRegion, NativeApi } from "../native/types.ts";
import { assert } from "../util/assert.ts";

export class SegmentMapping {
  private refs = 0;
  private retiredFlag = false;
  private unmapped = false;

  constructor(
    private readonly native: NativeApi,
    readonly region: MappedRegion,
    private readonly onUnmapped: (mapping: SegmentMapping) => void,
  ) {}

  get length(): number {
    return this.region.length;
  }

  get retired(): boolean {
    return this.retiredFlag;
  }

  get references(): number {
    return this.refs;
  }

  acquire(): void {
    assert(!this.unmapped, "acquire of an unmapped segment mapping");
    this.refs += 1;
  }

  release(): void {
    assert(this.refs > 0, "release of a segment mapping without references");
    this.refs -= 1;
    if (this.refs === 0 && this.retiredFlag) this.unmapNow();
  }

  /** Take out of service; unmapped at once when unused, else at the last release. */
  retire(): void {
    if (this.retiredFlag) return;
    this.retiredFlag = true;
    if (this.refs === 0) this.unmapNow();
  }

  private unmapNow(): void {
    assert(!this.unmapped && this.refs === 0, "unmap with live references");
    this.unmapped = true;
    this.native.unmap(this.region);
    this.onUnmapped(this);
  }
}

/** Something that holds a mapping the cache may ask it to drop. */
export interface MappingOwner {
  dropMapping(): void;
}

/**
 * Least-recently-used set of mapped segments: evicts (retires) the least recently used mappings
 * beyond `mappedSegmentsMax`. A retired mapping still held by a reader stays mapped until released.
 */
export class MappingCache {
  private readonly owners = new Set<MappingOwner>();

  constructor(readonly mappedSegmentsMax: number) {
    assert(Number.isInteger(mappedSegmentsMax) && mappedSegmentsMax >= 1, "mappedSegmentsMax must be >= 1");
  }

  /** Count of segments whose mapping is in service (retired ones still referenced not included). */
  get mappedCount(): number {
    return this.owners.size;
  }

  /** Mark an owner's mapping as just used (and newly mapped when it was not in the set). */
  touch(owner: MappingOwner): void {
    if (this.owners.has(owner)) this.owners.delete(owner);
    this.owners.add(owner);
    this.evictBeyondLimit(owner);
  }

  /** The owner dropped its mapping by itself (segment deleted, remapped, closed). */
  forget(owner: MappingOwner): void {
    this.owners.delete(owner);
  }

  private evictBeyondLimit(keep: MappingOwner): void {
    for (const owner of this.owners) {
      if (this.owners.size <= this.mappedSegmentsMax) return;
      if (owner === keep) continue;
      this.owners.delete(owner);
      owner.dropMapping();
    }
  }
}
