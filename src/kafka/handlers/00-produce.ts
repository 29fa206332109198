// Produce (key 0), v0-v11. v3+ carry RecordBatch v2 (exactly one batch per partition); v0-2 carry
// the old message sets (magic 0 for v0-1, magic 0 or 1 for v2), up-converted to one RecordBatch v2
// per partition before the append, as Kafka 3.x does (protocol/legacy-message-set/up-convert.ts:
// CRC-32 of every message, wrappers inflated within a cap derived from max.message.bytes, nested
// compression and bad wrapper offsets refused, codec kept, magic 1 timestamps kept, magic 0 ones
// -1 unless the topic uses LogAppendTime). v0-2 answers have their own shapes (no throttle time
// before v1, no logAppendTimeMs before v2: the generated codec writes what each version has).
// Idempotence and transactions stay v2-only, as in Kafka (the old formats cannot carry a producer
// id). Each partition is appended through its leader
// replica (src/replication/partition.ts), which owns the acks policy: acks=0 gets no response at
// all (the appends still complete before the next request's response, so order and backpressure
// hold) and a failed acks=0 request closes the connection, as Kafka does; acks=1 answers once the
// batch is in the leader's log; acks=-1 (all) once every in-sync replica has it (on one node: once
// it is on stable storage), within the request's timeoutMs. A partition this node does not lead is
// NOT_LEADER_OR_FOLLOWER with the leader's id and endpoint (KIP-951, v10+).
// Per-partition errors with Kafka's codes (unknown topic/partition, corrupt or too-large batches,
// sequence errors from the idempotent-producer check, NOT_ENOUGH_REPLICAS) and an error message
// (v8+); for INVALID_TIMESTAMP the indexes of the refused records in recordErrors (v8+), as Kafka
// answers. Unknown topics are auto-created per auto.create.topics.enable.
// message.timestamp.type=LogAppendTime is stamped by the log (the storage recomputes the CRC) and
// returned in logAppendTimeMs. More than one record batch for a partition is INVALID_RECORD, as in
// Kafka (v3+: exactly one). Internal topics (__consumer_offsets) are refused with
// INVALID_TOPIC_EXCEPTION, as in Kafka. Control batches are refused with INVALID_RECORD (storage:
// clients may not write them), and a transactional batch without a transactional id refuses the
// whole request with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka does
// (kafka/transactional-produce.ts).
// Does not: recompress to a topic's compression.type (an up-converted set keeps the producer's codec).

import { isInternalTopic } from "../../cluster/index.ts";
import { PartitionUnavailable } from "../../replication/index.ts";
import { appendToPartition, type Acks } from "../../replication/partition-append.ts";
import { ErrorCode, errorCodeOf, errorName, KafkaError, type RecordError } from "../../protocol/errors.ts";
import {
  ProduceApi,
  type ProduceRequestPartitionProduceData,
  type ProduceRequestTopicProduceData,
  type ProduceResponsePartitionProduceResponse,
  type ProduceResponseTopicProduceResponse,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import { upConvertMessageSet } from "../../protocol/legacy-message-set/index.ts";
import { recordsInflatedBytesMaxFor } from "../../protocol/record-batch.ts";
import type { BrokerContext } from "../context.ts";
import { CloseConnection, defineHandler } from "../handler.ts";
import { leaderHintOf, nodeEndpointsOf } from "../leader-hints.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCreateTopic, authorizeIdempotentWrite, authorizeTopic, authorizeTransactionalId, hasProducerId, throttleFor } from "../security.ts";
import { transactionalRefusal, unverifiedPartitions, withoutPartitions } from "../transactional-produce.ts";

type PartitionResponse = Init<ProduceResponsePartitionProduceResponse>;

function failed(index: number, errorCode: number, errorMessage: string | null = null, recordErrors: readonly RecordError[] = []): PartitionResponse {
  return {
    index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage,
    recordErrors: recordErrors.map((record) => ({ batchIndex: record.batchIndex, batchIndexErrorMessage: record.message })),
  };
}

/** The answer for a thrown error, with the leader hint (v10+) when it names one. */
function failedWith(broker: BrokerContext, topic: string, index: number, error: unknown, version: number, leaders: number[]): PartitionResponse {
  if (!(error instanceof KafkaError)) broker.log.error("append failed", { topic, partition: index, error: String(error) });
  // A partition that is not here (unknown, led elsewhere, still recovering) is answered without a message, as always.
  const message = error instanceof PartitionUnavailable ? null : error instanceof Error ? error.message : null;
  const response = failed(index, errorCodeOf(error), message, error instanceof KafkaError ? error.recordErrors : []);
  const hint = version >= 10 ? leaderHintOf(error) : null;
  if (hint) {
    response.currentLeader = hint;
    leaders.push(hint.leaderId);
  }
  return response;
}

interface ProduceContext {
  broker: BrokerContext;
  acks: Acks;
  timeoutMs: number;
  version: number;
  /** Leaders named by NOT_LEADER_OR_FOLLOWER answers (their endpoints go in nodeEndpoints). */
  leaders: number[];
  /** WRITE on the topic (ACLs). */
  mayWrite: (topic: string) => boolean;
  /** CREATE on the cluster or the topic: may auto-create it. */
  mayCreate: (topic: string) => boolean;
}

/** One partition. The append is issued before the first await: appends keep the order of requests. */
async function appendOne(context: ProduceContext, topic: string, data: ProduceRequestPartitionProduceData): Promise<PartitionResponse> {
  const { broker } = context;
  try {
    const records = context.version < 3 ? upConverted(broker, topic, data) : data.records;
    // The shared produce policy (replication/partition-append.ts): the HTTP API appends through it too.
    const result = await appendToPartition(broker, topic, data.index, records, context.acks, context.timeoutMs);
    return {
      index: data.index,
      errorCode: ErrorCode.NONE,
      baseOffset: result.baseOffset,
      logAppendTimeMs: result.logAppendTimeMs,
      logStartOffset: result.logStartOffset,
    };
  } catch (error) {
    return failedWith(broker, topic, data.index, error, context.version, context.leaders);
  }
}

/**
 * Produce v0-2: the partition's message set as one RecordBatch v2 (synchronous: the append order
 * holds). Throws KafkaError (nothing appended) for a set Kafka refuses, or for a partition this
 * node does not lead.
 */
function upConverted(broker: BrokerContext, topic: string, data: ProduceRequestPartitionProduceData): Uint8Array {
  if (data.records === null || data.records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, "the request holds no message");
  const config = broker.replicas.leaderPartition(topic, data.index).topicConfig;
  return upConvertMessageSet(data.records, { inflatedBytesMax: recordsInflatedBytesMaxFor(config["max.message.bytes"]) }).batch;
}

type TopicResponse = Init<ProduceResponseTopicProduceResponse>;

/**
 * Appends every partition of the request. Existing topics are appended to synchronously, in
 * request order, before any await (appends keep the order of requests); a missing topic is
 * created first. One flat wait over all partitions instead of a Promise.all per topic: the usual
 * request (one topic, one partition) then costs one promise hop, not five.
 */
function produceAll(context: ProduceContext, topics: readonly ProduceRequestTopicProduceData[]): Promise<TopicResponse[]> {
  const image = context.broker.metadata.image;
  const responses: TopicResponse[] = new Array(topics.length);
  const waits: Promise<void>[] = [];
  for (let topicIndex = 0; topicIndex < topics.length; topicIndex++) {
    const topicData = topics[topicIndex]!;
    const name = topicData.name;
    if (!context.mayWrite(name)) {
      responses[topicIndex] = { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED)) };
    } else if (isInternalTopic(name)) {
      // Internal topics are written by their coordinators only, as in Kafka.
      const message = `cannot append to internal topic ${name}`;
      responses[topicIndex] = { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, ErrorCode.INVALID_TOPIC_EXCEPTION, message)) };
    } else if (image.topicsByName.has(name)) {
      const partitionResponses: PartitionResponse[] = new Array(topicData.partitionData.length);
      responses[topicIndex] = { name, partitionResponses };
      for (let index = 0; index < topicData.partitionData.length; index++) {
        waits.push(appendOne(context, name, topicData.partitionData[index]!).then((response) => {
          partitionResponses[index] = response;
        }));
      }
    } else {
      waits.push(createThenAppend(context, topicData).then((response) => {
        responses[topicIndex] = response;
      }));
    }
  }
  if (waits.length === 0) return Promise.resolve(responses);
  if (waits.length === 1) return waits[0]!.then(() => responses);
  return Promise.all(waits).then(() => responses);
}

/** The responses in the request's order: the appended partitions' and the refused ones' errors. */
function withRefused(topics: readonly ProduceRequestTopicProduceData[], produced: TopicResponse[], refused: Map<string, number>): TopicResponse[] {
  const answers = new Map<string, PartitionResponse>();
  for (const topic of produced) for (const partition of topic.partitionResponses ?? []) answers.set(`${topic.name}\u0000${partition.index}`, partition);
  return topics.map((topic) => ({
    name: topic.name,
    partitionResponses: topic.partitionData.map((data) => {
      const key = `${topic.name}\u0000${data.index}`;
      return answers.get(key) ?? failed(data.index, refused.get(key) ?? ErrorCode.UNKNOWN_SERVER_ERROR, "the partition is not in the producer's ongoing transaction");
    }),
  }));
}

/** A topic that does not exist (yet): auto-created per auto.create.topics.enable, then appended to. */
async function createThenAppend(context: ProduceContext, topicData: ProduceRequestTopicProduceData): Promise<TopicResponse> {
  const name = topicData.name;
  let created;
  if (!context.mayCreate(name)) {
    return { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) };
  }
  try {
    created = await context.broker.admin.ensureTopic(name);
  } catch (error) {
    const code = errorCodeOf(error);
    return { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, code)) };
  }
  if (!created) {
    return { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) };
  }
  const partitionResponses = await Promise.all(topicData.partitionData.map((data) => appendOne(context, name, data)));
  return { name, partitionResponses };
}

export default defineHandler({
  api: ProduceApi,
  // (librdkafka 2.0.2 also compresses with gzip, snappy and lz4 only when the broker's Produce
  // range includes v0, and silently sends uncompressed batches otherwise.)
  minVersion: 0,
  maxVersion: ProduceApi.maxVersion,
  async handle(request, ctx) {
    const broker = ctx.broker;
    const acks = request.acks;
    const refuse = (errorCode: number, message: string): Init<ProduceResponseTopicProduceResponse>[] =>
      request.topicData.map((topic) => ({
        name: topic.name,
        partitionResponses: topic.partitionData.map((data) => failed(data.index, errorCode, message)),
      }));
    let responses: TopicResponse[];
    const context: ProduceContext = {
      broker, acks: acks as Acks, timeoutMs: request.timeoutMs, version: ctx.version, leaders: [],
      mayWrite: (topic) => authorizeTopic(ctx, AclOperation.WRITE, topic),
      mayCreate: (topic) => authorizeCreateTopic(ctx, topic),
    };
    let refusal: { errorCode: number; message: string } | null;
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      responses = refuse(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, was ${acks}`);
    } else if (ctx.version < 3) {
      // Old message formats: no producer id, no transactional id, so none of the checks below apply.
      responses = await produceAll(context, request.topicData);
    } else if ((refusal = transactionalRefusal(request.transactionalId, request.topicData)) !== null) {
      responses = refuse(refusal.errorCode, refusal.message);
    } else if (request.transactionalId !== null && !authorizeTransactionalId(ctx, AclOperation.WRITE, request.transactionalId)) {
      // A transactional producer needs WRITE on its transactional id, as in Kafka.
      responses = refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "Transactional Id authorization failed.");
    } else if (request.topicData.some((topic) => topic.partitionData.some((data) => hasProducerId(data.records))) && !authorizeIdempotentWrite(ctx)) {
      // An idempotent producer needs IDEMPOTENT_WRITE on the cluster (or WRITE on some topic), as in Kafka.
      responses = refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    } else {
      const verification = unverifiedPartitions(broker.transactions, request.transactionalId, request.topicData, (topic, partition, producerId) => {
        const replica = broker.replicas.partition(topic, partition);
        // Not led here: the append answers NOT_LEADER_OR_FOLLOWER; nothing to verify.
        return !replica || !replica.isLeader || replica.log.hasOngoingTransaction(producerId);
      });
      // Awaited only when a coordinator on another node is asked: appends otherwise start before any await.
      const unverified = verification instanceof Promise ? await verification : verification;
      responses = unverified.size === 0
        ? await produceAll(context, request.topicData)
        : withRefused(request.topicData, await produceAll(context, withoutPartitions(request.topicData, unverified)), unverified);
    }
    // producer_byte_rate (KIP-219): the answer goes out now with throttle_time_ms; the connection is muted meanwhile.
    let requestBytes = 0;
    for (const topic of request.topicData) for (const data of topic.partitionData) requestBytes += data.records?.length ?? 0;
    const throttleTimeMs = throttleFor(ctx, "producer_byte_rate", requestBytes);
    if (acks === 0) {
      // The client cannot learn of a failure from a response it never reads: close the connection
      // so that it notices and refreshes its metadata, as Kafka does.
      const failure = responses.flatMap((topic) => (topic.partitionResponses ?? []).filter((partition) => partition.errorCode !== ErrorCode.NONE));
      if (failure.length > 0) throw new CloseConnection(`acks=0 produce failed: ${errorName(failure[0]!.errorCode ?? -1)}`);
      return null;
    }
    if (context.leaders.length === 0) return { responses, throttleTimeMs };
    return { responses, throttleTimeMs, nodeEndpoints: nodeEndpointsOf(broker.metadata.image, context.leaders, broker.advertised.name) };
  },
});
