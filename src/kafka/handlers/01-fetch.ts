// Fetch (key 1), v0-v17, for consumers. v4+ read RecordBatch v2 as stored, zero-copy; v0-3 read the
// old message formats, down-converted per partition (../fetch-down-convert.ts: magic 0 for v0-1,
// magic 1 for v2-3, compression kept, whole messages within partition_max_bytes, a partial first
// message for v0-2 / a whole one for v3 as Kafka answers, UNSUPPORTED_VERSION when the topic sets
// message.downconversion.enable=false); the v4+ path does no extra work for them. Each partition is read through its
// leader replica (src/replication/partition.ts): whole batches from the fetch offset (the first
// starting at or before it; clients skip the records before it) below the high watermark — below
// the last stable offset for read_committed, with the aborted transactions whose data lies between
// the fetch offset and the end of the records answered (the client skips their batches; found in
// the segments' `.txnindex` files, storage/transaction-index.ts) — bounded by the partition's partitionMaxBytes and the response's maxBytes
// (capped by fetch.max.bytes); the first batch of the first non-empty partition is returned whole
// even when larger (KIP-74), later partitions only add what fits. Long polling: when fewer than
// minBytes are ready, the request parks on the partitions' high watermarks — last stable offsets for
// read_committed (replication/long-poll.ts, woken when they move, not by a timer) until maxWaitMs. Records go out zero-copy: the response holds
// views of the log, released once written (ctx.onDone).
// currentLeaderEpoch (v9+) fences stale or early clients (FENCED_LEADER_EPOCH /
// UNKNOWN_LEADER_EPOCH); a partition this node does not lead is NOT_LEADER_OR_FOLLOWER with the
// leader's id (v12+) and endpoint (v16+) (KIP-951).
// Fetch sessions (v7+, KIP-227, kafka/fetch-sessions.ts): epoch 0 opens a session (when
// max.incremental.fetch.session.cache.slots allows), later requests name only what changed and get
// only partitions with something new; FETCH_SESSION_ID_NOT_FOUND / INVALID_FETCH_SESSION_EPOCH as
// Kafka. v13+ address topics by id (UNKNOWN_TOPIC_ID when unknown).
// Replica fetches (replicaId ≥ 0; v15+ ReplicaState with the broker epoch) from followers' replica
// fetchers need CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED, top-level, otherwise) and
// go to ../replica-fetch.ts, sessionless: read up to the log end, divergingEpoch answers,
// follower progress counted toward the high watermark and the ISR.
// Does not: preferred read replicas (KIP-392), diverging-epoch answers to consumers.

import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import {
  FetchApi,
  type FetchRequest,
  type FetchResponseFetchableTopicResponse,
  type FetchResponsePartitionData,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import { READ_COMMITTED, waitForData, type Partition } from "../../replication/index.ts";
import { assert } from "../../util/assert.ts";
import { fetchSessionsOf, sessionRequestOf, sessionResponse, topicsToRead } from "../fetch-session-request.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { handleReplicaFetch, replicaOf } from "../replica-fetch.ts";
import { readDownConverted } from "../fetch-down-convert.ts";
import { leaderHintOf, nodeEndpointsOf, type LeaderHint } from "../leader-hints.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster, authorizeTopic, throttleFor } from "../security.ts";

/** No data is an empty record set (size 0), never null: librdkafka rejects a size of -1. */
const noRecords = new Uint8Array(0);

interface Wanted {
  topicIndex: number;
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  replica: Partition | undefined;
  /** Error decided before reading (unknown topic or partition, not the leader, fenced epoch). */
  errorCode: number;
  leaderHint: LeaderHint | null;
}

interface Gathered {
  topics: Init<FetchResponseFetchableTopicResponse>[];
  bytes: number;
  hasError: boolean;
  releases: (() => void)[];
  /** Bytes read per topic, for the bytes-out metric. */
  topicBytes: Map<string, number>;
}

/** Resolve every requested partition to its leader replica (or an error). */
function resolve(request: FetchRequest, ctx: RequestContext): { wanted: Wanted[]; topics: Init<FetchResponseFetchableTopicResponse>[] } {
  const image = ctx.broker.metadata.image;
  const replicas = ctx.broker.replicas;
  const byId = ctx.version >= 13;
  const wanted: Wanted[] = [];
  const topics: Init<FetchResponseFetchableTopicResponse>[] = [];
  for (const topic of request.topics) {
    const metadata = byId ? image.topicsById.get(topic.topicId) : image.topicsByName.get(topic.topic);
    const missing = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    topics.push({ topic: topic.topic, topicId: topic.topicId, partitions: [] });
    for (const partition of topic.partitions) {
      const want: Wanted = {
        topicIndex: topics.length - 1,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        replica: undefined,
        errorCode: missing,
        leaderHint: null,
      };
      if (metadata && !authorizeTopic(ctx, AclOperation.READ, metadata.name)) {
        want.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
      } else if (metadata) {
        try {
          want.replica = replicas.leaderPartition(metadata.name, partition.partition, ctx.version >= 9 ? partition.currentLeaderEpoch : -1);
          want.errorCode = ErrorCode.NONE;
        } catch (error) {
          if (!(error instanceof KafkaError)) throw error;
          want.errorCode = error.code;
          want.leaderHint = ctx.version >= 12 ? leaderHintOf(error) : null;
        }
      }
      wanted.push(want);
    }
  }
  return { wanted, topics };
}

/**
 * The aborted transactions a read_committed consumer reading from `fetchOffset` must skip: those
 * with data below `upperBound` (the offset after the records answered, as Kafka bounds it, so that
 * only the `.txnindex` files of the segments read are searched), at most the last stable offset.
 */
function abortedIn(replica: Partition, fetchOffset: bigint, upperBound: bigint | undefined): { producerId: bigint; firstOffset: bigint }[] {
  const stable = replica.lastStableOffset;
  const aborted = replica.abortedTransactions(fetchOffset, upperBound !== undefined && upperBound > fetchOffset && upperBound < stable ? upperBound : stable);
  return aborted.map((entry) => ({ producerId: entry.producerId, firstOffset: entry.firstOffset }));
}

/** One pass over every partition: read what is there now, within the byte limits. `version` < 4: down-converted. */
function gather(wanted: Wanted[], template: Init<FetchResponseFetchableTopicResponse>[], responseBytesMax: number, isolation: number, version: number): Gathered {
  const topics = template.map((topic) => ({ topic: topic.topic, topicId: topic.topicId, partitions: [] as Init<FetchResponsePartitionData>[] }));
  const gathered: Gathered = { topics, bytes: 0, hasError: false, releases: [], topicBytes: new Map() };
  const committedOnly = isolation === READ_COMMITTED;
  // Plain object literals, no spread: this runs for every partition of every pass (1,000 per pass).
  const answer = (want: Wanted, replica: Partition, errorCode: number, records: Init<FetchResponsePartitionData>["records"], highWatermark = replica.highWatermark, logStartOffset = replica.logStartOffset, upperBound?: bigint): Init<FetchResponsePartitionData> => ({
    partitionIndex: want.partition,
    errorCode,
    highWatermark,
    lastStableOffset: replica.lastStableOffset,
    logStartOffset,
    abortedTransactions: committedOnly ? abortedIn(replica, want.fetchOffset, upperBound) : null,
    records,
  });
  for (const want of wanted) {
    const partitions = topics[want.topicIndex]!.partitions;
    const replica = want.replica;
    if (!replica || want.errorCode !== ErrorCode.NONE) {
      gathered.hasError = true;
      const failed: Init<FetchResponsePartitionData> = { partitionIndex: want.partition, errorCode: want.errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: noRecords };
      if (want.leaderHint) failed.currentLeader = want.leaderHint;
      partitions.push(failed);
      continue;
    }
    const budget = Math.min(want.partitionMaxBytes, responseBytesMax - gathered.bytes);
    if (budget <= 0 || want.fetchOffset === replica.highWatermark) {
      partitions.push(answer(want, replica, ErrorCode.NONE, noRecords));
      continue;
    }
    try {
      if (version < 4) {
        const converted = readDownConverted(replica, version, want.fetchOffset, budget, isolation, gathered.bytes === 0);
        gathered.bytes += converted.records.length;
        if (converted.records.length > 0) gathered.topicBytes.set(replica.topic, (gathered.topicBytes.get(replica.topic) ?? 0) + converted.records.length);
        partitions.push(answer(want, replica, ErrorCode.NONE, converted.records, converted.highWatermark, converted.logStartOffset));
        continue;
      }
      const read = replica.readRecords(want.fetchOffset, budget, isolation);
      // Only the first data of the response may exceed the limits (KIP-74).
      if (read.bytes > budget && gathered.bytes > 0) {
        read.release();
        partitions.push(answer(want, replica, ErrorCode.NONE, noRecords));
        continue;
      }
      assert(read.chunks.reduce((sum, chunk) => sum + chunk.length, 0) === read.bytes, "read pieces add up to its bytes");
      gathered.releases.push(read.release);
      gathered.bytes += read.bytes;
      if (read.bytes > 0) gathered.topicBytes.set(replica.topic, (gathered.topicBytes.get(replica.topic) ?? 0) + read.bytes);
      // Several views (one per segment) go out as they are: the Writer takes a list of views.
      const records = read.bytes === 0 ? noRecords : read.chunks.length === 1 ? read.chunks[0]! : read.chunks;
      partitions.push(answer(want, replica, ErrorCode.NONE, records, read.highWatermark, read.logStartOffset, read.bytes > 0 ? read.nextOffset : undefined));
    } catch (error) {
      gathered.hasError = true;
      if (!(error instanceof KafkaError)) throw error;
      partitions.push(answer(want, replica, errorCodeOf(error), noRecords));
    }
  }
  return gathered;
}

/**
 * Whether a pass would find anything: data past a fetch offset (below the high watermark, or the
 * last stable offset for read_committed), or an error to answer (unknown partition, offset out of range).
 */
function anyToRead(wanted: Wanted[], isolation: number): boolean {
  for (const want of wanted) {
    if (!want.replica || want.errorCode !== ErrorCode.NONE) return true;
    const bound = isolation === READ_COMMITTED ? want.replica.lastStableOffset : want.replica.highWatermark;
    if (want.fetchOffset !== bound) return true;
  }
  return false;
}

export default defineHandler({
  api: FetchApi,
  minVersion: 0,
  maxVersion: FetchApi.maxVersion,
  async handle(request, ctx) {
    if (replicaOf(request, ctx.version).replicaId >= 0) {
      // Only other brokers replicate (Kafka: CLUSTER_ACTION on the cluster).
      if (!authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, sessionId: 0, responses: [] };
      return handleReplicaFetch(request, ctx);
    }
    const broker = ctx.broker;
    const session = fetchSessionsOf(broker).resolve(sessionRequestOf(request, ctx.version));
    if (session.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: session.errorCode, sessionId: 0, responses: [] };
    const requested = topicsToRead(session, ctx.version);
    const responseBytesMax = Math.max(0, Math.min(request.maxBytes, broker.config.values["fetch.max.bytes"]));
    const { wanted, topics } = resolve({ ...request, topics: requested.topics }, ctx);
    const replicas = wanted.flatMap((want) => (want.replica && want.errorCode === ErrorCode.NONE ? [want.replica] : []));
    const leaders = wanted.flatMap((want) => (want.leaderHint ? [want.leaderHint.leaderId] : []));
    const nodeEndpoints = ctx.version >= 16 && leaders.length > 0 ? nodeEndpointsOf(broker.metadata.image, leaders, broker.advertised.name) : [];
    const deadline = broker.clock.monotonicMs() + Math.max(0, request.maxWaitMs);
    for (;;) {
      // Nothing to read and time left: park first instead of building a 1,000-partition answer
      // only to drop it (a consumer that keeps up finds nothing on arrival, every time).
      if (request.minBytes > 0 && !anyToRead(wanted, request.isolationLevel) && !ctx.signal.aborted) {
        const waitMs = deadline - broker.clock.monotonicMs();
        if (waitMs > 0) await waitForData(replicas, waitMs, ctx.signal, request.isolationLevel);
      }
      const gathered = gather(wanted, topics, responseBytesMax, request.isolationLevel, ctx.version);
      const remainingMs = deadline - broker.clock.monotonicMs();
      const done = gathered.bytes >= request.minBytes || gathered.hasError || remainingMs <= 0 || ctx.signal.aborted;
      if (done) {
        for (const release of gathered.releases) ctx.onDone(release);
        for (const [topic, bytes] of gathered.topicBytes) broker.metrics?.topicBytesOut.inc({ topic }, bytes);
        // consumer_byte_rate: the records still go out; the client is muted for the throttle time.
        const throttleTimeMs = throttleFor(ctx, "consumer_byte_rate", gathered.bytes);
        const responses = sessionResponse(session, requested, gathered.topics);
        return { throttleTimeMs, errorCode: ErrorCode.NONE, sessionId: session.sessionId, responses, nodeEndpoints };
      }
      for (const release of gathered.releases) release();
      // With no partition to watch this simply sleeps out the wait, as Kafka does.
      await waitForData(replicas, remainingMs, ctx.signal, request.isolationLevel);
    }
  },
});
