// A Kafka client: bootstrap servers, a metadata cache, one connection per broker (per lane),
// requests routed to partition leaders and group coordinators, and retries with backoff on
// retriable errors, refreshing metadata or the coordinator as the error asks.
//
//   const client = new KafkaClient({ bootstrap: "127.0.0.1:9092" });
//   const topic = await client.topicMetadata("orders");
//   const leader = await client.leaderConnection("orders", 0);
//   await client.close();
//
// Lanes: a JoinGroup waits at the coordinator for the whole rebalance and a Fetch long-polls for
// up to max.wait.ms, and a broker answers one connection's requests in order, so those get a
// connection of their own ("group", "fetch") and do not hold up metadata or produce requests
// ("default"). Kafka's Java client does the same with its separate coordinator connection.
//
// The operations live next to this file (admin.ts, producer.ts, consumer.ts, group-member.ts,
// offsets.ts); this class is only the plumbing they share.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FindCoordinatorApi } from "../protocol/generated/find-coordinator.ts";
import { MetadataApi } from "../protocol/generated/metadata.ts";
import { assert } from "../util/assert.ts";
import { KafkaConnection } from "./connection.ts";
import type { ClientSecurity } from "./security.ts";
import {
  ConnectionError,
  DeadlineError,
  isRetriable,
  needsCoordinatorRefresh,
  needsMetadataRefresh,
  responseError,
} from "./errors.ts";
import { ClusterMetadata, type TopicInfo } from "./metadata.ts";

export interface ClientOptions {
  /** "host:port", a comma-separated list of them, or an array. */
  bootstrap: string | readonly string[];
  clientId?: string;
  /** Kafka's request.timeout.ms (default 30 s). */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Kafka's retry.backoff.ms (default 100) and retry.backoff.max.ms (default 1000). */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Kafka's default.api.timeout.ms: how long an operation keeps retrying (default 60 s). */
  apiTimeoutMs?: number;
  /** Cached metadata older than this is refreshed before use (Kafka's metadata.max.age.ms, 5 min). */
  metadataMaxAgeMs?: number;
  /** TLS and SASL for every connection (security.ts). */
  security?: ClientSecurity;
}

export type Lane = "default" | "group" | "fetch" | (string & {});

export interface Address {
  host: string;
  port: number;
}

export interface RetryOptions {
  /** Give up after this long (default: the client's apiTimeoutMs). */
  timeoutMs?: number;
  /** Group whose coordinator to forget on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE. */
  group?: string;
  /** Also called on every retriable error, before the backoff. */
  onRetriable?(error: unknown): void;
}

/** Parses "host:port[,host:port…]" ("[v6]:port" for IPv6). Throws on a malformed entry. */
export function parseBootstrap(bootstrap: string | readonly string[]): Address[] {
  const entries = typeof bootstrap === "string" ? bootstrap.split(",") : [...bootstrap];
  const addresses = entries.map((entry) => entry.trim()).filter((entry) => entry.length > 0).map((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[3]);
    if (!match || port < 1 || port > 65535) throw new Error(`bootstrap server "${entry}" is not host:port`);
    return { host: match[1] ?? match[2]!, port };
  });
  if (addresses.length === 0) throw new Error("no bootstrap server given");
  return addresses;
}

export class KafkaClient {
  readonly options: Readonly<Required<Omit<ClientOptions, "bootstrap">>>;
  readonly bootstrap: readonly Address[];
  readonly metadata = new ClusterMetadata();
  private readonly connections = new Map<string, Promise<KafkaConnection>>();
  private readonly coordinators = new Map<string, number>();
  private metadataStale = true;
  private refreshing: Promise<ClusterMetadata> | null = null;
  /** Topics this client has asked about; a refresh asks about all of them again. */
  private readonly knownTopics = new Set<string>();
  private closed = false;

  constructor(options: ClientOptions) {
    this.bootstrap = parseBootstrap(options.bootstrap);
    this.options = {
      clientId: options.clientId ?? "runnel",
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      retryBackoffMaxMs: options.retryBackoffMaxMs ?? 1000,
      apiTimeoutMs: options.apiTimeoutMs ?? 60_000,
      metadataMaxAgeMs: options.metadataMaxAgeMs ?? 300_000,
      security: options.security ?? {},
    };
  }

  // ------------------------------------------------------------------------- connections

  /** The connection to `address` on `lane`, opened on first use and again after it closed. */
  connection(address: Address, lane: Lane = "default"): Promise<KafkaConnection> {
    if (this.closed) return Promise.reject(new ConnectionError("the client is closed"));
    const key = `${address.host}:${address.port}#${lane}`;
    const existing = this.connections.get(key);
    if (existing) return existing;
    const opening = KafkaConnection.connect({
      host: address.host,
      port: address.port,
      clientId: this.options.clientId,
      requestTimeoutMs: this.options.requestTimeoutMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
      security: this.options.security,
    }).then(
      (connection) => {
        connection.onClose(() => {
          if (this.connections.get(key) === opening) this.connections.delete(key);
        });
        if (this.closed) connection.close();
        return connection;
      },
      (error: unknown) => {
        if (this.connections.get(key) === opening) this.connections.delete(key);
        throw error;
      },
    );
    this.connections.set(key, opening);
    return opening;
  }

  /** The connection to broker `nodeId` (its address from metadata). */
  async connectionToNode(nodeId: number, lane: Lane = "default"): Promise<KafkaConnection> {
    let broker = this.metadata.broker(nodeId);
    if (!broker) {
      await this.refreshMetadata();
      broker = this.metadata.broker(nodeId);
    }
    if (!broker) throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`);
    return this.connection(broker, lane);
  }

  /**
   * A connection to any reachable broker: an open one when there is one, else the known brokers
   * and then the bootstrap servers, in turn.
   */
  async anyConnection(lane: Lane = "default"): Promise<KafkaConnection> {
    const candidates: Address[] = [...this.metadata.brokers.values(), ...this.bootstrap];
    for (const address of candidates) {
      const open = this.connections.get(`${address.host}:${address.port}#${lane}`);
      if (open) {
        try {
          const connection = await open;
          if (!connection.isClosed) return connection;
        } catch {
          // try the next one
        }
      }
    }
    let lastError: unknown = null;
    for (const address of candidates) {
      try {
        return await this.connection(address, lane);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError instanceof Error ? lastError : new ConnectionError("no broker reachable");
  }

  /** Every broker of the cluster, connected (for per-broker requests such as ListGroups). */
  async brokerConnections(lane: Lane = "default"): Promise<{ nodeId: number; connection: KafkaConnection }[]> {
    await this.ensureMetadata();
    return Promise.all([...this.metadata.brokers.values()].map(async (broker) => ({
      nodeId: broker.nodeId,
      connection: await this.connection(broker, lane),
    })));
  }

  // ---------------------------------------------------------------------------- metadata

  /**
   * Asks a broker for metadata of `topics` (default: every topic this client has asked about;
   * null: all topics) and folds it into the cache. Concurrent calls share one request when they
   * ask about the same thing.
   */
  async refreshMetadata(topics?: readonly string[] | null, options: { allowAutoTopicCreation?: boolean } = {}): Promise<ClusterMetadata> {
    for (const topic of topics ?? []) this.knownTopics.add(topic);
    const wanted = topics === null ? null : [...this.knownTopics];
    const plain = topics === undefined && !options.allowAutoTopicCreation;
    if (plain && this.refreshing) return this.refreshing;
    const refreshing = this.fetchMetadata(wanted, options.allowAutoTopicCreation ?? false);
    if (plain) {
      this.refreshing = refreshing;
      void refreshing.then(() => {}, () => {}).finally(() => {
        if (this.refreshing === refreshing) this.refreshing = null;
      });
    }
    return refreshing;
  }

  private async fetchMetadata(topics: string[] | null, allowAutoTopicCreation: boolean): Promise<ClusterMetadata> {
    const connection = await this.anyConnection();
    const version = connection.versionFor(MetadataApi, 1);
    const response = await connection.request(MetadataApi, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: version >= 4 ? allowAutoTopicCreation : undefined,
    }, { version });
    this.metadata.update(response, topics);
    this.metadataStale = false;
    return this.metadata;
  }

  /** Refreshes metadata when it is stale (an error said so) or older than metadataMaxAgeMs. */
  async ensureMetadata(): Promise<ClusterMetadata> {
    const old = performance.now() - this.metadata.updatedAt > this.options.metadataMaxAgeMs;
    if (this.metadataStale || old || this.metadata.updatedAt === 0) await this.refreshMetadata();
    return this.metadata;
  }

  /** Marks the cached metadata stale: the next routing decision asks a broker again. */
  invalidateMetadata(): void {
    this.metadataStale = true;
  }

  /**
   * A topic's metadata, from the cache or a broker. Throws KafkaError(UNKNOWN_TOPIC_OR_PARTITION)
   * when the topic does not exist (after asking, with auto-creation when `allowAutoTopicCreation`).
   */
  async topicMetadata(topic: string, options: { allowAutoTopicCreation?: boolean; refresh?: boolean } = {}): Promise<TopicInfo> {
    this.knownTopics.add(topic);
    await this.ensureMetadata();
    let info = this.metadata.topic(topic);
    if (!info || options.refresh || info.errorCode !== ErrorCode.NONE) {
      await this.refreshMetadata([topic], { allowAutoTopicCreation: options.allowAutoTopicCreation });
      info = this.metadata.topic(topic);
    }
    if (!info) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${topic} does not exist`);
    if (info.errorCode !== ErrorCode.NONE) throw responseError(info.errorCode, `metadata of topic ${topic}`);
    return info;
  }

  /** The leader of a partition (refreshing metadata when unknown); retriable errors when none. */
  async leaderOf(topic: string, partition: number): Promise<number> {
    const info = await this.topicMetadata(topic);
    const entry = info.partitions[partition];
    if (!entry) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic} has no partition ${partition}`);
    if (entry.leader < 0 || entry.errorCode === ErrorCode.LEADER_NOT_AVAILABLE) {
      this.invalidateMetadata();
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition} has no leader yet`);
    }
    return entry.leader;
  }

  async leaderConnection(topic: string, partition: number, lane: Lane = "default"): Promise<KafkaConnection> {
    return this.connectionToNode(await this.leaderOf(topic, partition), lane);
  }

  /** The broker to send CreateTopics and the like to: the controller when known, else any. */
  async controllerConnection(): Promise<KafkaConnection> {
    await this.ensureMetadata();
    const controller = this.metadata.controllerId;
    if (controller >= 0 && this.metadata.broker(controller)) return this.connectionToNode(controller);
    return this.anyConnection();
  }

  // ------------------------------------------------------------------------ coordinators

  /** The node id of the coordinator of `key` (a group id; keyType 1: a transactional id). */
  async coordinatorOf(key: string, keyType = 0): Promise<number> {
    const cacheKey = `${keyType}:${key}`;
    const cached = this.coordinators.get(cacheKey);
    if (cached !== undefined) return cached;
    const connection = await this.anyConnection();
    const version = connection.versionFor(FindCoordinatorApi);
    const response = await connection.request(FindCoordinatorApi, version >= 4
      ? { keyType, coordinatorKeys: [key] }
      : { key, keyType }, { version });
    const entry = version >= 4
      ? response.coordinators[0]
      : { nodeId: response.nodeId, host: response.host, port: response.port, errorCode: response.errorCode, errorMessage: response.errorMessage };
    if (!entry) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `FindCoordinator for ${key}: empty answer`);
    if (entry.errorCode !== ErrorCode.NONE) throw responseError(entry.errorCode, `FindCoordinator for ${key}`, entry.errorMessage);
    if (!this.metadata.broker(entry.nodeId)) {
      this.metadata.brokers.set(entry.nodeId, { nodeId: entry.nodeId, host: entry.host, port: entry.port, rack: null });
    }
    this.coordinators.set(cacheKey, entry.nodeId);
    return entry.nodeId;
  }

  async coordinatorConnection(group: string, lane: Lane = "default"): Promise<KafkaConnection> {
    return this.connectionToNode(await this.coordinatorOf(group), lane);
  }

  forgetCoordinator(key: string, keyType = 0): void {
    this.coordinators.delete(`${keyType}:${key}`);
  }

  // ------------------------------------------------------------------------------ retries

  /**
   * Runs `attempt` until it succeeds, a non-retriable error occurs, or the deadline passes.
   * Between attempts: exponential backoff with jitter; metadata marked stale after leader errors
   * and connection failures, the group's coordinator forgotten after coordinator errors.
   */
  async retry<T>(what: string, attempt: (attemptNumber: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
    const deadline = performance.now() + (options.timeoutMs ?? this.options.apiTimeoutMs);
    let backoff = this.options.retryBackoffMs;
    for (let attemptNumber = 0; ; attemptNumber++) {
      try {
        return await attempt(attemptNumber);
      } catch (error) {
        if (!isRetriable(error) || this.closed) throw error;
        this.noteRetriable(error, options.group);
        options.onRetriable?.(error);
        const jittered = backoff * (0.8 + Math.random() * 0.4);
        if (performance.now() + jittered > deadline) throw new DeadlineError(`${what}: gave up after ${attemptNumber + 1} attempts`, error);
        await Bun.sleep(jittered);
        backoff = Math.min(backoff * 2, this.options.retryBackoffMaxMs);
      }
    }
  }

  /** What a retriable error says about the caches. */
  noteRetriable(error: unknown, group?: string): void {
    const code = error instanceof KafkaError ? error.code : ErrorCode.NETWORK_EXCEPTION;
    if (error instanceof ConnectionError || needsMetadataRefresh(code)) this.invalidateMetadata();
    if (group !== undefined && (error instanceof ConnectionError || needsCoordinatorRefresh(code))) this.forgetCoordinator(group);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes every connection; requests still in flight fail with ConnectionError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    const settled = await Promise.allSettled(all);
    for (const result of settled) if (result.status === "fulfilled") result.value.close();
    assert(this.connections.size === 0, "no connection opened after close");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
