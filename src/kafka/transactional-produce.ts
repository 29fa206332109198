// Which Produce requests may carry transactional batches (attributes bit 4) — the one place that
// decides it, so that transactions (issue 14) change only this file.
//
// Kafka (KafkaApis.handleProduceRequest): a request holding any transactional batch needs a
// transactional id the client is authorized for, else the whole request is answered
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every partition. Runnel has no transactions yet, so a
// transactional id is refused the same way (as InitProducerId refuses it), and a transactional
// batch without one too: accepted, it was acknowledged and then hidden from read_committed
// consumers forever (no commit marker ever comes).

import { ErrorCode } from "../protocol/errors.ts";
import type { ProduceRequestTopicProduceData } from "../protocol/generated/index.ts";
import { Field, attributesAt, batchSizeAt, isTransactional, logOverheadBytes } from "../protocol/record-batch.ts";

/** Whether any batch of the records has the transactional bit (walks batch headers only). */
export function holdsTransactionalBatch(records: Uint8Array | null): boolean {
  if (records === null) return false;
  let position = 0;
  while (position + Field.attributes + 2 <= records.length) {
    if (isTransactional(attributesAt(records, position))) return true;
    const size = batchSizeAt(records, position);
    if (size <= logOverheadBytes) return false; // malformed: the storage's validation answers it
    position += size;
  }
  return false;
}

/** The request-wide refusal of a Produce request, or null when it may go on. */
export function transactionalRefusal(transactionalId: string | null, topics: readonly ProduceRequestTopicProduceData[]): { errorCode: number; message: string } | null {
  if (transactionalId !== null) return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: "transactions are not supported" };
  for (const topic of topics) {
    for (const partition of topic.partitionData) {
      if (holdsTransactionalBatch(partition.records)) {
        return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, message: "transactional records need a transactional id (transactions are not supported)" };
      }
    }
  }
  return null;
}
