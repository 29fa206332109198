// TxnOffsetCommit (key 28), v0-v4 (flexible from 3): a transactional producer commits a consumer
// group's offsets inside its transaction. Sent to the group's coordinator; the offsets are written
// to __consumer_offsets as the producer's transactional batch and become the group's committed
// offsets only when the transaction commits (dropped when it aborts) — see
// src/groups/transactional-offsets.ts. v3+ carry the member's generation, member id and instance id,
// checked like OffsetCommit's (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID); v0-v2 and
// generation -1 are not checked against the membership. A producer whose epoch is not the current
// one (when this node also coordinates the transactional id) gets PRODUCER_FENCED; a group the
// producer did not add with AddOffsetsToTxn gets INVALID_TXN_STATE.
// ACLs, as Kafka: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every
// partition), READ on the group (GROUP_AUTHORIZATION_FAILED on every partition), READ on each topic
// (TOPIC_AUTHORIZATION_FAILED on its partitions; the others are committed).

import { ErrorCode } from "../../protocol/errors.ts";
import { TxnOffsetCommitApi } from "../../protocol/generated/txn-offset-commit.ts";
import { OFFSETS_TOPIC } from "../../groups/index.ts";
import { coordinatorError } from "../coordinator-check.ts";
import { defineHandler } from "../handler.ts";
import { commitErrors, commitInput } from "../offset-commit-input.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeGroup, authorizeTopic, authorizeTransactionalId } from "../security.ts";

export default defineHandler({
  api: TxnOffsetCommitApi,
  minVersion: 0,
  maxVersion: TxnOffsetCommitApi.maxVersion,
  async handle(request, ctx) {
    const everyPartition = (errorCode: (topic: string, partition: number) => number) =>
      request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: errorCode(topic.name, partition.partitionIndex) })),
      }));
    if (!authorizeTransactionalId(ctx, AclOperation.WRITE, request.transactionalId)) return { throttleTimeMs: 0, topics: everyPartition(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) };
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) return { throttleTimeMs: 0, topics: everyPartition(() => ErrorCode.GROUP_AUTHORIZATION_FAILED) };
    const readable = new Set(request.topics.filter((topic) => authorizeTopic(ctx, AclOperation.READ, topic.name)).map((topic) => topic.name));
    const groups = ctx.broker.groups;
    const notHere = coordinatorError(ctx.broker, request.groupId);
    if (!groups || notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: everyPartition(() => notHere || ErrorCode.COORDINATOR_NOT_AVAILABLE) };
    const producerError = transactionalProducerError(ctx.broker, request);
    if (producerError !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: everyPartition(() => producerError) };
    const image = ctx.broker.metadata.image;
    const known = (topic: string, partition: number) => image.topicsByName.get(topic)?.partitions[partition] !== undefined;
    const result = await groups.coordinator.commitTransactionalOffsets(
      {
        groupId: request.groupId,
        generationId: ctx.version >= 3 ? request.generationId : -1,
        memberId: ctx.version >= 3 ? request.memberId : "",
        groupInstanceId: ctx.version >= 3 ? request.groupInstanceId : null,
        topics: commitInput(request.topics.filter((topic) => readable.has(topic.name)), known, ctx.version >= 2),
      },
      { producerId: request.producerId, producerEpoch: request.producerEpoch },
    );
    const errorOf = commitErrors(result);
    return {
      throttleTimeMs: 0,
      topics: everyPartition((topic, partition) =>
        (readable.has(topic) ? errorOf(topic, partition) ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
    };
  },
});

/** When this node coordinates the transactional id too: the producer must be current and have added the group's partition. */
function transactionalProducerError(
  broker: Parameters<typeof coordinatorError>[0],
  request: { transactionalId: string; groupId: string; producerId: bigint; producerEpoch: number },
): number {
  const transactions = broker.transactions;
  if (!transactions || transactions.coordinatorError(request.transactionalId) !== ErrorCode.NONE) return ErrorCode.NONE;
  const coordinator = transactions.coordinator;
  const producerError = coordinator.validateProducer(request.transactionalId, request.producerId, request.producerEpoch);
  if (producerError !== ErrorCode.NONE) return producerError;
  const partition = broker.groups?.offsetsLog.partitionFor(request.groupId) ?? -1;
  return coordinator.verifyPartition(request.transactionalId, request.producerId, request.producerEpoch, { topic: OFFSETS_TOPIC, partition });
}
