// Cutting a leader's fetched record bytes to what a follower appends. A read starts at the batch
// that holds the fetch offset, so its first batches may end below the follower's log end (after a
// DeleteRecords in the middle of a batch, or a compacted gap); and a response may end in a partial
// batch (a broker may cut the last batch at the byte limit, as Kafka's do). Both are dropped here,
// by the batch headers alone (RecordBatch v2: baseOffset int64 @0, batchLength int32 @8,
// lastOffsetDelta int32 @23).
//
//   [batch ≤ end][batch ≤ end][batch reaching past end][batch][partial…]
//                             ▲ returned from here      ▲ to here

const batchHeaderBytes = 61;
const logOverheadBytes = 12;

/** The whole batches of `records` whose last offset is at or past `fromOffset` (a view, no copy). */
export function batchesFrom(records: Uint8Array, fromOffset: bigint): Uint8Array {
  const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
  let position = 0;
  let start = -1;
  while (position + batchHeaderBytes <= records.length) {
    const batchLength = view.getInt32(position + 8);
    const end = position + logOverheadBytes + batchLength;
    if (batchLength < batchHeaderBytes - logOverheadBytes || end > records.length) break;
    if (start < 0) {
      const lastOffset = view.getBigInt64(position) + BigInt(view.getInt32(position + 23));
      if (lastOffset >= fromOffset) start = position;
    }
    position = end;
  }
  return start < 0 ? records.subarray(0, 0) : records.subarray(start, position);
}
