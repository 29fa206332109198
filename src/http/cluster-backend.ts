// The HttpBackend of a node in a many-node cluster: everything the LocalBackend serves, except
// that a record operation (produce, read, partition offsets, the long-poll wait) on a partition
// led by another broker is sent to that leader as the Kafka request a client would send
// (Produce, Fetch, ListOffsets), over this node's own connections to its peers' internal
// (CONTROLLER) listeners, found in their registrations (client id `runnel-node-<id>`,
// PeerConnections: reconnect with backoff). The routes never know.
//
// Security: the HTTP caller is authenticated and authorized HERE (auth.ts: Basic or Bearer, the
// cluster's ACLs for the route's operation, with the caller's principal); what is forwarded is the
// operation, never the caller's credentials. The peer serves it on the internal listener, where
// nodes trust each other as they do for forwarded admin requests (PLAINTEXT there: keep it
// on the cluster's private network, or secure it: its TLS and SASL login are this node's
// inter-broker ones, and a node's principal needs CLUSTER_ACTION), so forwarding works whatever
// TLS, SASL and ACLs the client listeners have. Quotas of the caller's principal are not applied
// at the leader.
//
// Who leads is read from this node's published metadata image, the same one its Metadata answers
// come from. NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE (or no leader in the image), and an
// unreachable leader are retried — after the next image is published (a leader change) or a short
// backoff — until `forwardTimeoutMs`; then the last error is answered (a 503, retriable).
//
// Never silent loss, never a hidden duplicate: a produce is retried only when the leader certainly
// did not append it (an error code in its answer, or no connection made). When the connection
// breaks after the request was sent, the outcome is unknown: REQUEST_TIMED_OUT (503) is answered
// and the HTTP client decides, as a Kafka producer without idempotence would.
//
// Connections: "http" carries Produce and ListOffsets; a forwarded long-poll Fetch takes a
// connection of its own from a small pool ("http-fetch-N"), since a broker answers one connection's
// requests in order and a parked Fetch would hold up every request behind it.
//
// Groups the same way: a group call (consumer instances' JoinGroup, SyncGroup, Heartbeat, commits,
// and the consumer-group admin routes) goes to the group's coordinator — the leader of its
// __consumer_offsets partition — as the Kafka request a consumer sends (group-forwarding.ts says
// why the member stays on this node), retried while the coordinator moves (NOT_COORDINATOR,
// COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, or unreachable). JoinGroup and SyncGroup
// park until the rebalance ends, so each takes a connection from a pool ("http-join-N"); the other
// group requests share "http-group".

import { ConnectionError } from "../client/errors.ts";
import { PeerConnections, type PeerAddress } from "../client/peer-connections.ts";
import { endpointOf, isInternalTopic, liveBrokers, partitionOf, type MetadataImage } from "../cluster/index.ts";
import { ensureOffsetsTopic, OFFSETS_TOPIC, offsetsPartitionFor } from "../groups/index.ts";
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
import type { BrokerContext } from "../kafka/context.ts";
import { interBrokerSecurity } from "../security/inter-broker.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FetchApi } from "../protocol/generated/fetch.ts";
import { ListOffsetsApi } from "../protocol/generated/list-offsets.ts";
import { ProduceApi } from "../protocol/generated/produce.ts";
import { assert } from "../util/assert.ts";
import type { Acks, HttpBackend, PartitionOffsets, ProduceRecord, ProduceResult, ReadRequest, ReadResult } from "./backend.ts";
import { coordinatorMovedCodes, GroupForwarding } from "./group-forwarding.ts";
import { LocalBackend, produceTimeoutMs } from "./local-backend.ts";
import { collectRecords } from "./record-walk.ts";

/** How long a forwarded operation keeps retrying while the leader moves (Kafka's delivery.timeout.ms is longer; HTTP clients wait less). */
const forwardTimeoutMs = 30_000;
/** Wait between retries when no new metadata image arrives sooner. */
const retryBackoffMs = 100;
/** The listener every node registers for the others (node.ts). */
const internalListenerName = "CONTROLLER";
/** Connections per peer for parked requests (long-poll Fetch; JoinGroup and SyncGroup), each kind. */
const parkedLanesMax = 16;
/** ListOffsets special timestamps. */
const EARLIEST = -2n;
const LATEST = -1n;

const produceVersion = 9;
const fetchVersion = 12;
const listOffsetsVersion = 7;

/** Codes after which the same request may succeed at the (new) leader, nothing having been written. */
const leaderMovedCodes: ReadonlySet<number> = new Set([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.REPLICA_NOT_AVAILABLE,
]);

/** The request never reached the leader (no connection): safe to send again. */
class NotSent extends Error {
  constructor(override readonly cause: unknown) {
    super(`not sent: ${String((cause as Error)?.message ?? cause)}`);
  }
}

export interface ClusterBackendOptions {
  isReady(): boolean;
  kafkaConnectionCount(): number;
}

export class ClusterBackend extends LocalBackend implements HttpBackend {
  private readonly peers: PeerConnections;
  /** Busy lanes by "<kind>/<peer>". */
  private readonly lanesBusy = new Map<string, Set<number>>();
  private readonly imageWaiters: (() => void)[] = [];
  private readonly groupForwarding = new GroupForwarding((coordinator, parks, request) => this.sendToCoordinator(coordinator, parks, request));
  private creatingOffsetsTopic: Promise<void> | null = null;

  constructor(private readonly context: BrokerContext, options: ClusterBackendOptions) {
    super(context, options);
    const config = context.config.values;
    this.peers = new PeerConnections({
      nodeId: context.nodeId,
      addresses: (peer) => this.addressOf(peer),
      reconnectBackoffMs: config["reconnect.backoff.ms"],
      reconnectBackoffMaxMs: config["reconnect.backoff.max.ms"],
      requestTimeoutMs: produceTimeoutMs + 5000,
      connectTimeoutMs: 5000,
      // The internal listener's TLS and SASL, as this node's other peer connections (checked at start).
      security: interBrokerSecurity(config).client,
    });
    context.metadata.onPublished(() => {
      for (const wake of this.imageWaiters.splice(0)) wake();
    });
  }

  /**
   * The peer's internal (CONTROLLER) listener as it registered it: the requests sent there were
   * authorized here with the HTTP caller's principal, and nodes trust each other there (whatever
   * TLS, SASL and ACLs the client listeners have; docs/http-api.md "In a cluster").
   */
  private addressOf(peer: number): PeerAddress | undefined {
    const endpoint = endpointOf(this.context.metadata.image, peer, internalListenerName);
    return endpoint ? { host: endpoint.host, port: endpoint.port } : undefined;
  }

  close(): void {
    this.peers.close();
    for (const wake of this.imageWaiters.splice(0)) wake();
  }

  /** The partition's leader in the image: this node, another, -1 (none now), or undefined (no such partition). */
  private leaderOf(image: MetadataImage, topic: string, partition: number): number | undefined {
    return partitionOf(image, topic, partition)?.leader;
  }

  /** Resolves on the next published image, or after the backoff. */
  private nextImage(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, retryBackoffMs);
      this.imageWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Runs `local` when this node leads the partition, `remote(leader)` otherwise, retrying while
   * the leadership moves. `remoteRetriable` says which remote failures may be sent again.
   */
  private async routed<T>(topic: string, partition: number, local: () => Promise<T>, remote: (leader: number) => Promise<T>, retryCodes = leaderMovedCodes): Promise<T> {
    const deadline = performance.now() + forwardTimeoutMs;
    for (;;) {
      const leader = this.leaderOf(this.context.metadata.image, topic, partition);
      let failure: unknown;
      try {
        if (leader === undefined || leader === this.context.nodeId) return await local();
        if (leader < 0) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition} has no leader now`);
        return await remote(leader);
      } catch (error) {
        if (!retriable(error, retryCodes)) throw error instanceof NotSent ? unavailable(topic, partition, error) : error;
        failure = error;
      }
      if (performance.now() >= deadline) throw failure instanceof NotSent ? unavailable(topic, partition, failure) : failure;
      await this.nextImage();
    }
  }

  override async produce(topic: string, partition: number, records: ProduceRecord[], acks: Acks, createIfMissing = false): Promise<ProduceResult> {
    assert(records.length > 0, "produce needs at least one record");
    if (isInternalTopic(topic)) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${topic}`);
    if (createIfMissing) await this.createIfMissing(topic);
    return this.routed(topic, partition, () => super.produce(topic, partition, records, acks), (leader) => this.forwardProduce(leader, topic, partition, records, acks));
  }

  private async forwardProduce(leader: number, topic: string, partition: number, records: ProduceRecord[], acks: Acks): Promise<ProduceResult> {
    const { batch, timestamps } = this.batchOf(records);
    // acks=0 has no answer to wait for; the forwarded request asks for the leader's own append.
    const response = await this.send(leader, "http", (peers) => peers.request(leader, "http", ProduceApi, {
      transactionalId: null,
      acks: acks === 0 ? 1 : acks,
      timeoutMs: produceTimeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    }, { version: produceVersion }), true);
    const answer = response.responses.find((entry) => entry.name === topic)?.partitionResponses.find((entry) => entry.index === partition);
    if (!answer) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `node ${leader} did not answer for ${topic}-${partition}`);
    if (answer.errorCode !== ErrorCode.NONE) throw new KafkaError(answer.errorCode, answer.errorMessage ?? `from node ${leader}`);
    const logAppendTime = answer.logAppendTimeMs >= 0n;
    return {
      partition,
      baseOffset: answer.baseOffset,
      timestampsMs: logAppendTime ? timestamps.map(() => answer.logAppendTimeMs) : timestamps,
      timestampType: logAppendTime ? "LogAppendTime" : "CreateTime",
    };
  }

  override async partitionOffsets(topic: string, partition: number): Promise<PartitionOffsets> {
    return this.routed(topic, partition, () => super.partitionOffsets(topic, partition), async (leader) => {
      const [logStartOffset, highWatermark] = await Promise.all([
        this.listOffset(leader, topic, partition, EARLIEST),
        this.listOffset(leader, topic, partition, LATEST),
      ]);
      return { logStartOffset, highWatermark };
    });
  }

  /** ListOffsets at the leader: the offset for `timestamp` (-1 when no record is at or after it). */
  private async listOffset(leader: number, topic: string, partition: number, timestamp: bigint): Promise<bigint> {
    const response = await this.send(leader, "http", (peers) => peers.request(leader, "http", ListOffsetsApi, {
      replicaId: -1, isolationLevel: 0, timeoutMs: 5000,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
    }, { version: listOffsetsVersion, timeoutMs: 10_000 }), false);
    const answer = response.topics.find((entry) => entry.name === topic)?.partitions.find((entry) => entry.partitionIndex === partition);
    if (!answer) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `node ${leader} did not answer for ${topic}-${partition}`);
    if (answer.errorCode !== ErrorCode.NONE) throw new KafkaError(answer.errorCode, `from node ${leader}`);
    return answer.offset;
  }

  override async waitForRecords(topic: string, partition: number, offset: bigint, waitMs: number, signal: AbortSignal): Promise<void> {
    await this.routed(topic, partition, () => super.waitForRecords(topic, partition, offset, waitMs, signal), async (leader) => {
      if (signal.aborted) return;
      // An abort answers at once; the parked Fetch at the leader ends by itself within waitMs
      // (Kafka has no way to cancel one), holding its fetch connection until then.
      let onAbort: () => void = () => {};
      const aborted = new Promise<void>((resolve) => {
        onAbort = resolve;
        signal.addEventListener("abort", onAbort, { once: true });
      });
      const fetched = this.fetch(leader, topic, partition, offset, 1, waitMs);
      fetched.catch(() => {});
      try {
        await Promise.race([fetched, aborted]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    });
  }

  override async read(request: ReadRequest): Promise<ReadResult> {
    return this.routed(request.topic, request.partition, () => super.read(request), (leader) => this.forwardRead(leader, request));
  }

  private async forwardRead(leader: number, request: ReadRequest): Promise<ReadResult> {
    let offset = request.offset;
    if (request.timestampMs !== undefined) {
      offset = await this.listOffset(leader, request.topic, request.partition, request.timestampMs);
      if (offset < 0n) offset = await this.listOffset(leader, request.topic, request.partition, LATEST);
    }
    assert(offset !== undefined, "a read needs an offset or a timestamp");
    const data = await this.fetch(leader, request.topic, request.partition, offset, Math.max(1, request.maxBytes), request.waitMs);
    const result: ReadResult = { records: [], nextOffset: offset, logStartOffset: data.logStartOffset, highWatermark: data.highWatermark };
    if (!data.records || data.records.length === 0) return result;
    collectRecords(data.records, request.topic, request.partition, offset, result);
    return result;
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────

  /**
   * Runs `local` when this node leads the group's __consumer_offsets partition (it coordinates the
   * group), `remote(coordinator)` otherwise, retrying while the coordinator moves or loads.
   */
  private async routedGroup<T>(groupId: string, local: () => Promise<T>, remote: (coordinator: number) => Promise<T>): Promise<T> {
    const deadline = performance.now() + forwardTimeoutMs;
    for (;;) {
      const count = this.context.metadata.image.topicsByName.get(OFFSETS_TOPIC)?.partitions.length;
      if (count !== undefined) break;
      // No group has a coordinator before __consumer_offsets exists: create it, as FindCoordinator does.
      this.createOffsetsTopic();
      if (performance.now() >= deadline) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${OFFSETS_TOPIC} does not exist yet`);
      await this.nextImage();
    }
    const partition = offsetsPartitionFor(groupId, this.context.metadata.image.topicsByName.get(OFFSETS_TOPIC)!.partitions.length);
    try {
      return await this.routed(OFFSETS_TOPIC, partition, local, remote, coordinatorMovedCodes);
    } catch (error) {
      if (error instanceof KafkaError && error.code === ErrorCode.LEADER_NOT_AVAILABLE) {
        throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `the coordinator of group '${groupId}' cannot be reached: ${error.message}`);
      }
      throw error;
    }
  }

  private createOffsetsTopic(): void {
    if (this.creatingOffsetsTopic) return;
    this.creatingOffsetsTopic = ensureOffsetsTopic(this.context.admin, this.context.config.values, this.context.metadata.image)
      .catch((error: unknown) => this.context.log.warn("creating the offsets topic failed", { error: String(error) }))
      .finally(() => {
        this.creatingOffsetsTopic = null;
      });
  }

  /** One group request to `coordinator`; a parking one (JoinGroup, SyncGroup) on a connection of its own. */
  private async sendToCoordinator<T>(coordinator: number, parks: boolean, request: (peers: PeerConnections, purpose: string) => Promise<T>): Promise<T> {
    if (!parks) return this.send(coordinator, "http-group", (peers) => request(peers, "http-group"), false);
    const lane = this.takeLane("join", coordinator);
    try {
      const purpose = `http-join-${lane}`;
      return await this.send(coordinator, purpose, (peers) => request(peers, purpose), false);
    } finally {
      this.releaseLane("join", coordinator, lane);
    }
  }

  override joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    return this.routedGroup(input.groupId, () => super.joinGroup(input), (coordinator) => this.groupForwarding.joinGroup(coordinator, input));
  }

  override syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    return this.routedGroup(input.groupId, () => super.syncGroup(input), (coordinator) => this.groupForwarding.syncGroup(coordinator, input));
  }

  override heartbeat(input: HeartbeatInput): Promise<number> {
    return this.routedGroup(input.groupId, () => super.heartbeat(input), (coordinator) => this.groupForwarding.heartbeat(coordinator, input));
  }

  override leaveGroup(groupId: string, members: LeaveMemberInput[]): Promise<LeaveGroupResult> {
    return this.routedGroup(groupId, () => super.leaveGroup(groupId, members), (coordinator) => this.groupForwarding.leaveGroup(coordinator, groupId, members));
  }

  override commitOffsets(input: OffsetCommitInput): Promise<PartitionErrors> {
    return this.routedGroup(input.groupId, () => super.commitOffsets(input), (coordinator) => this.groupForwarding.commitOffsets(coordinator, input));
  }

  override fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null): Promise<OffsetFetchResult> {
    return this.routedGroup(groupId, () => super.fetchOffsets(groupId, topics), (coordinator) => this.groupForwarding.fetchOffsets(coordinator, groupId, topics));
  }

  override describeGroup(groupId: string): Promise<DescribedGroup> {
    return this.routedGroup(groupId, () => super.describeGroup(groupId), (coordinator) => this.groupForwarding.describeGroup(coordinator, groupId));
  }

  /** Every group of the cluster: each live broker lists those it coordinates (as Kafka's admin client gathers them). */
  override async listGroups(): Promise<ListedGroup[]> {
    const brokers = liveBrokers(this.context.metadata.image).map((broker) => broker.id);
    const lists = await Promise.all(brokers.map(async (broker) => {
      if (broker === this.context.nodeId) return super.coordinatedGroups();
      try {
        return await this.groupForwarding.listGroups(broker);
      } catch (error) {
        if (error instanceof NotSent) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `node ${broker} cannot be reached to list its groups`);
        throw error;
      }
    }));
    const seen = new Map<string, ListedGroup>();
    for (const group of lists.flat()) seen.set(group.groupId, group);
    return [...seen.values()].sort((left, right) => left.groupId.localeCompare(right.groupId));
  }

  /**
   * Committed offsets (from the coordinator) against each partition's high watermark, so the
   * figures do not depend on which broker answers.
   */
  override async groupLag(groupId: string): Promise<PartitionLag[]> {
    return this.routedGroup(groupId, () => this.localGroupLag(groupId), () => this.lagThroughLeaders(groupId));
  }

  /** At the coordinator: its own figures, with the high watermark of partitions it holds no replica of asked of their leaders. */
  private async localGroupLag(groupId: string): Promise<PartitionLag[]> {
    const lags = await super.groupLag(groupId);
    return Promise.all(lags.map(async (lag) => {
      if (lag.logEndOffset >= 0n) return lag;
      const end = await this.partitionOffsets(lag.topic, lag.partition).then((offsets) => offsets.highWatermark, () => -1n);
      return { ...lag, logEndOffset: end, lag: end < 0n || lag.committed < 0n ? -1n : end > lag.committed ? end - lag.committed : 0n };
    }));
  }

  private async lagThroughLeaders(groupId: string): Promise<PartitionLag[]> {
    const committed = await this.fetchOffsets(groupId, null);
    if (committed.errorCode !== ErrorCode.NONE) throw new KafkaError(committed.errorCode, `offsets of group '${groupId}'`);
    const entries = committed.topics.flatMap((topic) => topic.partitions.filter((partition) => partition.errorCode === ErrorCode.NONE && partition.offset >= 0n)
      .map((partition) => ({ topic: topic.name, partition: partition.partition, committed: partition.offset })));
    const lags = await Promise.all(entries.map(async (entry) => {
      const end = await this.partitionOffsets(entry.topic, entry.partition).then((offsets) => offsets.highWatermark, () => -1n);
      const lag = end < 0n ? -1n : end > entry.committed ? end - entry.committed : 0n;
      return { topic: entry.topic, partition: entry.partition, committed: entry.committed, logEndOffset: end, lag };
    }));
    return lags.sort((left, right) => left.topic.localeCompare(right.topic) || left.partition - right.partition);
  }

  /** One partition's Fetch at the leader (sessionless, as a plain consumer), on a free fetch lane. */
  private async fetch(leader: number, topic: string, partition: number, offset: bigint, maxBytes: number, waitMs: number) {
    const lane = this.takeLane("fetch", leader);
    try {
      const purpose = `http-fetch-${lane}`;
      const response = await this.send(leader, purpose, (peers) => peers.request(leader, purpose, FetchApi, {
        replicaId: -1, maxWaitMs: waitMs, minBytes: 1, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: maxBytes, currentLeaderEpoch: -1, logStartOffset: -1n }] }],
      }, { version: fetchVersion, timeoutMs: waitMs + 10_000 }), false);
      if (response.errorCode !== ErrorCode.NONE) throw new KafkaError(response.errorCode, `Fetch at node ${leader}`);
      const data = response.responses.find((entry) => entry.topic === topic)?.partitions.find((entry) => entry.partitionIndex === partition);
      if (!data) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `node ${leader} did not answer for ${topic}-${partition}`);
      if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
        throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${offset} is outside ${data.logStartOffset}…${data.highWatermark} of ${topic}-${partition}`);
      }
      if (data.errorCode !== ErrorCode.NONE) throw new KafkaError(data.errorCode, `from node ${leader}`);
      return data;
    } finally {
      this.releaseLane("fetch", leader, lane);
    }
  }

  /** A free connection of `kind` to `peer` (the last one is shared once all are busy). */
  private takeLane(kind: string, peer: number): number {
    const key = `${kind}/${peer}`;
    let busy = this.lanesBusy.get(key);
    if (!busy) {
      busy = new Set();
      this.lanesBusy.set(key, busy);
    }
    let lane = 0;
    while (busy.has(lane) && lane < parkedLanesMax - 1) lane++;
    busy.add(lane);
    return lane;
  }

  private releaseLane(kind: string, peer: number, lane: number): void {
    this.lanesBusy.get(`${kind}/${peer}`)?.delete(lane);
  }

  /**
   * Sends through the peer connection. A failure to connect is NotSent (always safe to retry); a
   * connection lost after sending is retried only when `idempotent`, else REQUEST_TIMED_OUT.
   */
  private async send<T>(leader: number, purpose: string, request: (peers: PeerConnections) => Promise<T>, unsafe: boolean): Promise<T> {
    try {
      await this.peers.connected(leader, purpose);
    } catch (error) {
      throw new NotSent(error);
    }
    try {
      return await request(this.peers);
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      if (!unsafe) throw new NotSent(error);
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT,
        `the connection to the leader (node ${leader}) was lost after the request was sent; it may or may not have been written (${error.message})`);
    }
  }
}

function retriable(error: unknown, codes: ReadonlySet<number>): boolean {
  if (error instanceof NotSent) return true;
  return error instanceof KafkaError && codes.has(error.code);
}

function unavailable(topic: string, partition: number, error: NotSent): KafkaError {
  return new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `the leader of ${topic}-${partition} cannot be reached (${String((error.cause as Error)?.message ?? error.cause)})`);
}
