// The Fetch handler's side of fetch sessions (KIP-227): turns a Fetch request into a session
// request for the cache (fetch-sessions.ts), the session's partitions back into the request's
// topic list, and the gathered answer into the response the session allows (an incremental one
// lists only partitions with something new). Topics are keyed by name, or by id from v13.

import type { FetchRequest, FetchRequestFetchTopic, FetchResponseFetchableTopicResponse } from "../protocol/generated/index.ts";
import { ZERO_UUID, type Init } from "../protocol/primitives.ts";
import type { BrokerContext } from "./context.ts";
import { FetchSessionCache, type FetchContext, type FetchPartitionRequest, type FetchSessionRequest } from "./fetch-sessions.ts";

const caches = new WeakMap<BrokerContext, FetchSessionCache>();

/** The broker's session cache (one per broker; created at its first Fetch). */
export function fetchSessionsOf(broker: BrokerContext): FetchSessionCache {
  let cache = caches.get(broker);
  if (cache === undefined) {
    cache = new FetchSessionCache({ slotsMax: broker.config.values["max.incremental.fetch.session.cache.slots"], nowMs: () => broker.clock.monotonicMs() });
    caches.set(broker, cache);
  }
  return cache;
}

export function sessionRequestOf(request: FetchRequest, version: number): FetchSessionRequest {
  const byId = version >= 13;
  const partitions: FetchPartitionRequest[] = [];
  for (const topic of request.topics) {
    const key = byId ? topic.topicId : topic.topic;
    for (const partition of topic.partitions) {
      partitions.push({
        topic: key,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        currentLeaderEpoch: partition.currentLeaderEpoch,
        logStartOffset: partition.logStartOffset,
        lastFetchedEpoch: partition.lastFetchedEpoch,
      });
    }
  }
  const forgotten = request.forgottenTopicsData.flatMap((topic) =>
    topic.partitions.map((partition) => ({ topic: byId ? topic.topicId : topic.topic, partition })));
  // Before v7 there are no sessions: every request is a full, sessionless one.
  const sessionless = version < 7;
  return {
    sessionId: sessionless ? 0 : request.sessionId,
    sessionEpoch: sessionless ? -1 : request.sessionEpoch,
    partitions,
    forgotten: sessionless ? [] : forgotten,
    fromFollower: request.replicaId >= 0 || request.replicaState.replicaId >= 0,
  };
}

/** The partitions to read, as the request's topic list; `sources` holds the session's entry of each. */
export interface TopicsToRead {
  topics: FetchRequestFetchTopic[];
  sources: FetchPartitionRequest[][];
}

/** The partitions to read, grouped by topic in first-seen order, as the request's topic list. */
export function topicsToRead(context: FetchContext, version: number): TopicsToRead {
  const byId = version >= 13;
  const topics = new Map<string, FetchRequestFetchTopic>();
  const sources = new Map<string, FetchPartitionRequest[]>();
  for (const partition of context.partitions) {
    let topic = topics.get(partition.topic);
    if (topic === undefined) {
      topic = { topic: byId ? "" : partition.topic, topicId: byId ? partition.topic : ZERO_UUID, partitions: [] };
      topics.set(partition.topic, topic);
      sources.set(partition.topic, []);
    }
    sources.get(partition.topic)!.push(partition);
    topic.partitions.push({
      partition: partition.partition,
      currentLeaderEpoch: partition.currentLeaderEpoch,
      fetchOffset: partition.fetchOffset,
      lastFetchedEpoch: partition.lastFetchedEpoch,
      logStartOffset: partition.logStartOffset,
      partitionMaxBytes: partition.partitionMaxBytes,
      replicaDirectoryId: ZERO_UUID,
    });
  }
  return { topics: [...topics.values()], sources: [...sources.values()] };
}

function recordsBytesOf(records: unknown): number {
  if (records instanceof Uint8Array) return records.length;
  if (Array.isArray(records)) return records.reduce((sum: number, piece: Uint8Array) => sum + piece.length, 0);
  return 0;
}

/**
 * The response's topics as the session allows: all of them for a full fetch (the session, if any,
 * remembers what was sent), only partitions with something new for an incremental one.
 */
export function sessionResponse(context: FetchContext, requested: TopicsToRead, topics: Init<FetchResponseFetchableTopicResponse>[]): Init<FetchResponseFetchableTopicResponse>[] {
  const kept: Init<FetchResponseFetchableTopicResponse>[] = [];
  topics.forEach((topic, topicIndex) => {
    const sources = requested.sources[topicIndex]!;
    const partitions = (topic.partitions ?? []).filter((answer, index) => {
      return context.include(
        sources[index]!,
        {
          errorCode: answer.errorCode ?? 0,
          highWatermark: answer.highWatermark ?? -1n,
          lastStableOffset: answer.lastStableOffset ?? -1n,
          logStartOffset: answer.logStartOffset ?? -1n,
          recordsBytes: recordsBytesOf(answer.records),
        },
      );
    });
    if (partitions.length > 0 || !context.incremental) kept.push({ ...topic, partitions });
  });
  return kept;
}
