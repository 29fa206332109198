// Control batches: the COMMIT / ABORT markers that end a transaction on a partition (Kafka's
// EndTransactionMarker). A control batch holds one record, never compressed:
//   key   = version int16 (0) | type int16 (0 ABORT, 1 COMMIT)
//   value = version int16 (0) | coordinatorEpoch int32
// with the transactional and control attribute bits set and the producer's id and epoch in the
// batch header (base sequence -1).

import { assert } from "../../util/assert.ts";
import { buildRecordBatch } from "./build.ts";
import { batchHeaderBytes, isControl } from "./layout.ts";
import { newRecordFields, readRecordFields } from "./records.ts";

export const ControlType = { abort: 0, commit: 1 } as const;
export type ControlTypeId = (typeof ControlType)[keyof typeof ControlType];
/** Not a control batch, or one whose record is not a transaction marker. */
export const NOT_A_MARKER = -1;

export interface MarkerInput {
  producerId: bigint;
  producerEpoch: number;
  type: ControlTypeId;
  coordinatorEpoch: number;
  timestampMs: number;
}

/** One marker batch (base offset 0: the log stamps it). */
export function buildMarkerBatch(input: MarkerInput): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setInt16(2, input.type);
  const value = new Uint8Array(6);
  new DataView(value.buffer).setInt32(2, input.coordinatorEpoch);
  return buildRecordBatch({
    records: [{ key, value, timestamp: input.timestampMs }],
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
  });
}

const fields = newRecordFields();

/** The marker type of a whole control batch (`batch` starts at its base offset field), or NOT_A_MARKER. */
export function markerTypeOf(batch: Uint8Array, attributes: number): number {
  if (!isControl(attributes)) return NOT_A_MARKER;
  if (batch.length <= batchHeaderBytes) return NOT_A_MARKER;
  if (readRecordFields(batch, batchHeaderBytes, batch.length, fields) !== null) return NOT_A_MARKER;
  if (fields.keyLength < 4) return NOT_A_MARKER;
  const view = new DataView(batch.buffer, batch.byteOffset + fields.keyStart, fields.keyLength);
  if (view.getInt16(0) !== 0) return NOT_A_MARKER;
  const type = view.getInt16(2);
  assert(Number.isInteger(type), "an int16 is an integer");
  return type === ControlType.abort || type === ControlType.commit ? type : NOT_A_MARKER;
}
