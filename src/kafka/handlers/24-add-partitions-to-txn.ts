// AddPartitionsToTxn (key 24), v0-v5 (flexible from 3). v0-v3 (clients): one transactional id, its
// producer id and epoch, and the partitions to add to its ongoing transaction — every partition gets
// the one outcome (NONE, PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, CONCURRENT_TRANSACTIONS,
// NOT_COORDINATOR…), except that partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and the
// others then OPERATION_NOT_ATTEMPTED, as Kafka. v4+ (brokers, KIP-890): a batch of transactions, each
// possibly verifyOnly — then nothing is added and each partition answers whether it is in the
// transaction (NONE) or not (INVALID_TXN_STATE).
// ACLs, as Kafka: v0-v3 need WRITE on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED
// on every partition) and WRITE on each topic (TOPIC_AUTHORIZATION_FAILED on its partitions, the
// others OPERATION_NOT_ATTEMPTED); v4+ is a broker's request: CLUSTER_ACTION on the cluster (else
// CLUSTER_AUTHORIZATION_FAILED). Served on the internal listener too, to other nodes only: a
// partition leader verifying a transactional batch with the id's coordinator
// (transactions/remote-verification.ts).

import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddPartitionsToTxnApi,
  type AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from "../../protocol/generated/add-partitions-to-txn.ts";
import type { Init } from "../../protocol/primitives.ts";
import type { BrokerContext } from "../context.ts";
import { transactionCoordinatorError } from "../coordinator-check.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster, authorizeTopic, authorizeTransactionalId } from "../security.ts";

type TopicResult = Init<AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult>;

function everyPartition(topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], errorCode: (topic: string, partition: number) => number): TopicResult[] {
  return topics.map((topic) => ({
    name: topic.name,
    resultsByPartition: topic.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorCode(topic.name, partitionIndex) })),
  }));
}

async function addOrVerify(
  broker: BrokerContext,
  transaction: { transactionalId: string; producerId: bigint; producerEpoch: number; verifyOnly: boolean; topics: AddPartitionsToTxnRequestAddPartitionsToTxnTopic[] },
): Promise<TopicResult[]> {
  const { transactionalId, producerId, producerEpoch, topics } = transaction;
  const notHere = transactionCoordinatorError(broker, transactionalId);
  if (notHere !== ErrorCode.NONE) return everyPartition(topics, () => notHere);
  const coordinator = broker.transactions!.coordinator;
  if (transaction.verifyOnly) {
    return everyPartition(topics, (topic, partition) => coordinator.verifyPartition(transactionalId, producerId, producerEpoch, { topic, partition }));
  }
  const image = broker.metadata.image;
  const known = (topic: string, partition: number) => image.topicsByName.get(topic)?.partitions[partition] !== undefined;
  if (topics.some((topic) => topic.partitions.some((partition) => !known(topic.name, partition)))) {
    return everyPartition(topics, (topic, partition) => (known(topic, partition) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  }
  const partitions = topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition })));
  const errorCode = await coordinator.addPartitions(transactionalId, producerId, producerEpoch, partitions);
  return everyPartition(topics, () => errorCode);
}

/** A client's request refused by the ACLs (per-partition answers), or null when it may go on. */
function clientRefusal(ctx: RequestContext, transactionalId: string, topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[]): TopicResult[] | null {
  if (!authorizeTransactionalId(ctx, AclOperation.WRITE, transactionalId)) return everyPartition(topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const denied = new Set(topics.filter((topic) => !authorizeTopic(ctx, AclOperation.WRITE, topic.name)).map((topic) => topic.name));
  if (denied.size === 0) return null;
  return everyPartition(topics, (topic) => (denied.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED));
}

export default defineHandler({
  api: AddPartitionsToTxnApi,
  minVersion: 0,
  maxVersion: AddPartitionsToTxnApi.maxVersion,
  async handle(request, ctx) {
    if (ctx.version <= 3) {
      const refused = clientRefusal(ctx, request.v3AndBelowTransactionalId, request.v3AndBelowTopics);
      if (refused) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: refused };
      const results = await addOrVerify(ctx.broker, {
        transactionalId: request.v3AndBelowTransactionalId,
        producerId: request.v3AndBelowProducerId,
        producerEpoch: request.v3AndBelowProducerEpoch,
        verifyOnly: false,
        topics: request.v3AndBelowTopics,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: results };
    }
    if (!authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    const resultsByTransaction = await Promise.all(
      request.transactions.map(async (transaction) => ({ transactionalId: transaction.transactionalId, topicResults: await addOrVerify(ctx.broker, transaction) })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  },
});
