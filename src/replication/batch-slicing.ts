// Cutting a leader's fetched record bytes to what a follower appends. A read starts at the batch
// that holds the fetch offset, so its first batches may end below the follower's log end (after a
// DeleteRecords in the middle of a batch, or a compacted gap); and a response may end in a partial
// batch (a broker may cut the last batch at the byte limit, as Kafka's do). Both are dropped here,
// by the batch headers alone (protocol/record-batch's batchesIn: whole batches, headers as they are;
// the storage checks each CRC when it appends).
//
//   [batch ≤ end][batch ≤ end][batch reaching past end][batch][partial…]
//                             ▲ returned from here      ▲ to here

import { batchesIn, lastOffsetOf } from "../protocol/record-batch.ts";

/** The whole batches of `records` whose last offset is at or past `fromOffset` (a view, no copy). */
export function batchesFrom(records: Uint8Array, fromOffset: bigint): Uint8Array {
  let start = -1;
  let end = 0;
  for (const batch of batchesIn(records)) {
    const position = batch.bytes.byteOffset - records.byteOffset;
    if (start < 0 && lastOffsetOf(batch.header) >= fromOffset) start = position;
    end = position + batch.bytes.length;
  }
  return start < 0 ? records.subarray(0, 0) : records.subarray(start, end);
}
