// Consumer-group administration: list (every broker is asked: each knows only the groups it
// coordinates), describe, delete, and committed offsets: fetch, commit (as an admin, outside any
// generation: Kafka accepts that only while the group has no members), delete; and lag.

import { decodeAssignment } from "../protocol/consumer-protocol.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { DeleteGroupsApi } from "../protocol/generated/delete-groups.ts";
import { DescribeGroupsApi } from "../protocol/generated/describe-groups.ts";
import { ListGroupsApi } from "../protocol/generated/list-groups.ts";
import { OffsetCommitApi } from "../protocol/generated/offset-commit.ts";
import { OffsetDeleteApi } from "../protocol/generated/offset-delete.ts";
import { OffsetFetchApi } from "../protocol/generated/offset-fetch.ts";
import type { KafkaClient } from "./client.ts";
import { checkCode, responseError } from "./errors.ts";
import { listOffsets, OffsetSpec } from "./offsets.ts";

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: string;
  type: string;
  coordinator: number;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Decoded from the member's consumer-protocol assignment; empty for other protocol types. */
  assignment: { topic: string; partitions: number[] }[];
}

export interface GroupDescription {
  groupId: string;
  errorCode: number;
  state: string;
  protocolType: string;
  protocol: string;
  members: GroupMemberDescription[];
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
  metadata?: string | null;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** -1 when the group has no committed offset for the partition. */
  committed: bigint;
  logEnd: bigint;
  /** logEnd − committed; null without a committed offset. */
  lag: bigint | null;
  /** Member holding the partition, when the group is a consumer group with members. */
  memberId: string | null;
  clientId: string | null;
}

/** Groups of every broker, sorted by id. */
export async function listGroups(client: KafkaClient): Promise<ListedGroup[]> {
  const brokers = await client.retry("ListGroups", () => client.brokerConnections());
  const lists = await Promise.all(brokers.map(({ nodeId, connection }) => client.retry(`ListGroups on ${nodeId}`, async () => {
    const response = await connection.request(ListGroupsApi, {});
    checkCode(response.errorCode, `ListGroups on broker ${nodeId}`);
    return response.groups.map((group) => ({
      groupId: group.groupId, protocolType: group.protocolType, state: group.groupState, type: group.groupType, coordinator: nodeId,
    }));
  })));
  return lists.flat().sort((left, right) => left.groupId.localeCompare(right.groupId));
}

function decodeMemberAssignment(protocolType: string, bytes: Uint8Array): { topic: string; partitions: number[] }[] {
  if (protocolType !== "consumer" || bytes.length === 0) return [];
  try {
    return decodeAssignment(bytes).value.assignedPartitions.map((entry) => ({ topic: entry.topic, partitions: [...entry.partitions].sort((a, b) => a - b) }));
  } catch {
    return []; // an assignment we cannot read is shown as none, not a failure of the whole call
  }
}

export async function describeGroups(client: KafkaClient, groupIds: readonly string[]): Promise<GroupDescription[]> {
  return Promise.all(groupIds.map((groupId) => client.retry(`DescribeGroups ${groupId}`, async () => {
    const connection = await client.coordinatorConnection(groupId);
    const response = await connection.request(DescribeGroupsApi, { groups: [groupId] });
    const group = response.groups[0];
    if (!group) throw responseError(ErrorCode.UNKNOWN_SERVER_ERROR, `DescribeGroups ${groupId}: empty answer`);
    if (group.errorCode === ErrorCode.NOT_COORDINATOR || group.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      || group.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
      throw responseError(group.errorCode, `DescribeGroups ${groupId}`);
    }
    return {
      groupId: group.groupId,
      errorCode: group.errorCode,
      state: group.groupState,
      protocolType: group.protocolType,
      protocol: group.protocolData,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        assignment: decodeMemberAssignment(group.protocolType, member.memberAssignment),
      })),
    };
  }, { group: groupId })));
}

export async function deleteGroups(client: KafkaClient, groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
  return Promise.all(groupIds.map((groupId) => client.retry(`DeleteGroups ${groupId}`, async () => {
    const connection = await client.coordinatorConnection(groupId);
    const response = await connection.request(DeleteGroupsApi, { groupsNames: [groupId] });
    const result = response.results[0]!;
    if (result.errorCode === ErrorCode.NOT_COORDINATOR || result.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      throw responseError(result.errorCode, `DeleteGroups ${groupId}`);
    }
    return { groupId, errorCode: result.errorCode };
  }, { group: groupId })));
}

/** Committed offsets of a group: of the given topics' partitions, or of everything it committed. */
export async function fetchCommittedOffsets(
  client: KafkaClient,
  groupId: string,
  topics?: readonly { topic: string; partitions: readonly number[] }[],
): Promise<TopicPartitionOffset[]> {
  return client.retry(`OffsetFetch ${groupId}`, async () => {
    const connection = await client.coordinatorConnection(groupId);
    const version = connection.versionFor(OffsetFetchApi, topics ? 1 : 2);
    const requested = topics ? topics.map((entry) => ({ name: entry.topic, partitionIndexes: [...entry.partitions] })) : null;
    const response = await connection.request(OffsetFetchApi, version >= 8
      ? { groups: [{ groupId, topics: requested }] }
      : { groupId, topics: requested }, { version });
    const group = version >= 8 ? response.groups[0] : { topics: response.topics, errorCode: response.errorCode };
    if (!group) throw responseError(ErrorCode.UNKNOWN_SERVER_ERROR, `OffsetFetch ${groupId}: empty answer`);
    checkCode(group.errorCode, `OffsetFetch ${groupId}`);
    const offsets: TopicPartitionOffset[] = [];
    for (const topic of group.topics) {
      for (const partition of topic.partitions) {
        checkCode(partition.errorCode, `OffsetFetch ${groupId} ${topic.name}-${partition.partitionIndex}`);
        offsets.push({ topic: topic.name, partition: partition.partitionIndex, offset: partition.committedOffset, metadata: partition.metadata });
      }
    }
    return offsets.sort(comparePartitions);
  }, { group: groupId });
}

/**
 * Commits offsets for a group. Without `member`, as an admin tool does (generation -1): the
 * coordinator accepts that only while the group is empty (else UNKNOWN_MEMBER_ID / REBALANCE…).
 */
export async function commitOffsets(
  client: KafkaClient,
  groupId: string,
  offsets: readonly TopicPartitionOffset[],
  member: { generationId: number; memberId: string; groupInstanceId?: string | null } = { generationId: -1, memberId: "" },
): Promise<void> {
  const topics = new Map<string, { partitionIndex: number; committedOffset: bigint; committedMetadata: string | null }[]>();
  for (const entry of offsets) {
    const list = topics.get(entry.topic) ?? [];
    list.push({ partitionIndex: entry.partition, committedOffset: entry.offset, committedMetadata: entry.metadata ?? "" });
    topics.set(entry.topic, list);
  }
  await client.retry(`OffsetCommit ${groupId}`, async () => {
    const connection = await client.coordinatorConnection(groupId);
    const response = await connection.request(OffsetCommitApi, {
      groupId,
      generationIdOrMemberEpoch: member.generationId,
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId ?? null,
      topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
    });
    for (const topic of response.topics) {
      for (const partition of topic.partitions) checkCode(partition.errorCode, `OffsetCommit ${groupId} ${topic.name}-${partition.partitionIndex}`);
    }
  }, { group: groupId });
}

/** Removes a group's committed offsets of some partitions (the group must not consume them). */
export async function deleteCommittedOffsets(
  client: KafkaClient,
  groupId: string,
  partitions: readonly { topic: string; partition: number }[],
): Promise<void> {
  const topics = new Map<string, { partitionIndex: number }[]>();
  for (const entry of partitions) topics.set(entry.topic, [...(topics.get(entry.topic) ?? []), { partitionIndex: entry.partition }]);
  await client.retry(`OffsetDelete ${groupId}`, async () => {
    const connection = await client.coordinatorConnection(groupId);
    const response = await connection.request(OffsetDeleteApi, { groupId, topics: [...topics].map(([name, list]) => ({ name, partitions: list })) });
    checkCode(response.errorCode, `OffsetDelete ${groupId}`);
    for (const topic of response.topics) {
      for (const partition of topic.partitions) checkCode(partition.errorCode, `OffsetDelete ${groupId} ${topic.name}-${partition.partitionIndex}`);
    }
  }, { group: groupId });
}

/**
 * Lag per partition: every partition the group committed an offset for or a member holds, with
 * its committed offset and log end offset.
 */
export async function groupLag(client: KafkaClient, groupId: string): Promise<PartitionLag[]> {
  const [description] = await describeGroups(client, [groupId]);
  if (description && description.errorCode !== ErrorCode.NONE) throw new KafkaError(description.errorCode, `group ${groupId}`);
  const committed = await fetchCommittedOffsets(client, groupId);
  const owners = new Map<string, GroupMemberDescription>();
  for (const member of description?.members ?? []) {
    for (const entry of member.assignment) for (const partition of entry.partitions) owners.set(`${entry.topic}\u0000${partition}`, member);
  }
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const entry of committed) keys.set(`${entry.topic}\u0000${entry.partition}`, entry);
  for (const key of owners.keys()) {
    if (keys.has(key)) continue;
    const [topic, partition] = key.split("\u0000");
    keys.set(key, { topic: topic!, partition: Number(partition) });
  }
  const partitions = [...keys.values()].sort(comparePartitions);
  const ends = partitions.length === 0 ? [] : await listOffsets(client, partitions.map((entry) => ({ ...entry, timestamp: OffsetSpec.latest })));
  const committedByKey = new Map(committed.map((entry) => [`${entry.topic}\u0000${entry.partition}`, entry.offset]));
  return partitions.map((entry, index) => {
    const key = `${entry.topic}\u0000${entry.partition}`;
    const offset = committedByKey.get(key) ?? -1n;
    const logEnd = ends[index]!.offset;
    const owner = owners.get(key);
    return {
      topic: entry.topic,
      partition: entry.partition,
      committed: offset,
      logEnd,
      lag: offset >= 0n ? (logEnd > offset ? logEnd - offset : 0n) : null,
      memberId: owner?.memberId ?? null,
      clientId: owner?.clientId ?? null,
    };
  });
}

export function comparePartitions(left: { topic: string; partition: number }, right: { topic: string; partition: number }): number {
  return left.topic === right.topic ? left.partition - right.partition : left.topic.localeCompare(right.topic);
}
