// The HttpBackend over this node's own subsystems: the cluster store (topics, configs, partition
// logs), the shared produce policy (cluster/partition-append.ts, the same path as the Kafka
// Produce handler), the shared long-poll wait (cluster/partition-wait.ts, the same as Kafka's
// Fetch) and the group coordinator (the same object Kafka's JoinGroup/SyncGroup reach).
//
// Records read from a log are decoded here and their bytes COPIED: the log hands out views of
// mapped segment memory, and a view that reaches a Response body detaches the whole mapping's
// ArrayBuffer (BUN-NOTES.md). Every read is released before this returns.

import { isInternalTopic } from "../cluster/index.ts";
import { appendToPartition, PartitionUnavailable, type Acks } from "../cluster/partition-append.ts";
import { waitForData } from "../cluster/partition-wait.ts";
import { ConfigSource, type ConfigSourceValue } from "../config/index.ts";
import type { BrokerContext } from "../kafka/context.ts";
import { applyIncrementalChanges, ConfigOperation, describeBrokerConfigs, describeTopicConfigs, type DescribedConfig } from "../kafka/config-resources.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { buildRecordBatch, decodeRecords, isControl, isLogAppendTime, splitBatches } from "../protocol/record-batch.ts";
import type { PartitionLog } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import type {
  ConfigChange,
  ConfigInfo,
  ConsumedRecord,
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

/** A copy that owns its memory (never a view of a mapped segment). */
function owned(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : bytes.slice();
}

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

  private logOf(topic: string, partition: number): PartitionLog {
    const log = this.broker.cluster.partitionLog(topic, partition);
    if (!log) {
      const code = this.broker.cluster.unavailableCode(topic, partition);
      if (code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new PartitionUnavailable(code, topic, partition);
      const exists = this.broker.cluster.topic(topic) !== undefined;
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, exists ? `topic '${topic}' has no partition ${partition}` : `topic '${topic}' does not exist`);
    }
    return log;
  }

  async cluster() {
    const advertised = this.broker.advertised;
    return {
      clusterId: this.broker.clusterId,
      controllerId: this.broker.nodeId,
      brokers: [{ nodeId: this.broker.nodeId, host: advertised.host, port: advertised.port }],
    };
  }

  private topicInfo(name: string): TopicInfo | undefined {
    const topic = this.broker.cluster.topic(name);
    if (!topic) return undefined;
    const nodeId = this.broker.nodeId;
    const partitions: PartitionInfo[] = [];
    for (let partition = 0; partition < topic.partitions; partition++) {
      const log = this.broker.cluster.partitionLog(name, partition);
      partitions.push({
        partition,
        leader: nodeId,
        replicas: [nodeId],
        isr: [nodeId],
        logStartOffset: log?.logStartOffset ?? 0n,
        highWatermark: log?.highWatermark ?? 0n,
        logEndOffset: log?.logEndOffset ?? 0n,
        sizeBytes: log?.sizeBytes ?? 0,
      });
    }
    return { name, id: topic.id, internal: topic.internal, replicationFactor: 1, partitions };
  }

  async listTopics(): Promise<TopicInfo[]> {
    return this.broker.cluster.topics().map((topic) => this.topicInfo(topic.name)!).sort((a, b) => a.name.localeCompare(b.name));
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.topicInfo(name);
  }

  async partitionCount(name: string): Promise<number | undefined> {
    return this.broker.cluster.topic(name)?.partitions;
  }

  async createTopic(name: string, partitions: number, configs: Record<string, string>, validateOnly: boolean): Promise<TopicInfo> {
    const created = await this.broker.cluster.createTopic(name, partitions, configs, validateOnly);
    if (validateOnly) {
      return { name, id: created.id, internal: created.internal, replicationFactor: 1, partitions: [] };
    }
    return this.topicInfo(name)!;
  }

  async deleteTopic(name: string): Promise<void> {
    if (isInternalTopic(name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `internal topic ${name} cannot be deleted`);
    await this.broker.cluster.deleteTopic(name);
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
    await this.broker.cluster.setTopicConfigs(name, overrides, validateOnly);
  }

  async describeBrokerConfigs(nodeId: number): Promise<ConfigInfo[]> {
    return describeBrokerConfigs(this.broker, String(nodeId), { keys: null, includeSynonyms: true, includeDocumentation: true }).map(configInfo);
  }

  async produce(topic: string, partition: number, records: ProduceRecord[], acks: Acks, createIfMissing = false): Promise<ProduceResult> {
    assert(records.length > 0, "produce needs at least one record");
    if (isInternalTopic(topic)) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${topic}`);
    if (createIfMissing && !this.broker.cluster.topic(topic)) {
      try {
        await this.broker.cluster.createTopic(topic, this.broker.config.values["num.partitions"]);
      } catch (error) {
        if (!(error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw error;
      }
    }
    const nowMs = BigInt(this.broker.clock.nowMs());
    const timestamps = records.map((record) => record.timestampMs ?? nowMs);
    const batch = buildRecordBatch({
      records: records.map((record, index) => ({ key: record.key, value: record.value, headers: record.headers, timestamp: timestamps[index]! })),
      baseTimestamp: timestamps[0]!,
    });
    const result = await appendToPartition(this.broker, topic, partition, batch, acks);
    assert(result.lastOffset - result.baseOffset === BigInt(records.length - 1), "one offset per record");
    const logAppendTime = result.logAppendTimeMs >= 0n;
    return {
      partition,
      baseOffset: result.baseOffset,
      timestampsMs: logAppendTime ? timestamps.map(() => result.logAppendTimeMs) : timestamps,
      timestampType: logAppendTime ? "LogAppendTime" : "CreateTime",
    };
  }

  async partitionOffsets(topic: string, partition: number) {
    const log = this.logOf(topic, partition);
    return { logStartOffset: log.logStartOffset, highWatermark: log.highWatermark };
  }

  async waitForRecords(topic: string, partition: number, offset: bigint, waitMs: number, signal: AbortSignal): Promise<void> {
    const log = this.logOf(topic, partition);
    if (log.highWatermark > offset) return;
    await waitForData([log], waitMs, signal);
  }

  /** The offset a read starts at: the given one, or the first at/after a timestamp (the high watermark if none). */
  private startOffset(log: PartitionLog, request: ReadRequest): bigint {
    if (request.timestampMs !== undefined) return log.offsetForTimestamp(request.timestampMs)?.offset ?? log.highWatermark;
    assert(request.offset !== undefined, "a read needs an offset or a timestamp");
    return request.offset;
  }

  async read(request: ReadRequest): Promise<ReadResult> {
    let log = this.logOf(request.topic, request.partition);
    let offset = this.startOffset(log, request);
    if (offset < log.logStartOffset || offset > log.highWatermark) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${offset} is outside ${log.logStartOffset}…${log.highWatermark} of ${request.topic}-${request.partition}`);
    }
    if (offset === log.highWatermark && request.waitMs > 0) {
      await waitForData([log], request.waitMs, request.signal ?? new AbortController().signal);
      // The topic may have been deleted while we waited.
      log = this.logOf(request.topic, request.partition);
      if (request.timestampMs !== undefined) offset = this.startOffset(log, request);
    }
    return this.readNow(log, request, offset);
  }

  private readNow(log: PartitionLog, request: ReadRequest, offset: bigint): ReadResult {
    const result: ReadResult = { records: [], nextOffset: offset, logStartOffset: log.logStartOffset, highWatermark: log.highWatermark };
    if (offset >= log.highWatermark) return result;
    const read = log.read(offset, Math.max(1, request.maxBytes));
    try {
      for (const chunk of read.chunks) {
        for (const batch of splitBatches(chunk, { verifyCrc: false, allowTruncatedTail: true })) {
          const header = batch.header;
          const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
          if (lastOffset + 1n > result.nextOffset) result.nextOffset = lastOffset + 1n;
          if (isControl(header.attributes)) continue;
          const timestampType = isLogAppendTime(header.attributes) ? "LogAppendTime" : "CreateTime";
          for (const record of decodeRecords(batch)) {
            if (record.offset < offset) continue;
            result.records.push(this.consumed(request, record, timestampType));
          }
        }
      }
      if (read.bytes > 0) this.broker.metrics?.topicBytesOut.inc({ topic: request.topic }, read.bytes);
      result.highWatermark = read.highWatermark;
      result.logStartOffset = read.logStartOffset;
    } finally {
      read.release();
    }
    return result;
  }

  private consumed(request: ReadRequest, record: ReturnType<typeof decodeRecords>[number], timestampType: ConsumedRecord["timestampType"]): ConsumedRecord {
    return {
      topic: request.topic,
      partition: request.partition,
      offset: record.offset,
      timestampMs: record.timestamp,
      timestampType,
      key: owned(record.key),
      value: owned(record.value),
      headers: record.headers.map((header) => ({ key: header.key, value: owned(header.value) })),
    };
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────

  private get groups() {
    const groups = this.broker.groups;
    if (!groups) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the group coordinator is not running");
    return groups;
  }

  joinGroup(input: Parameters<HttpBackend["joinGroup"]>[0]) {
    return this.groups.coordinator.joinGroup(input);
  }

  syncGroup(input: Parameters<HttpBackend["syncGroup"]>[0]) {
    return this.groups.coordinator.syncGroup(input);
  }

  async heartbeat(input: Parameters<HttpBackend["heartbeat"]>[0]) {
    return this.groups.coordinator.heartbeat(input);
  }

  async leaveGroup(groupId: string, members: Parameters<HttpBackend["leaveGroup"]>[1]) {
    return this.groups.coordinator.leaveGroup(groupId, members);
  }

  commitOffsets(input: Parameters<HttpBackend["commitOffsets"]>[0]) {
    return this.groups.coordinator.commitOffsets(input);
  }

  async fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null) {
    return this.groups.coordinator.fetchOffsets(groupId, topics);
  }

  async listGroups() {
    return this.groups.coordinator.listGroups();
  }

  async describeGroup(groupId: string) {
    return this.groups.coordinator.describeGroup(groupId);
  }

  async groupLag(groupId: string) {
    return this.groups.groupLag(groupId);
  }

  // ── health and metrics ───────────────────────────────────────────────────────────────────

  isReady(): boolean {
    return this.options.isReady();
  }

  partitionMetrics() {
    const metrics = [];
    for (const log of this.broker.logs.all()) {
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
