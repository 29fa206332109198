// The group calls of the HttpBackend (join, sync, heartbeat, leave, commit, offsets, describe,
// list) as the Kafka requests a consumer sends to its group coordinator, for a group coordinated by
// another broker of the cluster. ClusterBackend (cluster-backend.ts) decides where a call goes and
// retries while the coordinator moves; this file only maps values to requests and answers back.
//
// Why the member runs here and only its group requests travel: a consumer instance keeps state
// an HTTP client relies on between its requests (positions, delivered offsets, the long poll), so
// it lives on the broker the client talks to, and reaches the coordinator exactly as a Kafka
// client would (JoinGroup, SyncGroup, Heartbeat… over this node's peer connections). The
// coordinator sees an ordinary member (client id `runnel-http-<instance>`), so DescribeGroups
// shows it beside kafkajs or librdkafka members; when the coordinator dies, the calls find its
// successor through the metadata image like any consumer's FindCoordinator would.
//
// A coordinator's "not me / not yet" answers (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
// COORDINATOR_LOAD_IN_PROGRESS) are thrown as KafkaError so the caller retries elsewhere; every
// other error code is answered in the result, as the local coordinator does.

import type { PeerConnections } from "../client/peer-connections.ts";
import type {
  DescribedGroup,
  GroupState,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupResult,
  LeaveMemberInput,
  ListedGroup,
  OffsetCommitInput,
  OffsetFetchResult,
  PartitionErrors,
  SyncGroupInput,
  SyncGroupResult,
} from "../groups/types.ts";
import { GROUP_STATES } from "../groups/types.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { DescribeGroupsApi } from "../protocol/generated/describe-groups.ts";
import { HeartbeatApi } from "../protocol/generated/heartbeat.ts";
import { JoinGroupApi } from "../protocol/generated/join-group.ts";
import { LeaveGroupApi } from "../protocol/generated/leave-group.ts";
import { ListGroupsApi } from "../protocol/generated/list-groups.ts";
import { OffsetCommitApi } from "../protocol/generated/offset-commit.ts";
import { OffsetFetchApi } from "../protocol/generated/offset-fetch.ts";
import { SyncGroupApi } from "../protocol/generated/sync-group.ts";

/** Codes that mean "ask the coordinator again, maybe another node": nothing was done. */
export const coordinatorMovedCodes: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** Versions sent: each the first with every field the HttpBackend carries (and flexible where that came free). */
const versions = { join: 7, sync: 5, heartbeat: 4, leave: 4, commit: 8, offsetFetch: 7, describe: 5, list: 4 } as const;

/** A SyncGroup waits for the leader's assignment, at most the rebalance timeout (which SyncGroup does not carry: Kafka's max.poll.interval.ms default). */
const syncWaitMaxMs = 300_000;
/** Extra time a request may take beyond the wait the coordinator may impose on it. */
const answerMarginMs = 10_000;

/**
 * How one request reaches a coordinator: `purpose` names the peer connection ("parks" asks for a
 * connection of its own, since JoinGroup and SyncGroup are answered only when the rebalance ends).
 */
export type SendToCoordinator = <T>(coordinator: number, parks: boolean, request: (peers: PeerConnections, purpose: string) => Promise<T>) => Promise<T>;

function moved(code: number, what: string, coordinator: number): void {
  if (coordinatorMovedCodes.has(code)) throw new KafkaError(code, `${what} at node ${coordinator}`);
}

function stateOf(text: string): GroupState {
  return (GROUP_STATES as readonly string[]).includes(text) ? (text as GroupState) : "Dead";
}

export class GroupForwarding {
  constructor(private readonly send: SendToCoordinator) {}

  async joinGroup(coordinator: number, input: JoinGroupInput): Promise<JoinGroupResult> {
    const timeoutMs = Math.max(input.rebalanceTimeoutMs, input.sessionTimeoutMs) + answerMarginMs;
    let memberId = input.memberId;
    for (;;) {
      const response = await this.send(coordinator, true, (peers, purpose) => peers.request(coordinator, purpose, JoinGroupApi, {
        groupId: input.groupId, sessionTimeoutMs: input.sessionTimeoutMs, rebalanceTimeoutMs: input.rebalanceTimeoutMs,
        memberId, groupInstanceId: input.groupInstanceId, protocolType: input.protocolType, protocols: input.protocols, reason: null,
      }, { version: versions.join, timeoutMs, clientId: input.clientId }));
      moved(response.errorCode, "JoinGroup", coordinator);
      // JoinGroup v4+ answers a first join with a member id to come back with (KIP-394); a caller
      // that did not ask for that handshake gets the second answer, as from an older version.
      if (response.errorCode === ErrorCode.MEMBER_ID_REQUIRED && !input.requireKnownMemberId && memberId === "") {
        memberId = response.memberId;
        continue;
      }
      return {
        errorCode: response.errorCode, generationId: response.generationId, protocolType: response.protocolType,
        protocolName: response.protocolName, leader: response.leader, memberId: response.memberId,
        members: response.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, metadata: member.metadata })),
      };
    }
  }

  async syncGroup(coordinator: number, input: SyncGroupInput): Promise<SyncGroupResult> {
    const response = await this.send(coordinator, true, (peers, purpose) => peers.request(coordinator, purpose, SyncGroupApi, {
      groupId: input.groupId, generationId: input.generationId, memberId: input.memberId, groupInstanceId: input.groupInstanceId,
      protocolType: input.protocolType, protocolName: input.protocolName, assignments: input.assignments,
    }, { version: versions.sync, timeoutMs: syncWaitMaxMs + answerMarginMs }));
    moved(response.errorCode, "SyncGroup", coordinator);
    return { errorCode: response.errorCode, protocolType: response.protocolType, protocolName: response.protocolName, assignment: response.assignment };
  }

  async heartbeat(coordinator: number, input: HeartbeatInput): Promise<number> {
    const response = await this.send(coordinator, false, (peers, purpose) => peers.request(coordinator, purpose, HeartbeatApi, {
      groupId: input.groupId, generationId: input.generationId, memberId: input.memberId, groupInstanceId: input.groupInstanceId,
    }, { version: versions.heartbeat }));
    moved(response.errorCode, "Heartbeat", coordinator);
    return response.errorCode;
  }

  async leaveGroup(coordinator: number, groupId: string, members: LeaveMemberInput[]): Promise<LeaveGroupResult> {
    const response = await this.send(coordinator, false, (peers, purpose) => peers.request(coordinator, purpose, LeaveGroupApi, {
      groupId, memberId: "", members: members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, reason: null })),
    }, { version: versions.leave }));
    moved(response.errorCode, "LeaveGroup", coordinator);
    return {
      errorCode: response.errorCode,
      members: response.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, errorCode: member.errorCode })),
    };
  }

  async commitOffsets(coordinator: number, input: OffsetCommitInput): Promise<PartitionErrors> {
    const response = await this.send(coordinator, false, (peers, purpose) => peers.request(coordinator, purpose, OffsetCommitApi, {
      groupId: input.groupId, generationIdOrMemberEpoch: input.generationId, memberId: input.memberId, groupInstanceId: input.groupInstanceId,
      retentionTimeMs: -1n,
      topics: input.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({
          partitionIndex: partition.partition, committedOffset: partition.offset, committedLeaderEpoch: partition.leaderEpoch,
          commitTimestamp: -1n, committedMetadata: partition.metadata,
        })),
      })),
    }, { version: versions.commit }));
    // Nothing is written when the coordinator refuses the group: every partition carries the same code.
    for (const topic of response.topics) for (const partition of topic.partitions) moved(partition.errorCode, "OffsetCommit", coordinator);
    return { topics: response.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map((partition) => ({ partition: partition.partitionIndex, errorCode: partition.errorCode })) })) };
  }

  async fetchOffsets(coordinator: number, groupId: string, topics: { name: string; partitions: number[] }[] | null): Promise<OffsetFetchResult> {
    const response = await this.send(coordinator, false, (peers, purpose) => peers.request(coordinator, purpose, OffsetFetchApi, {
      groupId, topics: topics === null ? null : topics.map((topic) => ({ name: topic.name, partitionIndexes: topic.partitions })), groups: [], requireStable: false,
    }, { version: versions.offsetFetch }));
    moved(response.errorCode, "OffsetFetch", coordinator);
    return {
      errorCode: response.errorCode,
      topics: response.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({
          partition: partition.partitionIndex, offset: partition.committedOffset, leaderEpoch: partition.committedLeaderEpoch,
          metadata: partition.metadata, errorCode: partition.errorCode,
        })),
      })),
    };
  }

  async describeGroup(coordinator: number, groupId: string): Promise<DescribedGroup> {
    const response = await this.send(coordinator, false, (peers, purpose) => peers.request(coordinator, purpose, DescribeGroupsApi, {
      groups: [groupId], includeAuthorizedOperations: false,
    }, { version: versions.describe }));
    const group = response.groups.find((entry) => entry.groupId === groupId);
    if (!group) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `node ${coordinator} did not describe group '${groupId}'`);
    moved(group.errorCode, "DescribeGroups", coordinator);
    return {
      errorCode: group.errorCode, groupId, state: stateOf(group.groupState), protocolType: group.protocolType, protocolName: group.protocolData,
      members: group.members.map((member) => ({
        memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId, clientHost: member.clientHost,
        metadata: member.memberMetadata, assignment: member.memberAssignment,
      })),
    };
  }

  /** The groups one broker coordinates. */
  async listGroups(broker: number): Promise<ListedGroup[]> {
    const response = await this.send(broker, false, (peers, purpose) => peers.request(broker, purpose, ListGroupsApi, { statesFilter: [], typesFilter: [] }, { version: versions.list }));
    if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `ListGroups at node ${broker}`);
    return response.groups.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, state: stateOf(group.groupState) }));
  }
}
