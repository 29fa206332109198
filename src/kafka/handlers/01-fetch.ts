// Fetch (key 1), v4-v17 (RecordBatch v2 only). Reads whole batches from each partition's log, the
// first starting at or before the fetch offset (clients skip the records before it), bounded by the
// partition's partitionMaxBytes and the response's maxBytes (capped by fetch.max.bytes); the first
// batch of the first non-empty partition is returned whole even when larger (KIP-74), later
// partitions only add what fits. Long polling: when fewer than minBytes are ready, the request parks
// on the partitions' waitForAppend (woken by an append, not by a timer) until maxWaitMs.
// read_committed is answered with the last stable offset = high watermark and an empty aborted
// transactions list (no transactions here). Records go out zero-copy: the response holds views of
// the log, released once written (ctx.onDone).
// Fetch sessions (v7+, KIP-227) are answered sessionless: session id 0, so clients keep sending
// full requests; an incremental request for a session id we never gave gets
// FETCH_SESSION_ID_NOT_FOUND. v13+ address topics by id (UNKNOWN_TOPIC_ID when unknown).
// Does not: follower fetching (replicaId), preferred read replicas, diverging-epoch detection.

import { ErrorCode, errorCodeOf, KafkaError } from "../../protocol/errors.ts";
import {
  FetchApi,
  type FetchRequest,
  type FetchResponseFetchableTopicResponse,
  type FetchResponsePartitionData,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import type { PartitionLog } from "../../storage/types.ts";
import { assert } from "../../util/assert.ts";
import { waitForData } from "../../cluster/partition-wait.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

const readCommitted = 1;
/** No data is an empty record set (size 0), never null: librdkafka rejects a size of -1. */
const noRecords = new Uint8Array(0);

interface Wanted {
  topicIndex: number;
  partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  log: PartitionLog | undefined;
  /** Error for an unknown topic or partition, decided before reading. */
  errorCode: number;
}

interface Gathered {
  topics: Init<FetchResponseFetchableTopicResponse>[];
  bytes: number;
  hasError: boolean;
  releases: (() => void)[];
  /** Bytes read per topic, for the bytes-out metric. */
  topicBytes: Map<string, number>;
}

/** Resolve every requested partition to its log (or an error). */
function resolve(request: FetchRequest, ctx: RequestContext): { wanted: Wanted[]; topics: Init<FetchResponseFetchableTopicResponse>[] } {
  const cluster = ctx.broker.cluster;
  const byId = ctx.version >= 13;
  const wanted: Wanted[] = [];
  const topics: Init<FetchResponseFetchableTopicResponse>[] = [];
  for (const topic of request.topics) {
    const metadata = byId ? cluster.topicById(topic.topicId) : cluster.topic(topic.topic);
    const missing = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    topics.push({ topic: topic.topic, topicId: topic.topicId, partitions: [] });
    for (const partition of topic.partitions) {
      const log = metadata ? cluster.partitionLog(metadata.name, partition.partition) : undefined;
      wanted.push({
        topicIndex: topics.length - 1,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: partition.partitionMaxBytes,
        log,
        errorCode: !metadata ? missing : log ? ErrorCode.NONE : cluster.unavailableCode(metadata.name, partition.partition),
      });
    }
  }
  return { wanted, topics };
}

/** One pass over every partition: read what is there now, within the byte limits. */
function gather(wanted: Wanted[], template: Init<FetchResponseFetchableTopicResponse>[], responseBytesMax: number, isolation: number): Gathered {
  const topics = template.map((topic) => ({ topic: topic.topic, topicId: topic.topicId, partitions: [] as Init<FetchResponsePartitionData>[] }));
  const gathered: Gathered = { topics, bytes: 0, hasError: false, releases: [], topicBytes: new Map() };
  const abortedTransactions = isolation === readCommitted ? [] : null;
  // Plain object literals, no spread: this runs for every partition of every pass (1,000 per pass).
  const answer = (want: Wanted, log: PartitionLog, errorCode: number, records: Init<FetchResponsePartitionData>["records"], highWatermark = log.highWatermark, logStartOffset = log.logStartOffset): Init<FetchResponsePartitionData> => ({
    partitionIndex: want.partition,
    errorCode,
    highWatermark,
    lastStableOffset: highWatermark,
    logStartOffset,
    abortedTransactions,
    records,
  });
  for (const want of wanted) {
    const partitions = topics[want.topicIndex]!.partitions;
    const log = want.log;
    if (!log || want.errorCode !== ErrorCode.NONE) {
      gathered.hasError = true;
      partitions.push({ partitionIndex: want.partition, errorCode: want.errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: noRecords });
      continue;
    }
    const budget = Math.min(want.partitionMaxBytes, responseBytesMax - gathered.bytes);
    if (budget <= 0 || want.fetchOffset === log.highWatermark) {
      partitions.push(answer(want, log, ErrorCode.NONE, noRecords));
      continue;
    }
    try {
      const read = log.read(want.fetchOffset, budget);
      // Only the first data of the response may exceed the limits (KIP-74).
      if (read.bytes > budget && gathered.bytes > 0) {
        read.release();
        partitions.push(answer(want, log, ErrorCode.NONE, noRecords));
        continue;
      }
      assert(read.chunks.reduce((sum, chunk) => sum + chunk.length, 0) === read.bytes, "read pieces add up to its bytes");
      gathered.releases.push(read.release);
      gathered.bytes += read.bytes;
      if (read.bytes > 0) gathered.topicBytes.set(log.topic, (gathered.topicBytes.get(log.topic) ?? 0) + read.bytes);
      // Several views (one per segment) go out as they are: the Writer takes a list of views.
      const records = read.bytes === 0 ? noRecords : read.chunks.length === 1 ? read.chunks[0]! : read.chunks;
      partitions.push(answer(want, log, ErrorCode.NONE, records, read.highWatermark, read.logStartOffset));
    } catch (error) {
      gathered.hasError = true;
      if (!(error instanceof KafkaError)) throw error;
      partitions.push(answer(want, log, errorCodeOf(error), noRecords));
    }
  }
  return gathered;
}

/** Whether a pass would find anything: data past a fetch offset, or an error to answer (unknown partition, offset out of range). */
function anyToRead(wanted: Wanted[]): boolean {
  for (const want of wanted) {
    if (!want.log || want.errorCode !== ErrorCode.NONE || want.fetchOffset !== want.log.highWatermark) return true;
  }
  return false;
}

export default defineHandler({
  api: FetchApi,
  minVersion: 4,
  maxVersion: FetchApi.maxVersion,
  async handle(request, ctx) {
    if (request.sessionId !== 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
    }
    const broker = ctx.broker;
    const responseBytesMax = Math.max(0, Math.min(request.maxBytes, broker.config.values["fetch.max.bytes"]));
    const { wanted, topics } = resolve(request, ctx);
    const logs = wanted.flatMap((want) => (want.log && want.errorCode === ErrorCode.NONE ? [want.log] : []));
    const deadline = broker.clock.monotonicMs() + Math.max(0, request.maxWaitMs);
    for (;;) {
      // Nothing to read and time left: park first instead of building a 1,000-partition answer
      // only to drop it (a consumer that keeps up finds nothing on arrival, every time).
      if (request.minBytes > 0 && !anyToRead(wanted) && !ctx.signal.aborted) {
        const waitMs = deadline - broker.clock.monotonicMs();
        if (waitMs > 0) await waitForData(logs, waitMs, ctx.signal);
      }
      const gathered = gather(wanted, topics, responseBytesMax, request.isolationLevel);
      const remainingMs = deadline - broker.clock.monotonicMs();
      const done = gathered.bytes >= request.minBytes || gathered.hasError || remainingMs <= 0 || ctx.signal.aborted;
      if (done) {
        for (const release of gathered.releases) ctx.onDone(release);
        for (const [topic, bytes] of gathered.topicBytes) broker.metrics?.topicBytesOut.inc({ topic }, bytes);
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: gathered.topics };
      }
      for (const release of gathered.releases) release();
      // With no partition to watch this simply sleeps out the wait, as Kafka does.
      await waitForData(logs, remainingMs, ctx.signal);
    }
  },
});
