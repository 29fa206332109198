// Records of a read, from the RecordBatch bytes a log or a leader's Fetch answer handed over: the
// one batch walk of both read paths (local-backend.ts reads this node's log, cluster-backend.ts a
// forwarded Fetch). Control batches are skipped (their offsets still advance the position), records
// before the requested offset (a batch that starts earlier) are left out, and every byte handed
// back is COPIED: the input is a view of mapped segment memory or of one response buffer shared by
// every record, and a view that reaches a Response body detaches its whole ArrayBuffer (BUN-NOTES.md).

import { decodeRecords, isControl, isLogAppendTime, splitBatches } from "../protocol/record-batch.ts";
import type { ConsumedRecord, ReadResult } from "./backend.ts";

/** A copy that owns its memory. */
function owned(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : bytes.slice();
}

/**
 * Append to `result.records` the records of `bytes` (whole batches, a truncated last one ignored)
 * at or after `fromOffset`, and move `result.nextOffset` past the last batch seen.
 */
export function collectRecords(bytes: Uint8Array, topic: string, partition: number, fromOffset: bigint, result: ReadResult): void {
  for (const batch of splitBatches(bytes, { verifyCrc: false, allowTruncatedTail: true })) {
    const header = batch.header;
    const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
    if (lastOffset + 1n > result.nextOffset) result.nextOffset = lastOffset + 1n;
    if (isControl(header.attributes)) continue;
    const timestampType: ConsumedRecord["timestampType"] = isLogAppendTime(header.attributes) ? "LogAppendTime" : "CreateTime";
    for (const record of decodeRecords(batch)) {
      if (record.offset < fromOffset) continue;
      result.records.push({
        topic,
        partition,
        offset: record.offset,
        timestampMs: record.timestamp,
        timestampType,
        key: owned(record.key),
        value: owned(record.value),
        headers: record.headers.map((header) => ({ key: header.key, value: owned(header.value) })),
      });
    }
  }
}
