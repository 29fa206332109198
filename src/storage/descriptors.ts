// The file descriptors of segment files, bounded per node: an LRU that closes the descriptors of
// segments not used lately, so that a node with 20,000 partitions (or one partition with thousands
// of segments) stays under RLIMIT_NOFILE and leaves descriptors for client connections. Before it,
// every segment kept its descriptor open from recovery to deletion: at ~20,000 partitions under
// the default limit CreateTopics failed with EMFILE, new clients could not connect and a restart
// crashed on EMFILE before it could open the data directory.
//
// A segment reopens its file (one open(2), microseconds) on the next use. Mappings do not need the
// descriptor (a mapping outlives close(2)), so a mapped segment read by a consumer costs no
// descriptor. A descriptor is never closed while it has unsynced writes (`dirty`: Linux reports a
// writeback error only to descriptors open when it happened, so closing one before its fdatasync
// could hide a lost write) or while an fdatasync on it is in flight (the number could be reused by
// another file). Such owners are skipped and looked at again later.

import { assert } from "../util/assert.ts";

/** Something that holds a file descriptor the cache may ask it to close. */
export interface DescriptorOwner {
  /** Close the descriptor now if nothing needs it; true when it is closed (or was already). */
  closeIdleDescriptor(): boolean;
  /**
   * The cache is over its budget and could not close this one (unsynced writes): sync soon, so
   * that it can be closed next time. Without it, 20,000 partitions written without a flush policy
   * (Kafka's default) would keep 20,000 descriptors open until their next roll.
   */
  descriptorWanted?(): void;
}

/** Most owners looked at per eviction (owners that cannot close yet are skipped, not waited for). */
const evictionScanMax = 32;

export class DescriptorCache {
  /** Owners with an open descriptor, least recently used first (a Set keeps insertion order). */
  private readonly owners = new Set<DescriptorOwner>();
  /** The owner touched last: touching it again (every append of a busy partition) costs nothing. */
  private lastTouched: DescriptorOwner | null = null;

  constructor(readonly descriptorsMax: number) {
    assert(Number.isInteger(descriptorsMax) && descriptorsMax >= 1, "descriptorsMax must be >= 1");
  }

  /** Descriptors of segment files open right now. */
  get openCount(): number {
    return this.owners.size;
  }

  /** The owner used its descriptor (and opened it, when it was not in the set). */
  touch(owner: DescriptorOwner): void {
    if (owner === this.lastTouched) return;
    this.lastTouched = owner;
    if (this.owners.has(owner)) this.owners.delete(owner);
    this.owners.add(owner);
    if (this.owners.size > this.descriptorsMax) this.evict(this.owners.size - this.descriptorsMax, owner);
  }

  /** The owner closed its descriptor by itself (segment closed or deleted). */
  forget(owner: DescriptorOwner): void {
    this.owners.delete(owner);
    if (owner === this.lastTouched) this.lastTouched = null;
  }

  /**
   * Close up to `count` idle descriptors, least recently used first (never `keep`'s). Returns how
   * many were closed. Also called when an open(2) failed with EMFILE, to make room.
   */
  evict(count: number, keep?: DescriptorOwner): number {
    let closed = 0;
    let scanned = 0;
    const busy: DescriptorOwner[] = [];
    for (const owner of this.owners) {
      if (closed >= count || scanned >= evictionScanMax) break;
      scanned++;
      if (owner === keep) continue;
      this.owners.delete(owner);
      if (owner === this.lastTouched) this.lastTouched = null;
      if (owner.closeIdleDescriptor()) closed++;
      else {
        busy.push(owner);
        owner.descriptorWanted?.();
      }
    }
    // Owners that could not close go to the recent end: the next eviction looks at others first.
    for (const owner of busy) this.owners.add(owner);
    return closed;
  }
}
