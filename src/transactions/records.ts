// Records of __transaction_state in Apache Kafka's layouts (TransactionLogKey /
// TransactionLogValue), so the topic reads as Kafka's does:
//
//   key   version int16 = 0 | transactional_id string
//   value version int16 = 0 | producer_id int64 | producer_epoch int16 | transaction_timeout_ms int32 |
//         transaction_status int8 | transaction_partitions [topic string, partition_ids [int32]] (nullable) |
//         transaction_last_update_timestamp_ms int64 | transaction_start_timestamp_ms int64
//
// A null value (tombstone) removes an expired transactional id. Version 1 values (flexible, with
// tagged fields, written by Kafka 4) are not read: Runnel writes version 0 only.

import { ProtocolDecodeError } from "../protocol/errors.ts";
import { Reader, Writer } from "../protocol/primitives.ts";
import { isTransactionStateId, type TransactionMetadata } from "./state.ts";

export function encodeTransactionKey(transactionalId: string): Uint8Array {
  const writer = new Writer(32 + transactionalId.length * 3);
  writer.int16(0);
  writer.string(transactionalId);
  return writer.finish();
}

export function encodeTransactionValue(metadata: TransactionMetadata): Uint8Array {
  const writer = new Writer(128);
  writer.int16(0);
  writer.int64(metadata.producerId);
  writer.int16(metadata.producerEpoch);
  writer.int32(metadata.timeoutMs);
  writer.int8(metadata.state);
  writer.int32(metadata.partitions.size);
  for (const [topic, partitions] of metadata.partitions) {
    writer.string(topic);
    writer.int32(partitions.size);
    for (const partition of [...partitions].sort((left, right) => left - right)) writer.int32(partition);
  }
  writer.int64(BigInt(metadata.lastUpdateTimestampMs));
  writer.int64(BigInt(metadata.startTimestampMs));
  return writer.finish();
}

export function decodeTransactionKey(bytes: Uint8Array): string {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version !== 0) throw new ProtocolDecodeError(`unknown __transaction_state key version ${version}`);
  return reader.string();
}

/** The metadata of a value, or null for a tombstone. */
export function decodeTransactionValue(transactionalId: string, bytes: Uint8Array | null): TransactionMetadata | null {
  if (bytes === null) return null;
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version !== 0) throw new ProtocolDecodeError(`unsupported __transaction_state value version ${version}`);
  const producerId = reader.int64();
  const producerEpoch = reader.int16();
  const timeoutMs = reader.int32();
  const state = reader.int8();
  if (!isTransactionStateId(state)) throw new ProtocolDecodeError(`unknown transaction state ${state}`);
  const partitions = new Map<string, Set<number>>();
  const topicCount = reader.int32();
  for (let topic = 0; topic < topicCount; topic++) {
    const name = reader.string();
    const count = reader.int32();
    const set = new Set<number>();
    for (let index = 0; index < count; index++) set.add(reader.int32());
    partitions.set(name, set);
  }
  const lastUpdateTimestampMs = Number(reader.int64());
  const startTimestampMs = Number(reader.int64());
  return { transactionalId, producerId, producerEpoch, timeoutMs, state, partitions, lastUpdateTimestampMs, startTimestampMs };
}
