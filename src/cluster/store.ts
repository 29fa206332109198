// The topic metadata store of a single node: every topic's name, id (a random UUID in Kafka's
// text form, kept for the topic's life and across restarts), partition count and config
// overrides. It owns the lifecycle of the topics' partition logs, so that handlers stay thin:
// create/delete/alter/add-partitions here touch both the metadata and the logs.
//
// Persistence: `<dataDir>/__cluster_metadata/topics.json`, rewritten whole and atomically
// (tmp + fsync + rename) after every change, one write at a time in change order. Crash safety:
//   - create: logs are created first, then the metadata is written. A crash in between leaves
//     log directories no topic names; at start they are adopted as topics (data is never dropped
//     on a guess).
//   - delete: the topic is removed and its name recorded under "deleting" in one write, then the
//     logs are deleted, then the name is cleared. At start, pending deletions are finished.
//
// Every mutation checks and reserves the name synchronously before its first await, so two
// concurrent requests for the same topic cannot both succeed.

import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ConfigError,
  parseTopicOverrides,
  resolveTopicConfig,
  type LoadedBrokerConfig,
  type ResolvedTopicConfig,
} from "../config/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { isUuidString, randomUuid } from "../protocol/primitives.ts";
import type { LogManager, PartitionLog } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { collisionKey, isInternalTopic, topicNameProblem } from "./topic-name.ts";

/** Partitions per topic, at most (Kafka has no hard limit; this bounds a hostile request). */
export const topicPartitionsMax = 10000;

export interface TopicMetadata {
  readonly name: string;
  /** Kafka text form of a UUID (22 characters, base64url), never the zero UUID. */
  readonly id: string;
  readonly partitions: number;
  /** Topic-level config overrides, as text (what CreateTopics/AlterConfigs set). */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

interface StoredState {
  version: 1;
  topics: { name: string; id: string; partitions: number; configs: Record<string, string> }[];
  deleting: string[];
}

async function readState(path: string): Promise<StoredState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, topics: [], deleting: [] };
    throw error;
  }
  const state = JSON.parse(text) as StoredState;
  assert(state.version === 1 && Array.isArray(state.topics), `${path}: unknown format`);
  return state;
}

export interface ClusterStoreOptions {
  dataDir: string;
  config: LoadedBrokerConfig;
  logs: LogManager;
  logger?: Logger;
}

export class ClusterStore {
  private readonly topicsByName = new Map<string, TopicMetadata>();
  private readonly topicsById = new Map<string, TopicMetadata>();
  private readonly resolved = new Map<string, ResolvedTopicConfig>();
  /** Names being created or deleted: the promise settles when the change is done. */
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly deleting = new Set<string>();
  private persistChain: Promise<void> = Promise.resolve();
  private readonly path: string;
  private readonly log: Logger;

  private constructor(
    private readonly options: ClusterStoreOptions,
  ) {
    this.path = join(options.dataDir, "__cluster_metadata", "topics.json");
    this.log = options.logger ?? createLogger("cluster");
  }

  /** Load topics.json, finish pending deletions, adopt orphan logs, open every partition's log. */
  static async open(options: ClusterStoreOptions): Promise<ClusterStore> {
    const store = new ClusterStore(options);
    await mkdir(join(options.dataDir, "__cluster_metadata"), { recursive: true });
    await store.load();
    return store;
  }

  /**
   * The config overrides of every stored topic, read before the LogManager opens the logs (so that
   * each log recovers with its own topic config: LogManagerOptions.topicConfigFor).
   */
  static async readStoredOverrides(dataDir: string): Promise<Map<string, Record<string, string>>> {
    const state = await readState(join(dataDir, "__cluster_metadata", "topics.json"));
    return new Map(state.topics.map((topic) => [topic.name, topic.configs]));
  }

  private async load(): Promise<void> {
    const state = await readState(this.path);
    for (const topic of state.topics) {
      assert(isUuidString(topic.id), `${this.path}: bad topic id ${topic.id}`);
      this.put({ ...topic, internal: isInternalTopic(topic.name) });
    }
    // Partitions still recovering in the background count as on disk (LogManager.open background).
    const onDisk = this.options.logs.partitionsOnDisk?.() ?? [...this.options.logs.all()].map((log) => ({ topic: log.topic, partition: log.partition }));
    for (const name of state.deleting ?? []) {
      for (const entry of onDisk) {
        if (entry.topic === name) await this.options.logs.delete(name, entry.partition);
      }
    }
    // Orphan logs (a crash between creating logs and writing metadata): adopt them.
    const orphans = new Map<string, number>();
    for (const entry of onDisk) {
      if (this.topicsByName.has(entry.topic) || (state.deleting ?? []).includes(entry.topic)) continue;
      orphans.set(entry.topic, Math.max(orphans.get(entry.topic) ?? 0, entry.partition + 1));
    }
    for (const [name, partitions] of orphans) {
      this.log.warn("adopting partition logs that no topic names", { topic: name, partitions });
      this.put({ name, id: randomUuid(), partitions, configs: {}, internal: isInternalTopic(name) });
    }
    for (const topic of this.topicsByName.values()) await this.openLogs(topic, 0);
    await this.persist();
  }

  private put(topic: TopicMetadata): void {
    this.topicsByName.set(topic.name, topic);
    this.topicsById.set(topic.id, topic);
    this.resolved.delete(topic.name);
  }

  private async openLogs(topic: TopicMetadata, fromPartition: number): Promise<void> {
    const config = this.topicConfig(topic.name).values;
    for (let partition = fromPartition; partition < topic.partitions; partition++) {
      if (this.options.logs.get(topic.name, partition) || this.options.logs.recoveryState?.(topic.name, partition)) continue;
      await this.options.logs.create(topic.name, partition, config);
    }
  }

  /** Write the whole state; writes run one at a time, in call order. */
  private persist(): Promise<void> {
    const snapshot: StoredState = {
      version: 1,
      topics: [...this.topicsByName.values()].map(({ name, id, partitions, configs }) => ({
        name, id, partitions, configs: { ...configs },
      })),
      deleting: [...this.deleting],
    };
    const text = JSON.stringify(snapshot, null, 1) + "\n";
    const write = this.persistChain.then(() => writeFileAtomic(this.path, text));
    this.persistChain = write.catch(() => {});
    return write;
  }

  get nodeId(): number {
    return this.options.config.values["node.id"];
  }

  topics(): TopicMetadata[] {
    return [...this.topicsByName.values()];
  }

  topic(name: string): TopicMetadata | undefined {
    return this.topicsByName.get(name);
  }

  topicById(id: string): TopicMetadata | undefined {
    return this.topicsById.get(id);
  }

  /** The log of a partition of an existing topic, or undefined. */
  partitionLog(topic: string, partition: number): PartitionLog | undefined {
    const metadata = this.topicsByName.get(topic);
    if (!metadata || partition < 0 || partition >= metadata.partitions) return undefined;
    return this.options.logs.get(topic, partition);
  }

  /**
   * Why a partition of an existing topic has no log to serve: NOT_LEADER_OR_FOLLOWER while it is
   * still recovering at start (retriable: clients refresh metadata and come back), KAFKA_STORAGE_ERROR
   * when it failed to recover, else UNKNOWN_TOPIC_OR_PARTITION.
   */
  unavailableCode(topic: string, partition: number): number {
    const state = this.topicsByName.has(topic) ? this.options.logs.recoveryState?.(topic, partition) : null;
    if (state === "recovering") return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (state === "failed") return ErrorCode.KAFKA_STORAGE_ERROR;
    return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }

  /** A topic's effective configuration (its overrides over the broker defaults), with sources. */
  topicConfig(name: string): ResolvedTopicConfig {
    let resolved = this.resolved.get(name);
    if (!resolved) {
      const topic = this.topicsByName.get(name);
      resolved = resolveTopicConfig(this.options.config, { ...(topic?.configs ?? {}) });
      if (topic) this.resolved.set(name, resolved);
    }
    return resolved;
  }

  /** Checks a create request; throws KafkaError with Kafka's code and message. */
  validateCreate(name: string, partitions: number, configs: Record<string, string | null>): void {
    const problem = topicNameProblem(name);
    if (problem) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (this.topicsByName.has(name) || this.busy.has(name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic '${name}' already exists`);
    }
    const key = collisionKey(name);
    // Topics being created count too: two concurrent creates of 'a.b' and 'a_b' must not both win.
    const creating = [...this.busy.keys()].filter((other) => !this.deleting.has(other) && !this.topicsByName.has(other));
    for (const existing of [...this.topicsByName.keys(), ...creating]) {
      if (collisionKey(existing) === key) {
        throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `topic '${name}' collides with existing topic '${existing}'`);
      }
    }
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > topicPartitionsMax) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be 1 to ${topicPartitionsMax}, was ${partitions}`);
    }
    try {
      parseTopicOverrides(configs);
    } catch (error) {
      if (error instanceof ConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, error.message);
      throw error;
    }
  }

  /**
   * Create a topic and its partition logs. Throws KafkaError INVALID_TOPIC_EXCEPTION,
   * TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG. With validateOnly nothing changes.
   */
  async createTopic(
    name: string,
    partitions: number,
    configs: Record<string, string | null> = {},
    validateOnly = false,
  ): Promise<TopicMetadata> {
    const pendingDelete = this.busy.get(name);
    if (pendingDelete && this.deleting.has(name)) await pendingDelete.catch(() => {});
    this.validateCreate(name, partitions, configs);
    const overrides: Record<string, string> = {};
    for (const [key, value] of Object.entries(configs)) if (value !== null) overrides[key] = value;
    const topic: TopicMetadata = { name, id: randomUuid(), partitions, configs: overrides, internal: isInternalTopic(name) };
    if (validateOnly) return topic;
    const work = (async () => {
      const config = resolveTopicConfig(this.options.config, overrides).values;
      let created = 0;
      try {
        for (; created < partitions; created++) await this.options.logs.create(name, created, config);
      } catch (error) {
        // Leave nothing behind: a topic is created whole or not at all.
        for (let partition = 0; partition < created; partition++) {
          await this.options.logs.delete(name, partition).catch(() => {});
        }
        throw error;
      }
      this.put(topic);
      await this.persist();
      this.log.info("topic created", { topic: name, id: topic.id, partitions });
      return topic;
    })();
    this.busy.set(name, work);
    try {
      return await work;
    } finally {
      this.busy.delete(name);
    }
  }

  /**
   * The topic, auto-created with num.partitions when missing and auto.create.topics.enable is on
   * (Metadata and Produce). Undefined when it does not exist and cannot be created. Throws
   * KafkaError INVALID_TOPIC_EXCEPTION for an illegal name.
   */
  async ensureTopic(name: string): Promise<TopicMetadata | undefined> {
    const existing = this.topicsByName.get(name);
    if (existing) return existing;
    const pending = this.busy.get(name);
    if (pending && !this.deleting.has(name)) {
      await pending.catch(() => {});
      return this.topicsByName.get(name);
    }
    if (!this.options.config.values["auto.create.topics.enable"]) return undefined;
    try {
      return await this.createTopic(name, this.options.config.values["num.partitions"]);
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.topicsByName.get(name);
      throw error;
    }
  }

  /** Delete a topic and its logs. Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, TOPIC_DELETION_DISABLED. */
  async deleteTopic(name: string): Promise<TopicMetadata> {
    if (!this.options.config.values["delete.topic.enable"]) {
      throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED, "delete.topic.enable is false");
    }
    const topic = this.topicsByName.get(name);
    if (!topic || this.busy.has(name)) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`);
    }
    this.topicsByName.delete(name);
    this.topicsById.delete(topic.id);
    this.resolved.delete(name);
    this.deleting.add(name);
    const work = (async () => {
      await this.persist();
      for (let partition = 0; partition < topic.partitions; partition++) {
        if (this.options.logs.get(name, partition) || this.options.logs.recoveryState?.(name, partition)) await this.options.logs.delete(name, partition);
      }
      this.deleting.delete(name);
      await this.persist();
      this.log.info("topic deleted", { topic: name, id: topic.id });
    })();
    this.busy.set(name, work);
    try {
      await work;
    } finally {
      this.busy.delete(name);
    }
    return topic;
  }

  /**
   * Replace a topic's config overrides (AlterConfigs semantics; IncrementalAlterConfigs computes the
   * new full set first). Applied live to every partition log. Throws KafkaError
   * UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG.
   */
  async setTopicConfigs(name: string, overrides: Record<string, string>, validateOnly = false): Promise<void> {
    const topic = this.topicsByName.get(name);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`);
    let resolved: ResolvedTopicConfig;
    try {
      resolved = resolveTopicConfig(this.options.config, overrides);
    } catch (error) {
      if (error instanceof ConfigError) throw new KafkaError(ErrorCode.INVALID_CONFIG, error.message);
      throw error;
    }
    if (validateOnly) return;
    this.put({ ...topic, configs: { ...overrides } });
    this.resolved.set(name, resolved);
    for (let partition = 0; partition < topic.partitions; partition++) {
      this.options.logs.get(name, partition)?.updateConfig(resolved.values);
    }
    await this.persist();
  }

  /** Grow a topic to `totalPartitions`. Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS. */
  async createPartitions(name: string, totalPartitions: number, validateOnly = false): Promise<void> {
    const topic = this.topicsByName.get(name);
    if (!topic || this.busy.has(name)) {
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic '${name}' does not exist`);
    }
    if (!Number.isInteger(totalPartitions) || totalPartitions <= topic.partitions) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS,
        `topic currently has ${topic.partitions} partitions, which is higher than or equal to the requested ${totalPartitions}`);
    }
    if (totalPartitions > topicPartitionsMax) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `at most ${topicPartitionsMax} partitions`);
    }
    if (validateOnly) return;
    const work = (async () => {
      const grown = { ...topic, partitions: totalPartitions };
      await this.openLogs(grown, topic.partitions);
      this.put(grown);
      await this.persist();
    })();
    this.busy.set(name, work);
    try {
      await work;
    } finally {
      this.busy.delete(name);
    }
  }

  /** Wait for pending metadata writes. */
  async close(): Promise<void> {
    await this.persistChain;
  }
}
