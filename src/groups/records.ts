// The keys and values of __consumer_offsets records, in Apache Kafka's own layouts, so that the
// topic reads the same as Kafka's (tools that decode it, e.g. kafka-console-consumer's
// OffsetsMessageFormatter, understand it). All classic (non-flexible) versions:
//
//   key version 0/1  OffsetCommitKey   group string, topic string, partition int32
//   key version 2    GroupMetadataKey  group string
//   OffsetCommitValue v0: offset int64, metadata string, timestamp int64
//                     v1: offset, metadata, commitTimestamp int64, expireTimestamp int64
//                     v2: offset, metadata, commitTimestamp
//                     v3: offset, leaderEpoch int32, metadata, commitTimestamp   (written)
//   GroupMetadataValue v0..v3: protocolType string, generation int32, protocol string?,
//                     leader string?, [v2+] currentStateTimestamp int64, members[]:
//                     memberId, [v3+] groupInstanceId string?, clientId, clientHost,
//                     [v1+] rebalanceTimeout int32, sessionTimeout int32, subscription bytes,
//                     assignment bytes                                            (v3 written)
//
// A null value is a tombstone: the offset (or the group) was deleted.

import { ProtocolDecodeError } from "../protocol/errors.ts";
import { Reader, Writer } from "../protocol/primitives.ts";
import type { GroupMetadataSnapshot, GroupRecord } from "./group-store.ts";
import type { CommittedOffset } from "./types.ts";

export function encodeRecordKey(record: GroupRecord): Uint8Array {
  const writer = new Writer(64);
  if (record.kind === "offset") {
    writer.int16(1);
    writer.string(record.groupId);
    writer.string(record.topic);
    writer.int32(record.partition);
  } else {
    writer.int16(2);
    writer.string(record.groupId);
  }
  return writer.finish();
}

export function encodeRecordValue(record: GroupRecord): Uint8Array | null {
  if (record.value === null) return null;
  return record.kind === "offset" ? encodeOffsetValue(record.value) : encodeGroupValue(record.value);
}

function encodeOffsetValue(value: CommittedOffset): Uint8Array {
  const writer = new Writer(64);
  writer.int16(3);
  writer.int64(value.offset);
  writer.int32(value.leaderEpoch);
  writer.string(value.metadata);
  writer.int64(BigInt(value.commitTimestampMs));
  return writer.finish();
}

function encodeGroupValue(value: GroupMetadataSnapshot): Uint8Array {
  const writer = new Writer(256);
  writer.int16(3);
  writer.string(value.protocolType);
  writer.int32(value.generationId);
  writer.nullableString(value.protocolName);
  writer.nullableString(value.leader);
  writer.int64(BigInt(value.stateTimestampMs));
  writer.int32(value.members.length);
  for (const member of value.members) {
    writer.string(member.memberId);
    writer.nullableString(member.groupInstanceId);
    writer.string(member.clientId);
    writer.string(member.clientHost);
    writer.int32(member.rebalanceTimeoutMs);
    writer.int32(member.sessionTimeoutMs);
    writer.bytesField(member.subscription);
    writer.bytesField(member.assignment);
  }
  return writer.finish();
}

/**
 * Decodes one record of __consumer_offsets. Returns null for key versions this broker does not
 * know (Kafka skips them too); throws ProtocolDecodeError for bytes that do not parse.
 */
export function decodeRecord(key: Uint8Array, value: Uint8Array | null): GroupRecord | null {
  const reader = new Reader(key);
  const keyVersion = reader.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const groupId = reader.string();
    const topic = reader.string();
    const partition = reader.int32();
    return { kind: "offset", groupId, topic, partition, value: value === null ? null : decodeOffsetValue(value) };
  }
  if (keyVersion === 2) {
    const groupId = reader.string();
    return { kind: "group", groupId, value: value === null ? null : decodeGroupValue(value) };
  }
  return null;
}

function decodeOffsetValue(bytes: Uint8Array): CommittedOffset {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < 0 || version > 3) throw new ProtocolDecodeError(`OffsetCommitValue version ${version}`);
  const offset = reader.int64();
  const leaderEpoch = version >= 3 ? reader.int32() : -1;
  const metadata = reader.string();
  const commitTimestampMs = Number(reader.int64());
  return { offset, leaderEpoch, metadata, commitTimestampMs };
}

function decodeGroupValue(bytes: Uint8Array): GroupMetadataSnapshot {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < 0 || version > 3) throw new ProtocolDecodeError(`GroupMetadataValue version ${version}`);
  const protocolType = reader.string();
  const generationId = reader.int32();
  const protocolName = reader.nullableString();
  const leader = reader.nullableString();
  const stateTimestampMs = version >= 2 ? Number(reader.int64()) : Date.now();
  const count = reader.arrayLength();
  const members: GroupMetadataSnapshot["members"] = [];
  for (let index = 0; index < count; index++) {
    const memberId = reader.string();
    const groupInstanceId = version >= 3 ? reader.nullableString() : null;
    const clientId = reader.string();
    const clientHost = reader.string();
    const sessionFirst = version === 0;
    const rebalanceTimeoutMs = sessionFirst ? -1 : reader.int32();
    const sessionTimeoutMs = reader.int32();
    const subscription = reader.bytesField().slice();
    const assignment = reader.bytesField().slice();
    members.push({
      memberId, groupInstanceId, clientId, clientHost, sessionTimeoutMs,
      rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs,
      subscription, assignment,
    });
  }
  return { protocolType, generationId, protocolName, leader, stateTimestampMs, members };
}
