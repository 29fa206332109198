// Values the group coordinator takes and gives. No wire versions here: the Kafka handlers map these
// to and from each API version; the HTTP API and the CLI use them as they are.

export type GroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

export const GROUP_STATES: readonly GroupState[] = ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"];

export interface ProtocolOffer {
  name: string;
  metadata: Uint8Array;
}

export interface JoinGroupInput {
  groupId: string;
  /** "" for a first join. */
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  /** -1 (JoinGroup v0): the session timeout is used. */
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolOffer[];
  /** KIP-394 (JoinGroup v4+): a first join gets MEMBER_ID_REQUIRED and a member id to come back with. */
  requireKnownMemberId: boolean;
}

export interface JoinGroupMember {
  memberId: string;
  groupInstanceId: string | null;
  metadata: Uint8Array;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  /** Filled for the leader only. */
  members: JoinGroupMember[];
}

export interface SyncGroupInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** Null when the request version does not carry it (SyncGroup < v5). */
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Uint8Array }[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Uint8Array;
}

export interface HeartbeatInput {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveMemberInput {
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface CommittedOffset {
  offset: bigint;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
}

export interface OffsetCommitInput {
  groupId: string;
  /** -1 for a "simple" commit from outside the group (only accepted while the group is Empty). */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: { name: string; partitions: { partition: number; offset: bigint; leaderEpoch: number; metadata: string | null }[] }[];
}

export interface PartitionErrors {
  topics: { name: string; partitions: { partition: number; errorCode: number }[] }[];
}

export interface OffsetFetchPartition {
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchPartition[] }[];
}

export interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The member's metadata for the chosen protocol (empty unless Stable, as Kafka). */
  metadata: Uint8Array;
  assignment: Uint8Array;
}

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  state: GroupState;
  protocolType: string;
  protocolName: string;
  members: DescribedMember[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: bigint;
  logEndOffset: bigint;
  lag: bigint;
}
