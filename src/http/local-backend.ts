// The HttpBackend over this node's own subsystems: the published metadata image (topics, brokers,
// leaders, ISR), the controller's operations through ClusterAdmin (create/delete topics, configs),
// the partition replicas (reads through the leader replica, bounded by the high watermark), the
// shared produce policy (replication/partition-append.ts, the same path as the Kafka Produce
// handler), the shared long-poll wait (replication/long-poll.ts, the same as Kafka's Fetch) and the
// group coordinator (the same object Kafka's JoinGroup/SyncGroup reach). A partition this node does
// not lead answers NOT_LEADER_OR_FOLLOWER here; in a cluster, ClusterBackend (cluster-backend.ts)
// forwards those calls to the leader.
//
// Records read from a log are decoded (record-walk.ts) and their bytes COPIED: the log hands out views of
// mapped segment memory, and a view that reaches a Response body detaches the whole mapping's
// ArrayBuffer (BUN-NOTES.md). Every read is released before this returns.

import { decommissioningBrokers } from "../cluster/controller/reassignment-operations.ts";
import { endpointOf, isInternalTopic, liveBrokers, partitionOf, type TopicImage } from "../cluster/index.ts";
import { OFFSETS_TOPIC } from "../groups/index.ts";
import { appendToPartition, PartitionUnavailable, READ_UNCOMMITTED, waitForData, type Acks, type Partition } from "../replication/index.ts";
import { ConfigSource, type ConfigSourceValue } from "../config/index.ts";
import type { BrokerContext } from "../kafka/context.ts";
import { applyIncrementalChanges, ConfigOperation, describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from "../kafka/config-resources.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { buildRecordBatch } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import { collectRecords } from "./record-walk.ts";
import type {
  ConfigChange,
  ConfigInfo,
  HttpBackend,
  PartitionInfo,
  ProduceRecord,
  ProduceResult,
  ReadRequest,
  ReadResult,
  TopicInfo,
} from "./backend.ts";

const sourceNames = new Map<number, string>(Object.entries(ConfigSource).map(([name, code]) => [code, name]));

function sourceName(source: ConfigSourceValue | number): string {
  return sourceNames.get(source) ?? "UNKNOWN";
}

function configInfo(described: DescribedConfig): ConfigInfo {
  return {
    name: described.name,
    value: described.value,
    isDefault: described.isDefault,
    isReadOnly: described.readOnly,
    isSensitive: described.isSensitive,
    source: sourceName(described.configSource),
    synonyms: described.synonyms.map((synonym) => ({ name: synonym.name, value: synonym.value, source: sourceName(synonym.source) })),
    documentation: described.documentation,
  };
}

const operationCodes = { SET: ConfigOperation.SET, DELETE: ConfigOperation.DELETE, APPEND: ConfigOperation.APPEND, SUBTRACT: ConfigOperation.SUBTRACT } as const;

/** How long an acks=all produce may wait for the in-sync replicas (Kafka clients' default request.timeout.ms). */
export const produceTimeoutMs = 30_000;

export interface LocalBackendOptions {
  /** True once every listener is up (node.ts flips it); false again while shutting down. */
  isReady(): boolean;
  kafkaConnectionCount(): number;
}

export class LocalBackend implements HttpBackend {
  constructor(
    private readonly broker: BrokerContext,
    private readonly options: LocalBackendOptions,
  ) {}

  /** The partition's leader replica on this node, or the error Kafka answers (see ReplicaManager). */
  private replicaOf(topic: string, partition: number): Partition {
    try {
      return this.broker.replicas.leaderPartition(topic, partition);
    } catch (error) {
      if (!(error instanceof PartitionUnavailable) || error.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw error;
      const exists = this.broker.metadata.image.topicsByName.has(topic);
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, exists ? `topic '${topic}' has no partition ${partition}` : `topic '${topic}' does not exist`);
    }
  }

  async cluster() {
    const image = this.broker.metadata.image;
    const brokers = liveBrokers(image).flatMap((registration) => {
      const endpoint = registration.endpoints.find((candidate) => candidate.name === this.broker.advertised.name);
      return endpoint ? [{ nodeId: registration.id, host: endpoint.host, port: endpoint.port }] : [];
    });
    const active = this.broker.admin.activeControllerId;
    const controllerId = brokers.some((broker) => broker.nodeId === active) ? active : (brokers[0]?.nodeId ?? -1);
    return { clusterId: this.broker.clusterId, controllerId, brokers };
  }

  async quorum() {
    const description = await this.broker.quorum?.describeQuorum() ?? null;
    if (description === null) return null;
    return {
      leaderId: description.leaderId, leaderEpoch: description.leaderEpoch, highWatermark: description.highWatermark,
      voters: description.currentVoters.map((replica) => ({ ...replica })), observers: description.observers.map((replica) => ({ ...replica })),
    };
  }

  async decommissionBroker(nodeId: number, decommissioning: boolean) {
    await this.broker.admin.setDecommissioning(nodeId, decommissioning);
  }

  async changeVoters(change: { add: number; endpoint?: { host: string; port: number } } | { remove: number }) {
    const quorum = this.broker.quorum;
    if (!quorum) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, "this node has no metadata quorum");
    await quorum.changeVoters(change, 30_000);
  }

  async drainStatus(nodeId: number) {
    const image = this.broker.metadata.image;
    if (!image.brokers.has(nodeId)) return undefined;
    const partitions = [...image.topicsByName.values()].flatMap((topic) => topic.partitions);
    return {
      brokerId: nodeId,
      decommissioning: decommissioningBrokers(image).has(nodeId),
      replicasLeft: partitions.filter((partition) => partition.replicas.includes(nodeId)).length,
      leadersLeft: partitions.filter((partition) => partition.leader === nodeId).length,
      reassignmentsInProgress: partitions.filter((partition) => partition.addingReplicas.length > 0 || partition.removingReplicas.length > 0).length,
    };
  }

  async listReassignments() {
    const image = this.broker.metadata.image;
    return [...image.topicsByName.values()].flatMap((topic) => topic.partitions
      .filter((partition) => partition.addingReplicas.length > 0 || partition.removingReplicas.length > 0)
      .map((partition) => ({
        topic: topic.name, partition: partition.partition, replicas: [...partition.replicas],
        addingReplicas: [...partition.addingReplicas], removingReplicas: [...partition.removingReplicas],
      })));
  }

  private topicInfo(topic: TopicImage): TopicInfo {
    const partitions: PartitionInfo[] = topic.partitions.map((registration) => {
      const log = this.broker.replicas.partition(topic.name, registration.partition)?.log;
      return {
        partition: registration.partition,
        leader: registration.leader,
        replicas: [...registration.replicas],
        isr: [...registration.isr],
        logStartOffset: log?.logStartOffset ?? 0n,
        highWatermark: log?.highWatermark ?? 0n,
        logEndOffset: log?.logEndOffset ?? 0n,
        sizeBytes: log?.sizeBytes ?? 0,
      };
    });
    return { name: topic.name, id: topic.id, internal: topic.internal, replicationFactor: topic.partitions[0]?.replicas.length ?? 0, partitions };
  }

  async listTopics(): Promise<TopicInfo[]> {
    return [...this.broker.metadata.image.topicsByName.values()].map((topic) => this.topicInfo(topic)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    const topic = this.broker.metadata.image.topicsByName.get(name);
    return topic ? this.topicInfo(topic) : undefined;
  }

  async partitionCount(name: string): Promise<number | undefined> {
    return this.broker.metadata.image.topicsByName.get(name)?.partitions.length;
  }

  async createTopic(name: string, partitions: number, configs: Record<string, string>, validateOnly: boolean, replicationFactor = -1): Promise<TopicInfo> {
    const created = await this.broker.admin.createTopic({ name, numPartitions: partitions, replicationFactor, assignments: null, configs }, validateOnly);
    if (validateOnly) {
      return { name, id: created.topicId, internal: isInternalTopic(name), replicationFactor: created.replicationFactor, partitions: [] };
    }
    return this.topicInfo(this.broker.metadata.image.topicsByName.get(name)!);
  }

  async deleteTopic(name: string): Promise<void> {
    if (isInternalTopic(name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `internal topic ${name} cannot be deleted`);
    await this.broker.admin.deleteTopic(name);
    this.broker.metrics?.forgetTopic(name);
  }

  async describeTopicConfigs(name: string): Promise<ConfigInfo[]> {
    return describeTopicConfigs(this.broker, name, { keys: null, includeSynonyms: true, includeDocumentation: true }).map(configInfo);
  }

  async alterTopicConfigs(name: string, changes: ConfigChange[], validateOnly: boolean): Promise<void> {
    const overrides = applyIncrementalChanges(
      this.broker,
      name,
      changes.map((change) => ({ name: change.name, configOperation: operationCodes[change.operation], value: change.value })),
    );
    await this.broker.admin.alterTopicConfigs(name, overrides, validateOnly);
  }

  async describeBrokerConfigs(nodeId: number): Promise<ConfigInfo[]> {
    return describeBrokerConfigs(this.broker, String(nodeId), { keys: null, includeSynonyms: true, includeDocumentation: true }).map(configInfo);
  }

  async produce(topic: string, partition: number, records: ProduceRecord[], acks: Acks, createIfMissing = false): Promise<ProduceResult> {
    assert(records.length > 0, "produce needs at least one record");
    if (isInternalTopic(topic)) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${topic}`);
    if (createIfMissing) await this.createIfMissing(topic);
    const { batch, timestamps } = this.batchOf(records);
    const result = await appendToPartition(this.broker, topic, partition, batch, acks, produceTimeoutMs);
    assert(result.lastOffset - result.baseOffset === BigInt(records.length - 1), "one offset per record");
    const logAppendTime = result.logAppendTimeMs >= 0n;
    return {
      partition,
      baseOffset: result.baseOffset,
      timestampsMs: logAppendTime ? timestamps.map(() => result.logAppendTimeMs) : timestamps,
      timestampType: logAppendTime ? "LogAppendTime" : "CreateTime",
    };
  }

  /** Creates `topic` (num.partitions, default replication) unless it exists; waits until it is in the image. */
  protected async createIfMissing(topic: string): Promise<void> {
    if (this.broker.metadata.image.topicsByName.has(topic)) return;
    try {
      await this.broker.admin.createTopic({ name: topic, numPartitions: -1, replicationFactor: -1, assignments: null, configs: {} });
    } catch (error) {
      if (!(error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw error;
      // Created by someone else, perhaps not committed yet: ensureTopic waits until it is here.
      await this.broker.admin.ensureTopic(topic);
    }
  }

  /** The records as one RecordBatch v2 (timestamps: given, else the broker's clock now). */
  protected batchOf(records: ProduceRecord[]): { batch: Uint8Array; timestamps: bigint[] } {
    const nowMs = BigInt(this.broker.clock.nowMs());
    const timestamps = records.map((record) => record.timestampMs ?? nowMs);
    const batch = buildRecordBatch({
      records: records.map((record, index) => ({ key: record.key, value: record.value, headers: record.headers, timestamp: timestamps[index]! })),
      baseTimestamp: timestamps[0]!,
    });
    return { batch, timestamps };
  }

  async partitionOffsets(topic: string, partition: number) {
    const replica = this.replicaOf(topic, partition);
    return { logStartOffset: replica.logStartOffset, highWatermark: replica.highWatermark };
  }

  async waitForRecords(topic: string, partition: number, offset: bigint, waitMs: number, signal: AbortSignal): Promise<void> {
    const replica = this.replicaOf(topic, partition);
    if (replica.highWatermark > offset) return;
    await waitForData([replica], waitMs, signal);
  }

  /** The offset a read starts at: the given one, or the first record at/after a timestamp (the high watermark if none). */
  private startOffset(replica: Partition, request: ReadRequest): bigint {
    if (request.timestampMs !== undefined) {
      const found = replica.fetchOffsetForTimestamp(request.timestampMs, READ_UNCOMMITTED).offset;
      return found >= 0n ? found : replica.highWatermark;
    }
    assert(request.offset !== undefined, "a read needs an offset or a timestamp");
    return request.offset;
  }

  async read(request: ReadRequest): Promise<ReadResult> {
    let replica = this.replicaOf(request.topic, request.partition);
    let offset = this.startOffset(replica, request);
    if (offset < replica.logStartOffset || offset > replica.highWatermark) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${offset} is outside ${replica.logStartOffset}…${replica.highWatermark} of ${request.topic}-${request.partition}`);
    }
    if (offset === replica.highWatermark && request.waitMs > 0) {
      await waitForData([replica], request.waitMs, request.signal ?? new AbortController().signal);
      // The topic may have been deleted (or the leadership moved) while we waited.
      replica = this.replicaOf(request.topic, request.partition);
      if (request.timestampMs !== undefined) offset = this.startOffset(replica, request);
    }
    return this.readNow(replica, request, offset);
  }

  private readNow(replica: Partition, request: ReadRequest, offset: bigint): ReadResult {
    const result: ReadResult = { records: [], nextOffset: offset, logStartOffset: replica.logStartOffset, highWatermark: replica.highWatermark };
    if (offset >= replica.highWatermark) return result;
    const read = replica.readRecords(offset, Math.max(1, request.maxBytes), READ_UNCOMMITTED);
    try {
      for (const chunk of read.chunks) collectRecords(chunk, request.topic, request.partition, offset, result);
      if (read.bytes > 0) this.broker.metrics?.topicBytesOut.inc({ topic: request.topic }, read.bytes);
      result.highWatermark = read.highWatermark;
      result.logStartOffset = read.logStartOffset;
    } finally {
      read.release();
    }
    return result;
  }


  // ── groups ───────────────────────────────────────────────────────────────────────────────

  private get groups() {
    const groups = this.broker.groups;
    if (!groups) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the group coordinator is not running");
    return groups;
  }

  /** The coordinator, if this node coordinates `groupId` now (else NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS). */
  private coordinatorFor(groupId: string) {
    const groups = this.groups;
    const code = groups.coordinatorError(groupId);
    if (code === ErrorCode.NOT_COORDINATOR) {
      // Name the coordinator (ClusterBackend forwards to it and retries on this code).
      const partition = groups.offsetsLog.partitionFor(groupId);
      const leader = partitionOf(this.broker.metadata.image, OFFSETS_TOPIC, partition)?.leader ?? -1;
      const endpoint = leader >= 0 ? endpointOf(this.broker.metadata.image, leader, this.broker.advertised.name) : undefined;
      throw new KafkaError(code, `group '${groupId}' is coordinated by node ${leader} (leader of ${OFFSETS_TOPIC}-${partition}` +
        `${endpoint ? `, Kafka listener ${endpoint.host}:${endpoint.port}` : ""}), not this node (${this.broker.nodeId})`);
    }
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `this node does not coordinate group '${groupId}' now`);
    return groups.coordinator;
  }

  async joinGroup(input: Parameters<HttpBackend["joinGroup"]>[0]) {
    return this.coordinatorFor(input.groupId).joinGroup(input);
  }

  async syncGroup(input: Parameters<HttpBackend["syncGroup"]>[0]) {
    return this.coordinatorFor(input.groupId).syncGroup(input);
  }

  async heartbeat(input: Parameters<HttpBackend["heartbeat"]>[0]) {
    return this.coordinatorFor(input.groupId).heartbeat(input);
  }

  async leaveGroup(groupId: string, members: Parameters<HttpBackend["leaveGroup"]>[1]) {
    return this.coordinatorFor(groupId).leaveGroup(groupId, members);
  }

  async commitOffsets(input: Parameters<HttpBackend["commitOffsets"]>[0]) {
    return this.coordinatorFor(input.groupId).commitOffsets(input);
  }

  async fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null) {
    return this.coordinatorFor(groupId).fetchOffsets(groupId, topics);
  }

  async listGroups() {
    return this.coordinatedGroups();
  }

  async coordinatedGroups() {
    const groups = this.groups;
    if (groups.partitions.anyLoading) throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "offsets partitions are still loading");
    return groups.coordinator.listGroups();
  }

  async describeGroup(groupId: string) {
    return this.coordinatorFor(groupId).describeGroup(groupId);
  }

  async groupLag(groupId: string) {
    this.coordinatorFor(groupId);
    return this.groups.groupLag(groupId);
  }

  // ── health and metrics ───────────────────────────────────────────────────────────────────

  isReady(): boolean {
    if (!this.options.isReady()) return false;
    // A member of the cluster: registered with the controller and not fenced (a node that lost its
    // session, or is shutting down, serves nothing it leads).
    const registration = this.broker.metadata.image.brokers.get(this.broker.nodeId);
    return registration !== undefined && !registration.fenced;
  }

  partitionStates() {
    const states = [];
    for (const topic of this.broker.metadata.image.topicsByName.values()) {
      for (const registration of topic.partitions) {
        states.push({ topic: topic.name, partition: registration.partition, leader: registration.leader, replicas: registration.replicas.length, isr: registration.isr.length });
      }
    }
    return states;
  }

  partitionMetrics() {
    const metrics = [];
    for (const replica of this.broker.replicas.all()) {
      const log = replica.log;
      metrics.push({
        topic: log.topic,
        partition: log.partition,
        logStartOffset: log.logStartOffset,
        highWatermark: log.highWatermark,
        logEndOffset: log.logEndOffset,
        sizeBytes: log.sizeBytes,
      });
    }
    return metrics;
  }

  kafkaConnectionCount(): number {
    return this.options.kafkaConnectionCount();
  }
}
