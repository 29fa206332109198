// Offsets committed inside a transaction (Kafka's TxnOffsetCommit): written to __consumer_offsets
// at once, as a transactional batch of the producer, but held here — invisible to OffsetFetch —
// until the transaction's marker reaches that offsets partition: COMMIT makes them the group's
// committed offsets, ABORT drops them. Replaying a partition does the same with the batches and
// markers it meets, so a crash between the commit records and the marker loses nothing.

import type { CommittedOffset } from "./types.ts";

export interface PendingOffset {
  groupId: string;
  topic: string;
  partition: number;
  value: CommittedOffset;
}

export class PendingTransactionalOffsets {
  /** producer id → its pending offsets, in commit order (a later commit of a partition wins). */
  private readonly byProducer = new Map<bigint, PendingOffset[]>();

  add(producerId: bigint, offsets: readonly PendingOffset[]): void {
    const pending = this.byProducer.get(producerId) ?? [];
    pending.push(...offsets);
    this.byProducer.set(producerId, pending);
  }

  /**
   * The transaction of `producerId` ended on the offsets partitions `inPartition` accepts: returns
   * its pending offsets there (to apply on COMMIT; dropped either way) and keeps the others.
   */
  take(producerId: bigint, inPartition: (groupId: string) => boolean): PendingOffset[] {
    const pending = this.byProducer.get(producerId);
    if (!pending) return [];
    const taken = pending.filter((offset) => inPartition(offset.groupId));
    const kept = pending.filter((offset) => !inPartition(offset.groupId));
    if (kept.length === 0) this.byProducer.delete(producerId);
    else this.byProducer.set(producerId, kept);
    return taken;
  }

  /** Whether a group has offsets waiting for a transaction. */
  hasPending(groupId: string): boolean {
    for (const pending of this.byProducer.values()) if (pending.some((offset) => offset.groupId === groupId)) return true;
    return false;
  }

  /** Whether a group's partition has an offset waiting for a transaction (OffsetFetch's requireStable, KIP-447). */
  hasPendingFor(groupId: string, topic: string, partition: number): boolean {
    for (const pending of this.byProducer.values()) {
      if (pending.some((offset) => offset.groupId === groupId && offset.topic === topic && offset.partition === partition)) return true;
    }
    return false;
  }

  /** Forgets the pending offsets of groups `unloaded` accepts (their partition moved away). */
  unload(unloaded: (groupId: string) => boolean): void {
    for (const producerId of [...this.byProducer.keys()]) this.take(producerId, unloaded);
  }
}
