// One replica fetcher: this follower's fetches from ONE leader broker (Kafka's ReplicaFetcherThread;
// docs/replication.md §5). One long-poll Fetch request carries every partition this node follows
// from that leader, over one connection (client id `runnel-node-<id>`: the fault proxy of the
// cluster tests tells the source node by it), with Kafka's replica fields: ReplicaState = this
// node's id and broker epoch; per partition fetchOffset = log end offset, lastFetchedEpoch = the
// newest epoch of the leader-epoch cache (§5: not the last batch's epoch), currentLeaderEpoch.
//
//   loop: connect (backoff on failure, doubling up to reconnect.backoff.max.ms)
//         → Fetch (waits at the leader up to replica.fetch.wait.max.ms for replica.fetch.min.bytes)
//         → per partition, in order: divergingEpoch → truncate; records → appendAsFollower and
//           the follower high watermark; OFFSET_OUT_OF_RANGE → reset; other errors → that
//           partition pauses replica.fetch.backoff.ms (its leader or epoch is changing: the
//           metadata image will move it) — 50 ms for NOT_LEADER_OR_FOLLOWER / UNKNOWN_LEADER_EPOCH /
//           UNKNOWN_TOPIC_ID, what a leader answers until it applied its own election or the topic
//         → with flush.messages=1, fsync what was appended before the next fetch (mode b: the
//           leader counts our fetch offset as durable)
//
// A response is applied only to partitions that still follow this leader in the epoch the request
// carried: a partition moved or removed meanwhile is left alone. Full fetches, no fetch session
// (KIP-227): the partition list is sent each time, which only costs bytes per request.

import { ConnectionError, KafkaConnection } from "../../client/index.ts";
import type { ClientSecurity } from "../../client/security.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import { FetchApi, type FetchResponse, type FetchResponsePartitionData } from "../../protocol/generated/index.ts";
import { assert } from "../../util/assert.ts";
import type { Logger } from "../../util/logger.ts";
import type { ReplicationQuota } from "../core/quota.ts";
import type { Partition } from "../partition.ts";

export interface FetcherSettings {
  /** TLS and SASL of the leaders' internal listeners (security/inter-broker.ts); default PLAINTEXT. */
  security?: ClientSecurity;
  /** replica.fetch.max.bytes: per partition. */
  fetchMaxBytes: number;
  /** replica.fetch.response.max.bytes: per response. */
  responseMaxBytes: number;
  /** replica.fetch.wait.max.ms */
  waitMaxMs: number;
  /** replica.fetch.min.bytes */
  minBytes: number;
  /** replica.fetch.backoff.ms: a partition's pause after an error. */
  partitionBackoffMs: number;
  /** replica.socket.timeout.ms: added to waitMaxMs for a request's timeout. */
  socketTimeoutMs: number;
  /** reconnect.backoff.ms / reconnect.backoff.max.ms */
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
}

export interface FetcherContext {
  nodeId: number;
  /** This broker's epoch (its registration's offset); -1 before it registered. */
  brokerEpoch(): bigint;
  /** The leader's replica-fetch endpoint, or null while the image has none. */
  endpointOf(leaderId: number): { host: string; port: number } | null;
  settings: FetcherSettings;
  logger: Logger;
  /** Called after each response was applied (tests wait on it). */
  onFetched?(leaderId: number): void;
  /**
   * follower.replication.throttled.rate: the quota of this node's fetches for replicas being added
   * by a reassignment (`isThrottled`); over it, those partitions are left out of fetches.
   */
  throttle?: { quota: ReplicationQuota; isThrottled(replica: Partition): boolean };
}

interface Followed {
  replica: Partition;
  /** Monotonic ms before which this partition is left out of fetches (after an error). */
  pausedUntil: number;
  /**
   * The last answer left this replica at or past the leader's high watermark: in sync, so never
   * throttled (Kafka's shouldFollowerThrottle). Its own high watermark cannot tell: a follower's is
   * capped at its log end.
   */
  caughtUp: boolean;
}

interface Sent {
  replica: Partition;
  leaderEpoch: number;
  fetchOffset: bigint;
}

const idle = () => {};
/** Pause after NOT_LEADER_OR_FOLLOWER / UNKNOWN_LEADER_EPOCH from a leader whose metadata lags. */
const transientRetryMs = 50;

export class ReplicaFetcher {
  private readonly followed = new Map<string, Followed>();
  private connection: KafkaConnection | null = null;
  private closed = false;
  private wake: () => void = idle;
  private running: Promise<void>;
  /** Partitions (key → leader epoch) of the fetch in flight; null when none is. */
  private inFlight: Map<string, number> | null = null;
  /** The in-flight fetch was dropped on purpose (interruptFor): retry at once, quietly. */
  private interrupted = false;
  private reconnectDelayMs: number;
  /** Requests completed (tests, diagnostics). */
  fetches = 0;

  constructor(readonly leaderId: number, private readonly context: FetcherContext) {
    this.reconnectDelayMs = context.settings.reconnectBackoffMs;
    this.running = this.run();
  }

  get partitionCount(): number {
    return this.followed.size;
  }

  add(replica: Partition): void {
    assert(!this.closed, "fetcher closed");
    this.followed.set(keyOf(replica), { replica, pausedUntil: 0, caughtUp: false });
    this.interruptFor(replica);
    this.wake();
  }

  /**
   * A partition joined (or changed epoch) while a long-poll fetch without it is parked at the
   * leader: drop that fetch (close the connection: Kafka answers in order, a second request would
   * wait behind the first) so the next one carries it now rather than after up to
   * replica.fetch.wait.max.ms. This is what a failover waits on otherwise: a new leader's
   * high watermark needs its followers' fetches.
   */
  private interruptFor(replica: Partition): void {
    if (this.inFlight === null || this.inFlight.has(keyOf(replica)) && this.inFlight.get(keyOf(replica)) === replica.leaderEpoch) return;
    const connection = this.connection;
    this.connection = null;
    this.interrupted = true;
    connection?.close(new ConnectionError("replica fetch interrupted: the partition set changed"));
  }

  remove(replica: Partition): void {
    const entry = this.followed.get(keyOf(replica));
    if (entry?.replica === replica) this.followed.delete(keyOf(replica));
  }

  has(replica: Partition): boolean {
    return this.followed.get(keyOf(replica))?.replica === replica;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connection?.close(new ConnectionError("replica fetcher closed"));
    this.wake();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.runOnce();
      } catch (error) {
        if (this.closed) break;
        if (this.interrupted) {
          this.interrupted = false;
          continue;
        }
        this.context.logger.warn("replica fetch failed; reconnecting", { leader: this.leaderId, error: String(error), retryInMs: this.reconnectDelayMs });
        this.connection?.close(error instanceof Error ? error : new ConnectionError(String(error)));
        this.connection = null;
        await this.sleep(this.reconnectDelayMs);
        this.reconnectDelayMs = Math.min(this.context.settings.reconnectBackoffMaxMs, Math.max(1, this.reconnectDelayMs * 2));
      }
    }
    this.connection?.close(new ConnectionError("replica fetcher closed"));
  }

  /** One fetch round: wait for partitions, connect, fetch, apply. */
  private async runOnce(): Promise<void> {
    if (this.readyPartitions().length === 0) {
      const now = performance.now();
      // Over follower.replication.throttled.rate with only moving replicas ready: until the refill.
      const throttledWaitMs = this.context.throttle?.quota.isExceeded() ? Math.max(1, this.context.throttle.quota.waitMs()) : Infinity;
      const nextMs = Math.min(...[...this.followed.values()].map((entry) => entry.pausedUntil - now).filter((ms) => ms > 0), throttledWaitMs, 1_000);
      await this.sleep(this.followed.size === 0 ? 60_000 : nextMs);
      return;
    }
    const connection = await this.connect();
    // Chosen after connecting: a partition added while the connection was being made goes in now
    // (nothing was in flight to interrupt for it).
    const ready = this.readyPartitions();
    if (ready.length === 0) return;
    const sent = ready.map((entry) => ({ replica: entry.replica, leaderEpoch: entry.replica.leaderEpoch, fetchOffset: entry.replica.logEndOffset }));
    const version = connection.versionFor(FetchApi);
    this.inFlight = new Map(sent.map((item) => [keyOf(item.replica), item.leaderEpoch]));
    this.interrupted = false;
    let response;
    try {
      response = await connection.request(FetchApi, this.request(sent, version, this.longPollMs(ready.length)), {
        version,
        timeoutMs: this.context.settings.waitMaxMs + this.context.settings.socketTimeoutMs,
      });
    } finally {
      this.inFlight = null;
    }
    this.reconnectDelayMs = this.context.settings.reconnectBackoffMs;
    if (response.errorCode !== ErrorCode.NONE) {
      this.context.logger.warn("replica fetch refused", { leader: this.leaderId, error: errorName(response.errorCode) });
      this.pauseAll(sent);
      return;
    }
    await this.apply(sent, response, version >= 13);
    this.fetches += 1;
    this.context.onFetched?.(this.leaderId);
  }

  /** Followed partitions not paused whose replica still follows. */
  private readyPartitions(): Followed[] {
    const now = performance.now();
    const ready = [...this.followed.values()].filter((entry) => entry.pausedUntil <= now && entry.replica.role === "follower");
    const throttle = this.context.throttle;
    // Over follower.replication.throttled.rate: replicas being added by a reassignment wait, the
    // others fetch on.
    if (throttle && ready.length > 0 && throttle.quota.isExceeded()) return ready.filter((entry) => !this.isThrottled(entry));
    return ready;
  }

  /**
   * replica.fetch.wait.max.ms, unless moving partitions were left out for the follower throttle:
   * then the long poll ends when the quota refills, so that they are not kept waiting behind a
   * quiet fetch of the others (which would copy at a fraction of the rate).
   */
  private longPollMs(readyCount: number): number {
    const waitMaxMs = this.context.settings.waitMaxMs;
    const quota = this.context.throttle?.quota;
    const now = performance.now();
    const leftOut = [...this.followed.values()].filter((entry) => entry.pausedUntil <= now && entry.replica.role === "follower").length > readyCount;
    return quota && leftOut ? Math.min(waitMaxMs, Math.max(1, quota.waitMs())) : waitMaxMs;
  }

  /** A replica being added by a reassignment and not caught up: under the follower throttle. */
  private isThrottled(entry: Followed | undefined): boolean {
    const throttle = this.context.throttle;
    return throttle !== undefined && entry !== undefined && !entry.caughtUp && throttle.isThrottled(entry.replica);
  }

  private async connect(): Promise<KafkaConnection> {
    if (this.connection && !this.connection.isClosed) return this.connection;
    const endpoint = this.context.endpointOf(this.leaderId);
    if (!endpoint) throw new ConnectionError(`no endpoint known for broker ${this.leaderId}`);
    this.connection = await KafkaConnection.connect({
      host: endpoint.host,
      port: endpoint.port,
      clientId: `runnel-node-${this.context.nodeId}`,
      connectTimeoutMs: this.context.settings.socketTimeoutMs,
      requestTimeoutMs: this.context.settings.waitMaxMs + this.context.settings.socketTimeoutMs,
      ...(this.context.settings.security ? { security: this.context.settings.security } : {}),
    });
    this.context.logger.info("replica fetcher connected", { leader: this.leaderId, address: `${endpoint.host}:${endpoint.port}` });
    return this.connection;
  }

  private request(sent: Sent[], version: number, maxWaitMs: number) {
    const settings = this.context.settings;
    const byTopic = new Map<string, { topic: string; topicId: string; partitions: object[] }>();
    const throttledShare = this.throttledShare(sent);
    for (const { replica, leaderEpoch } of sent) {
      let topic = byTopic.get(replica.topicId);
      if (!topic) byTopic.set(replica.topicId, (topic = { topic: replica.topic, topicId: replica.topicId, partitions: [] }));
      const position = replica.followerFetchPosition();
      topic.partitions.push({
        partition: replica.partition,
        currentLeaderEpoch: leaderEpoch,
        fetchOffset: position.fetchOffset,
        lastFetchedEpoch: position.lastFetchedEpoch,
        logStartOffset: position.logStartOffset,
        partitionMaxBytes: this.isThrottled(this.followed.get(keyOf(replica))) ? Math.min(settings.fetchMaxBytes, throttledShare) : settings.fetchMaxBytes,
      });
    }
    return {
      replicaId: version <= 14 ? this.context.nodeId : -1,
      replicaState: { replicaId: this.context.nodeId, replicaEpoch: this.context.brokerEpoch() },
      maxWaitMs,
      minBytes: settings.minBytes,
      maxBytes: settings.responseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()],
      forgottenTopicsData: [],
      rackId: "",
    } as Parameters<KafkaConnection["request"]>[1];
  }

  /**
   * follower.replication.throttled.rate: the bytes each throttled partition of this request may ask
   * (what the quota has left, shared; one batch comes whole at least), so that a fetch never takes
   * replica.fetch.max.bytes per moving partition at once — the burst that stalled produce.
   */
  private throttledShare(sent: Sent[]): number {
    const throttle = this.context.throttle;
    if (!throttle || throttle.quota.unlimited) return Infinity;
    const count = sent.filter((item) => this.isThrottled(this.followed.get(keyOf(item.replica)))).length;
    return count === 0 ? Infinity : Math.max(1, Math.floor(throttle.quota.available() / count));
  }

  /** Apply each partition's answer in order; flush appended logs before the next fetch in mode (b). */
  private async apply(sent: Sent[], response: FetchResponse, byTopicId: boolean): Promise<void> {
    // v13+ names topics by id, older versions by name.
    const keyOfAnswer = (topicId: string, topic: string, partition: number) => `${byTopicId ? topicId : topic}\u0000${partition}`;
    const answers = new Map<string, FetchResponsePartitionData>();
    for (const topic of response.responses) {
      for (const partition of topic.partitions) answers.set(keyOfAnswer(topic.topicId, topic.topic, partition.partitionIndex), partition);
    }
    const toFlush: Partition[] = [];
    for (const item of sent) {
      const { replica } = item;
      const answer = answers.get(keyOfAnswer(replica.topicId, replica.topic, replica.partition));
      if (!answer || !this.stillFollows(item)) continue;
      try {
        const entry = this.followed.get(keyOf(replica));
        if (answer.errorCode === ErrorCode.NONE && answer.records && this.isThrottled(entry)) this.context.throttle!.quota.record(answer.records.length);
        const appended = await this.applyOne(replica, answer);
        if (entry && answer.errorCode === ErrorCode.NONE) entry.caughtUp = replica.logEndOffset >= answer.highWatermark;
        if (appended && replica.topicConfig["flush.messages"] === 1) toFlush.push(replica);
      } catch (error) {
        this.context.logger.warn("applying a replica fetch failed; the partition pauses", { partition: `${replica.topic}-${replica.partition}`, error: String(error) });
        this.pause(replica);
      }
    }
    await Promise.all(toFlush.map((replica) => replica.log.flush()));
  }

  /** The partition still follows this leader in the epoch the request was built with. */
  private stillFollows(item: Sent): boolean {
    const { replica } = item;
    return this.has(replica) && replica.role === "follower" && replica.leaderId === this.leaderId && replica.leaderEpoch === item.leaderEpoch && replica.logEndOffset === item.fetchOffset;
  }

  /** Returns true when records were appended. */
  private async applyOne(replica: Partition, answer: FetchResponsePartitionData): Promise<boolean> {
    switch (answer.errorCode) {
      case ErrorCode.NONE: break;
      case ErrorCode.OFFSET_OUT_OF_RANGE:
        await replica.resetAfterOutOfRange(answer.logStartOffset);
        return false;
      case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      case ErrorCode.UNKNOWN_LEADER_EPOCH:
      case ErrorCode.UNKNOWN_TOPIC_ID:
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        // The leader has not applied the metadata that made it leader (or created the topic) yet:
        // it will within a moment; retry soon rather than after replica.fetch.backoff.ms.
        this.pause(replica, Math.min(this.context.settings.partitionBackoffMs, transientRetryMs));
        return false;
      default:
        this.context.logger.debug("replica fetch of a partition failed", { partition: `${replica.topic}-${replica.partition}`, error: errorName(answer.errorCode) });
        this.pause(replica);
        return false;
    }
    const diverging = answer.divergingEpoch;
    if (diverging.epoch >= 0 || diverging.endOffset >= 0n) {
      await replica.truncateOnDivergence({ epoch: diverging.epoch, endOffset: diverging.endOffset });
      return false;
    }
    const records = answer.records;
    if (records !== null && records.length > 0) return (await replica.appendAsFollower(records, answer.highWatermark)) > 0;
    replica.updateFollowerHighWatermark(answer.highWatermark);
    return false;
  }

  private pause(replica: Partition, ms = this.context.settings.partitionBackoffMs): void {
    const entry = this.followed.get(keyOf(replica));
    if (entry?.replica === replica) entry.pausedUntil = performance.now() + ms;
  }

  private pauseAll(sent: Sent[]): void {
    for (const { replica } of sent) this.pause(replica);
  }

  /** Sleep up to `ms`; `add`, a role change poke or `close` end it early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = idle;
        done();
      };
    });
  }

  /** A partition's role or epoch changed: fetch again without waiting out a pause. */
  poke(replica: Partition): void {
    const entry = this.followed.get(keyOf(replica));
    if (entry?.replica === replica) entry.pausedUntil = 0;
    this.interruptFor(replica);
    this.wake();
  }
}

function keyOf(replica: Partition): string {
  return `${replica.topicId}\u0000${replica.partition}`;
}
