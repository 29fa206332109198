// The one seam between the HTTP routes and the broker: every operation a route needs, and nothing
// about sockets, JSON or HTTP statuses. Routes never reach storage, the cluster store or the group
// coordinator themselves; they call a `HttpBackend`.
//
// Today one implementation serves everything from this node's own subsystems
// (local-backend.ts). With replication, a partition led by another broker (or a group coordinated
// by one) is served by a second implementation that forwards the call to that broker; the node
// picks per call which one answers, and no route changes.
//
// Contract, for every implementation:
//   - Operating errors are thrown as KafkaError with Kafka's codes (UNKNOWN_TOPIC_OR_PARTITION,
//     OFFSET_OUT_OF_RANGE, MESSAGE_TOO_LARGE, INVALID_CONFIG, …); a failed produce changed nothing.
//   - Bytes handed back (record keys, values, header values) are owned by the caller: never views
//     of mapped segment memory, which a Response stream would detach (BUN-NOTES.md).
//   - Appends for one partition are applied in call order (single writer per partition).
//   - Everything is asynchronous, so that a remote implementation fits the same shape.

import type {
  DescribedGroup,
  HeartbeatInput,
  JoinGroupInput,
  JoinGroupResult,
  LeaveGroupResult,
  LeaveMemberInput,
  ListedGroup,
  OffsetCommitInput,
  OffsetFetchResult,
  PartitionErrors,
  PartitionLag,
  SyncGroupInput,
  SyncGroupResult,
} from "../groups/types.ts";

/** Kafka producer acks: -1 ("all": on stable storage / every in-sync replica), 1 (in the leader's log), 0. */
export type Acks = -1 | 0 | 1;

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface ClusterInfo {
  clusterId: string;
  controllerId: number;
  brokers: BrokerInfo[];
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  logStartOffset: bigint;
  highWatermark: bigint;
  logEndOffset: bigint;
  sizeBytes: number;
}

export interface TopicInfo {
  name: string;
  /** Kafka's text form of the topic UUID. */
  id: string;
  internal: boolean;
  replicationFactor: number;
  partitions: PartitionInfo[];
}

export interface ConfigInfo {
  name: string;
  value: string | null;
  isDefault: boolean;
  isReadOnly: boolean;
  isSensitive: boolean;
  /** Kafka's source names: DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG, … */
  source: string;
  synonyms: { name: string; value: string | null; source: string }[];
  documentation: string | null;
}

/** One change of an alter-configs call: SET a value, or DELETE the override (back to the default). */
export interface ConfigChange {
  name: string;
  operation: "SET" | "DELETE" | "APPEND" | "SUBTRACT";
  value: string | null;
}

export interface RecordHeaderBytes {
  key: string;
  value: Uint8Array | null;
}

/** A record to produce: bytes as they will be stored. */
export interface ProduceRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeaderBytes[];
  /** Milliseconds since the epoch; absent: the broker's clock at the append. */
  timestampMs?: bigint;
}

export interface ProduceResult {
  partition: number;
  /** Offset of the first record; the others follow one by one. */
  baseOffset: bigint;
  /** Timestamp of each record as stored (LogAppendTime: the broker's clock for all). */
  timestampsMs: bigint[];
  timestampType: "CreateTime" | "LogAppendTime";
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestampMs: bigint;
  timestampType: "CreateTime" | "LogAppendTime";
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeaderBytes[];
}

export interface ReadRequest {
  topic: string;
  partition: number;
  /** Start here (inclusive). Exactly one of offset and timestampMs. */
  offset?: bigint;
  /** Start at the first record whose timestamp is at or after this. */
  timestampMs?: bigint;
  /** About this many batch bytes at most (the first batch whole even when larger, as Kafka). */
  maxBytes: number;
  /** Long poll: wait this long for the first record when there is none yet (0: answer at once). */
  waitMs: number;
  /** Aborted when the client goes away: the wait ends. */
  signal?: AbortSignal;
}

export interface ReadResult {
  records: ConsumedRecord[];
  /** Where the next read continues (past the last record returned, or the start offset). */
  nextOffset: bigint;
  logStartOffset: bigint;
  highWatermark: bigint;
}

export interface PartitionOffsets {
  logStartOffset: bigint;
  highWatermark: bigint;
}

export interface PartitionMetrics {
  topic: string;
  partition: number;
  logStartOffset: bigint;
  highWatermark: bigint;
  logEndOffset: bigint;
  sizeBytes: number;
}

/** One partition's replica set as this node's metadata image has it (for /metrics). */
export interface PartitionReplicationState {
  topic: string;
  partition: number;
  /** -1: no leader (offline). */
  leader: number;
  replicas: number;
  isr: number;
}

/** The metadata quorum as its leader sees it (DescribeQuorum); times are wall-clock ms, -1 unknown. */
export interface QuorumInfo {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: bigint;
  voters: { replicaId: number; logEndOffset: bigint; lastFetchTimestamp: number; lastCaughtUpTimestamp: number }[];
  observers: { replicaId: number; logEndOffset: bigint; lastFetchTimestamp: number; lastCaughtUpTimestamp: number }[];
}

/** A reassignment in progress (ListPartitionReassignments). */
export interface ReassignmentInfo {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** How far a broker's decommissioning (drain) is. */
export interface DrainStatus {
  brokerId: number;
  decommissioning: boolean;
  replicasLeft: number;
  leadersLeft: number;
  reassignmentsInProgress: number;
}

export interface HttpBackend {
  // ── cluster and topics ─────────────────────────────────────────────────────────────────
  cluster(): Promise<ClusterInfo>;
  /** Null while no quorum leader answers. */
  quorum(): Promise<QuorumInfo | null>;
  /** Start (or cancel) draining a broker (docs/elastic.md). Throws KafkaError BROKER_ID_NOT_REGISTERED. */
  decommissionBroker(nodeId: number, decommissioning: boolean): Promise<void>;
  /**
   * Add or remove one voter of the metadata quorum (KIP-853, docs/elastic.md); resolves once the new
   * voter set is committed. Throws KafkaError (DUPLICATE_VOTER, VOTER_NOT_FOUND, REQUEST_TIMED_OUT…).
   */
  changeVoters(change: { add: number; endpoint?: { host: string; port: number } } | { remove: number }): Promise<void>;
  /** Undefined when the broker is not registered. */
  drainStatus(nodeId: number): Promise<DrainStatus | undefined>;
  listReassignments(): Promise<ReassignmentInfo[]>;
  listTopics(): Promise<TopicInfo[]>;
  /** Undefined when the topic does not exist. */
  describeTopic(name: string): Promise<TopicInfo | undefined>;
  /** The topic's partition count, undefined when it does not exist (cheap: every produce asks). */
  partitionCount(name: string): Promise<number | undefined>;
  /** replicationFactor -1 (default): the broker's default.replication.factor. */
  createTopic(name: string, partitions: number, configs: Record<string, string>, validateOnly: boolean, replicationFactor?: number): Promise<TopicInfo>;
  deleteTopic(name: string): Promise<void>;
  describeTopicConfigs(name: string): Promise<ConfigInfo[]>;
  alterTopicConfigs(name: string, changes: ConfigChange[], validateOnly: boolean): Promise<void>;
  describeBrokerConfigs(nodeId: number): Promise<ConfigInfo[]>;

  // ── records ─────────────────────────────────────────────────────────────────────────────
  /**
   * Append records to one partition as one RecordBatch v2, through the same validation and append
   * path as the Kafka Produce handler. With `createIfMissing`, an unknown topic is created first
   * (num.partitions). Throws KafkaError; resolves once `acks` is satisfied.
   */
  produce(topic: string, partition: number, records: ProduceRecord[], acks: Acks, createIfMissing?: boolean): Promise<ProduceResult>;
  /** Read records from one partition, long polling when there are none yet. */
  read(request: ReadRequest): Promise<ReadResult>;
  partitionOffsets(topic: string, partition: number): Promise<PartitionOffsets>;
  /** Resolves when the partition's high watermark moves past `offset`, after `waitMs`, or on abort. */
  waitForRecords(topic: string, partition: number, offset: bigint, waitMs: number, signal: AbortSignal): Promise<void>;

  // ── consumer groups (the same coordinator as Kafka's JoinGroup / SyncGroup) ────────────────
  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult>;
  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult>;
  heartbeat(input: HeartbeatInput): Promise<number>;
  leaveGroup(groupId: string, members: LeaveMemberInput[]): Promise<LeaveGroupResult>;
  commitOffsets(input: OffsetCommitInput): Promise<PartitionErrors>;
  fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null): Promise<OffsetFetchResult>;
  /** Every group of the cluster. */
  listGroups(): Promise<ListedGroup[]>;
  /** The groups this node coordinates (for /metrics: each group's lag is reported once, by its coordinator). */
  coordinatedGroups(): Promise<ListedGroup[]>;
  /** errorCode GROUP_ID_NOT_FOUND (or state Dead) when unknown. */
  describeGroup(groupId: string): Promise<DescribedGroup>;
  groupLag(groupId: string): Promise<PartitionLag[]>;

  // ── health and metrics sources ─────────────────────────────────────────────────────────────
  /** Logs recovered, every listener up, and this broker registered and not fenced (readyz). */
  isReady(): boolean;
  /** Every partition of the cluster, from this node's metadata image. */
  partitionStates(): PartitionReplicationState[];
  partitionMetrics(): PartitionMetrics[];
  /** Open Kafka protocol connections. */
  kafkaConnectionCount(): number;
}
