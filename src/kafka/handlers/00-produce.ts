// Produce (key 0), v0-v11; records only as RecordBatch v2 (v3+, as Kafka 4): v0-2 are answered per
// partition with UNSUPPORTED_FOR_MESSAGE_FORMAT. acks 0, 1 and -1 (all): acks=0 gets no
// response at all (the appends still complete before the next request's response, so order and
// backpressure hold) and a failed acks=0 request closes the connection, as Kafka does; acks=1 answers once the batches are in the log; acks=-1 also waits until
// they are on stable storage (the node is its own only in-sync replica, so "all" means "durable").
// Per-partition errors with Kafka's codes (unknown topic/partition, corrupt or too-large batches,
// sequence errors from the idempotent-producer check) and an error message (v8+); for
// INVALID_TIMESTAMP the indexes of the refused records in recordErrors (v8+), as Kafka answers. Unknown topics
// are auto-created per auto.create.topics.enable. message.timestamp.type=LogAppendTime stamps the
// broker's clock (the storage recomputes the CRC) and returns it in logAppendTimeMs.
// More than one record batch for a partition is INVALID_RECORD, as in Kafka (v3+: exactly one).
// Internal topics (__consumer_offsets) are refused with INVALID_TOPIC_EXCEPTION, as in Kafka.
// Does not: transactions (a transactional id is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
// recompress to a topic's compression.type, or wait for timeoutMs (appends never queue for replicas).

import { isInternalTopic } from "../../cluster/index.ts";
import { appendToPartition, PartitionUnavailable, type Acks } from "../../cluster/partition-append.ts";
import { ErrorCode, errorCodeOf, errorName, KafkaError, type RecordError } from "../../protocol/errors.ts";
import {
  ProduceApi,
  type ProduceRequestPartitionProduceData,
  type ProduceRequestTopicProduceData,
  type ProduceResponsePartitionProduceResponse,
  type ProduceResponseTopicProduceResponse,
} from "../../protocol/generated/index.ts";
import type { Init } from "../../protocol/primitives.ts";
import type { BrokerContext } from "../context.ts";
import { CloseConnection, defineHandler } from "../handler.ts";

type PartitionResponse = Init<ProduceResponsePartitionProduceResponse>;

function failed(index: number, errorCode: number, errorMessage: string | null = null, recordErrors: readonly RecordError[] = []): PartitionResponse {
  return {
    index, errorCode, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, errorMessage,
    recordErrors: recordErrors.map((record) => ({ batchIndex: record.batchIndex, batchIndexErrorMessage: record.message })),
  };
}

async function appendOne(
  broker: BrokerContext,
  topic: string,
  data: ProduceRequestPartitionProduceData,
  acks: number,
): Promise<PartitionResponse> {
  try {
    // The shared produce policy (cluster/partition-append.ts): the HTTP API appends through it too.
    // Called synchronously for existing topics: appends keep the order of requests.
    const result = await appendToPartition(broker, topic, data.index, data.records, acks as Acks);
    return {
      index: data.index,
      errorCode: ErrorCode.NONE,
      baseOffset: result.baseOffset,
      logAppendTimeMs: result.logAppendTimeMs,
      logStartOffset: result.logStartOffset,
    };
  } catch (error) {
    if (!(error instanceof KafkaError)) broker.log.error("append failed", { topic, partition: data.index, error: String(error) });
    const recordErrors = error instanceof KafkaError ? error.recordErrors : [];
    // A partition that is not there (unknown, or still recovering) is answered without a message, as before.
    const message = error instanceof PartitionUnavailable ? null : error instanceof Error ? error.message : null;
    return failed(data.index, errorCodeOf(error), message, recordErrors);
  }
}

type TopicResponse = Init<ProduceResponseTopicProduceResponse>;

/**
 * Appends every partition of the request. Existing topics are appended to synchronously, in
 * request order, before any await (appends keep the order of requests); a missing topic is
 * created first. One flat wait over all partitions instead of a Promise.all per topic: the usual
 * request (one topic, one partition) then costs one promise hop, not five.
 */
function produceAll(broker: BrokerContext, topics: readonly ProduceRequestTopicProduceData[], acks: number): Promise<TopicResponse[]> {
  const responses: TopicResponse[] = new Array(topics.length);
  const waits: Promise<void>[] = [];
  for (let topicIndex = 0; topicIndex < topics.length; topicIndex++) {
    const topicData = topics[topicIndex]!;
    const name = topicData.name;
    if (isInternalTopic(name)) {
      // Internal topics are written by their coordinators only, as in Kafka.
      const message = `cannot append to internal topic ${name}`;
      responses[topicIndex] = { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, ErrorCode.INVALID_TOPIC_EXCEPTION, message)) };
    } else if (broker.cluster.topic(name) !== undefined) {
      const partitionResponses: PartitionResponse[] = new Array(topicData.partitionData.length);
      responses[topicIndex] = { name, partitionResponses };
      for (let index = 0; index < topicData.partitionData.length; index++) {
        waits.push(appendOne(broker, name, topicData.partitionData[index]!, acks).then((response) => {
          partitionResponses[index] = response;
        }));
      }
    } else {
      waits.push(createThenAppend(broker, topicData, acks).then((response) => {
        responses[topicIndex] = response;
      }));
    }
  }
  if (waits.length === 0) return Promise.resolve(responses);
  if (waits.length === 1) return waits[0]!.then(() => responses);
  return Promise.all(waits).then(() => responses);
}

/** A topic that does not exist (yet): auto-created per auto.create.topics.enable, then appended to. */
async function createThenAppend(broker: BrokerContext, topicData: ProduceRequestTopicProduceData, acks: number): Promise<TopicResponse> {
  const name = topicData.name;
  let created;
  try {
    created = await broker.cluster.ensureTopic(name);
  } catch (error) {
    const code = errorCodeOf(error);
    return { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, code)) };
  }
  if (!created) {
    return { name, partitionResponses: topicData.partitionData.map((data) => failed(data.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) };
  }
  const partitionResponses = await Promise.all(topicData.partitionData.map((data) => appendOne(broker, name, data, acks)));
  return { name, partitionResponses };
}

export default defineHandler({
  api: ProduceApi,
  // v0-2 are advertised although they carry message formats v0/v1 (answered below with
  // UNSUPPORTED_FOR_MESSAGE_FORMAT): librdkafka 2.0.2 compresses with gzip, snappy and lz4 only when
  // the broker's Produce range includes v0, and silently sends uncompressed batches otherwise.
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
    if (ctx.version < 3) {
      responses = refuse(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, "message formats v0 and v1 are not supported: use Produce v3+ (RecordBatch v2)");
    } else if (acks !== 0 && acks !== 1 && acks !== -1) {
      responses = refuse(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, was ${acks}`);
    } else if (request.transactionalId !== null) {
      responses = refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "transactions are not supported");
    } else {
      responses = await produceAll(broker, request.topicData, acks);
    }
    if (acks === 0) {
      // The client cannot learn of a failure from a response it never reads: close the connection
      // so that it notices and refreshes its metadata, as Kafka does.
      const failure = responses.flatMap((topic) => (topic.partitionResponses ?? []).filter((partition) => partition.errorCode !== ErrorCode.NONE));
      if (failure.length > 0) throw new CloseConnection(`acks=0 produce failed: ${errorName(failure[0]!.errorCode ?? -1)}`);
      return null;
    }
    return { responses, throttleTimeMs: 0 };
  },
});
