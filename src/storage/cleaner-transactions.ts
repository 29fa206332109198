// What the log cleaner does with transactions (Kafka's CleanedTransactionMetadata), over one
// cleaning pass that reads a log's cleanable segments in offset order:
//   - a transactional batch of an aborted transaction (the producer-state's aborted list: same
//     producer id, base offset between the transaction's first offset and its ABORT marker) is
//     removed whole, and its records never count as the latest value of their key;
//   - a COMMIT / ABORT marker may go once no record of its transaction is left (every batch of
//     the producer since its previous marker was removed, in this pass or an earlier one) — the
//     cleaner then removes it once its segment is past delete.retention.ms, as tombstones: a
//     read_committed consumer part-way through the log must still see the abort.
// The cleanable range ends below the last stable offset (log-cleaner-hooks.ts), so every
// transaction seen here is decided.

import { isTransactional, type RecordBatchHeader } from "../protocol/record-batch.ts";
import type { AbortedTransaction } from "./types.ts";

export class CleanedTransactions {
  private readonly abortedByProducer = new Map<bigint, AbortedTransaction[]>();
  /** Producer id → whether a record of its current transaction (the batches since its last marker) was kept. */
  private readonly kept = new Map<bigint, boolean>();

  constructor(aborted: readonly AbortedTransaction[]) {
    for (const transaction of aborted) {
      let list = this.abortedByProducer.get(transaction.producerId);
      if (!list) this.abortedByProducer.set(transaction.producerId, (list = []));
      list.push(transaction);
    }
  }

  /** Whether a data batch belongs to an aborted transaction (then it is removed whole). */
  isAborted(header: RecordBatchHeader): boolean {
    if (!isTransactional(header.attributes)) return false;
    const list = this.abortedByProducer.get(header.producerId);
    return list !== undefined && list.some((transaction) => transaction.firstOffset <= header.baseOffset && header.baseOffset <= transaction.lastOffset);
  }

  /** A transactional data batch read: whether any of its records is kept. */
  dataRead(header: RecordBatchHeader, anyKept: boolean): void {
    if (!isTransactional(header.attributes)) return;
    this.kept.set(header.producerId, (this.kept.get(header.producerId) ?? false) || anyKept);
  }

  /** A marker read (it ends its producer's transaction): true when no record of that transaction is left. */
  markerRead(header: RecordBatchHeader): boolean {
    const anyKept = this.kept.get(header.producerId) ?? false;
    this.kept.delete(header.producerId);
    return !anyKept;
  }
}
