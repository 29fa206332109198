// Which partition of __consumer_offsets holds a group: Kafka's
// `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`, with Java's String.hashCode (over
// UTF-16 code units, int32 overflow), so that a group lands on the same partition as in Kafka.

import { assert } from "../util/assert.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";

/** Java's String.hashCode: s[0]*31^(n-1) + … + s[n-1], in int32 arithmetic. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index++) {
    hash = (Math.imul(hash, 31) + text.charCodeAt(index)) | 0;
  }
  return hash;
}

/** Kafka's Utils.abs: Math.abs except that Integer.MIN_VALUE maps to 0. */
function kafkaAbs(value: number): number {
  return value === -2147483648 ? 0 : Math.abs(value);
}

export function offsetsPartitionFor(groupId: string, partitionCount: number): number {
  assert(Number.isInteger(partitionCount) && partitionCount > 0, "offsets.topic.num.partitions must be > 0");
  return kafkaAbs(javaStringHashCode(groupId)) % partitionCount;
}
