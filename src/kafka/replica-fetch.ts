// The leader's side of a replica fetch (Fetch with replicaId ≥ 0 — v15+: ReplicaState — from a
// follower broker's replica fetcher; docs/replication.md §5). Each partition goes to its leader
// replica's fetchForFollower (replication/partition.ts), which checks leadership and epochs, answers
// divergingEpoch when the follower's log differs, counts the follower's fetch offset as its log end
// offset (moving the high watermark, completing parked acks=all produces and consumer long polls)
// and reads up to the log end — not the high watermark. Bounded by each partition's
// partitionMaxBytes and the request's maxBytes (the first batch whole, KIP-74). When fewer than
// minBytes are ready the request parks on the partitions' log ends until maxWaitMs.
// The fetch offset of a parked fetch is counted on arrival and again when it is answered (Kafka's
// delayed fetch does the same), so a follower waiting at the log end stays caught up.
// Full fetches only (session id 0): a fetch session (KIP-227) would spare re-sending the partition
// list, not needed while one request per leader–follower pair carries every partition.

import { isBeingAdded } from "../cluster/image.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { FetchRequest, FetchResponse, FetchResponsePartitionData } from "../protocol/generated/index.ts";
import type { Init } from "../protocol/primitives.ts";
import type { FollowerFetchResult, Partition } from "../replication/index.ts";
import type { RequestContext } from "./handler.ts";

const noRecords = new Uint8Array(0);

interface ReplicaWant {
  topicIndex: number;
  partition: number;
  fetchOffset: bigint;
  lastFetchedEpoch: number;
  currentLeaderEpoch: number;
  partitionMaxBytes: number;
  replica: Partition | null;
  errorCode: number;
}

/** The fetching replica's id and broker epoch (-1: not sent, before v15). */
export function replicaOf(request: FetchRequest, version: number): { replicaId: number; replicaEpoch: bigint } {
  return version >= 15
    ? { replicaId: request.replicaState.replicaId, replicaEpoch: request.replicaState.replicaEpoch }
    : { replicaId: request.replicaId, replicaEpoch: -1n };
}

function resolveWanted(request: FetchRequest, ctx: RequestContext): { wanted: ReplicaWant[]; names: { topic: string; topicId: string }[] } {
  const image = ctx.broker.metadata.image;
  const byId = ctx.version >= 13;
  const wanted: ReplicaWant[] = [];
  const names: { topic: string; topicId: string }[] = [];
  for (const topic of request.topics) {
    const metadata = byId ? image.topicsById.get(topic.topicId) : image.topicsByName.get(topic.topic);
    names.push({ topic: topic.topic, topicId: topic.topicId });
    for (const partition of topic.partitions) {
      const want: ReplicaWant = {
        topicIndex: names.length - 1,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        lastFetchedEpoch: partition.lastFetchedEpoch,
        currentLeaderEpoch: partition.currentLeaderEpoch,
        partitionMaxBytes: partition.partitionMaxBytes,
        replica: null,
        errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      };
      if (metadata) {
        const local = ctx.broker.replicas.partition(metadata.name, partition.partition);
        if (local) {
          want.replica = local;
          want.errorCode = ErrorCode.NONE;
        } else {
          want.errorCode = lookupError(ctx, metadata.name, partition.partition);
        }
      }
      wanted.push(want);
    }
  }
  return { wanted, names };
}

/** Why there is no local replica: the ReplicaManager's answer (unknown, recovering, led elsewhere). */
function lookupError(ctx: RequestContext, topic: string, partition: number): number {
  try {
    ctx.broker.replicas.leaderPartition(topic, partition);
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
}

interface Pass {
  topics: { topic: string; topicId: string; partitions: Init<FetchResponsePartitionData>[] }[];
  bytes: number;
  /** Bytes of this pass going to replicas being added by a reassignment (the leader's throttle). */
  throttledBytes: number;
  /**
   * Partitions that had records but were answered with none (over the leader's throttle): the
   * long poll must not wake for their log end, which is already past the fetch offset — it would
   * spin without yielding (a synchronous wake) and stall this whole broker until the deadline.
   */
  withheld: Set<ReplicaWant>;
  answered: boolean;
  releases: (() => void)[];
}

/** One pass: every partition's answer as of now. `count`: record the fetch offsets (first pass only). */
function onePass(
  wanted: ReplicaWant[], names: { topic: string; topicId: string }[],
  context: { replicaId: number; countsProgress: boolean; responseBytesMax: number; count: boolean; nowMs: number; throttled: (replica: Partition) => boolean; throttleAvailable: number },
): Pass {
  const pass: Pass = { topics: names.map((name) => ({ ...name, partitions: [] })), bytes: 0, throttledBytes: 0, withheld: new Set(), answered: false, releases: [] };
  for (const want of wanted) {
    const partitions = pass.topics[want.topicIndex]!.partitions;
    const replica = want.replica;
    if (!replica || want.errorCode !== ErrorCode.NONE) {
      pass.answered = true;
      partitions.push(failed(want.partition, want.errorCode));
      continue;
    }
    // A replica in sync (or about to be) is never throttled: acks=all waits on it.
    const throttled = context.throttled(replica) && !replica.isInSyncForThrottle(context.replicaId, want.fetchOffset);
    // A throttled partition asks no more than the quota has left (one batch at least).
    const allowance = throttled ? context.throttleAvailable - pass.throttledBytes : Infinity;
    const budget = Math.max(0, Math.min(want.partitionMaxBytes, context.responseBytesMax - pass.bytes, allowance));
    let result: FollowerFetchResult;
    try {
      result = replica.fetchForFollower({
        replicaId: context.replicaId,
        fetchOffset: want.fetchOffset,
        lastFetchedEpoch: want.lastFetchedEpoch,
        currentLeaderEpoch: want.currentLeaderEpoch,
        maxBytes: Math.max(1, budget),
        nowMs: context.nowMs,
        countsProgress: context.countsProgress && context.count,
      });
    } catch (error) {
      if (!(error instanceof KafkaError)) throw error;
      pass.answered = true;
      const answer = failed(want.partition, error.code);
      if (error.code === ErrorCode.OFFSET_OUT_OF_RANGE) {
        answer.logStartOffset = replica.logStartOffset;
        answer.highWatermark = replica.highWatermark;
      }
      partitions.push(answer);
      continue;
    }
    if (throttled && allowance <= 0 && result.kind === "records") {
      // Over leader.replication.throttled.rate: a moving replica gets no records this time (its
      // fetch offset still counted above).
      result.read.release();
      pass.withheld.add(want);
      partitions.push({ partitionIndex: want.partition, errorCode: ErrorCode.NONE, highWatermark: result.highWatermark, lastStableOffset: replica.lastStableOffset, logStartOffset: result.logStartOffset, abortedTransactions: null, records: noRecords });
      continue;
    }
    const bytesBefore = pass.bytes;
    partitions.push(answerOf(want.partition, replica, result, pass, budget));
    if (throttled) pass.throttledBytes += pass.bytes - bytesBefore;
  }
  return pass;
}

function answerOf(partitionIndex: number, replica: Partition, result: FollowerFetchResult, pass: Pass, budget: number): Init<FetchResponsePartitionData> {
  const base = { partitionIndex, errorCode: ErrorCode.NONE, highWatermark: result.highWatermark, lastStableOffset: replica.lastStableOffset, logStartOffset: result.logStartOffset, abortedTransactions: null };
  if (result.kind === "diverging") {
    pass.answered = true;
    // An undefined epoch (the leader knows none that old) goes out as epoch -1 with end offset 0,
    // so the follower can tell it from "no divergence" (-1, -1) and truncate to its high watermark.
    const divergingEpoch = result.divergingEpoch.epoch < 0 ? { epoch: -1, endOffset: 0n } : result.divergingEpoch;
    return { ...base, divergingEpoch, records: noRecords };
  }
  const read = result.read;
  // Only the first data of the response may exceed the limits (KIP-74); the rest waits for the next fetch.
  if (pass.bytes > 0 && read.bytes > budget) {
    read.release();
    return { ...base, records: noRecords };
  }
  pass.releases.push(read.release);
  pass.bytes += read.bytes;
  const records = read.bytes === 0 ? noRecords : read.chunks.length === 1 ? read.chunks[0]! : read.chunks;
  return { ...base, records };
}

function failed(partitionIndex: number, errorCode: number): Init<FetchResponsePartitionData> {
  return { partitionIndex, errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: noRecords };
}

/**
 * Park until a partition's log end moves past its fetch offset, this node starts leading another
 * partition (the follower may follow it too: its next fetch should carry it at once), the
 * deadline, or an abort.
 */
function waitForLogEnds(ctx: RequestContext, wanted: ReplicaWant[], waitMs: number, signal: AbortSignal): Promise<void> {
  if (waitMs <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const cancels: (() => void)[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      for (const cancel of cancels) cancel();
      resolve();
    };
    const timer = setTimeout(finish, waitMs);
    signal.addEventListener("abort", finish, { once: true });
    cancels.push(ctx.broker.replicas.onLeadershipStarted(finish));
    for (const want of wanted) {
      if (done) break;
      if (want.replica && want.errorCode === ErrorCode.NONE) cancels.push(want.replica.onLogEnd(want.fetchOffset, finish));
    }
  });
}

export async function handleReplicaFetch(request: FetchRequest, ctx: RequestContext): Promise<Init<FetchResponse>> {
  const broker = ctx.broker;
  // Sessionless: a request asking for a new session (epoch 0) is answered with session id 0 (no
  // session, as KIP-227 allows); an incremental one names a session this path never gave.
  if (request.sessionId !== 0 && request.sessionEpoch > 0) {
    return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const { replicaId, replicaEpoch } = replicaOf(request, ctx.version);
  const registered = broker.metadata.image.brokers.get(replicaId);
  // KIP-903: a fetch from a previous incarnation of the broker is served but never counted.
  const countsProgress = replicaEpoch < 0n || (registered !== undefined && registered.epoch === replicaEpoch);
  const { wanted, names } = resolveWanted(request, ctx);
  const deadline = broker.clock.monotonicMs() + Math.max(0, request.maxWaitMs);
  const responseBytesMax = Math.max(0, request.maxBytes);
  const quota = broker.leaderReplicationQuota;
  for (;;) {
    // Every pass counts the fetch offset again, as Kafka does when it completes a delayed fetch:
    // a follower parked at the log end is still caught up when its fetch is answered.
    const pass = onePass(wanted, names, {
      replicaId, countsProgress, responseBytesMax, count: true, nowMs: broker.clock.monotonicMs(),
      throttled: (replica) => quota !== undefined && !quota.unlimited && isBeingAdded(broker.metadata.image, replica.topic, replica.partition, replicaId),
      throttleAvailable: quota?.available() ?? Infinity,
    });
    const remainingMs = deadline - broker.clock.monotonicMs();
    if (pass.answered || pass.bytes >= request.minBytes || remainingMs <= 0 || ctx.signal.aborted) {
      quota?.record(pass.throttledBytes);
      for (const release of pass.releases) ctx.onDone(release);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: pass.topics, nodeEndpoints: [] };
    }
    for (const release of pass.releases) release();
    // Withheld partitions are served again once the quota refills (at least one tick away: the
    // wait always yields to the event loop).
    const waitMs = pass.withheld.size > 0 ? Math.min(remainingMs, Math.max(1, quota?.waitMs() ?? 0)) : remainingMs;
    await waitForLogEnds(ctx, wanted.filter((want) => !pass.withheld.has(want)), waitMs, ctx.signal);
  }
}
