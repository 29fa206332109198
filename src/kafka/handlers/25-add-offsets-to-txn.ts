// AddOffsetsToTxn (key 25), v0-v4 (flexible from 3): adds the group's __consumer_offsets partition
// to the producer's ongoing transaction, so that its TxnOffsetCommit offsets get the transaction's
// marker. Errors as AddPartitionsToTxn (PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING,
// CONCURRENT_TRANSACTIONS, NOT_COORDINATOR…); COORDINATOR_NOT_AVAILABLE while __consumer_offsets
// does not exist; INVALID_GROUP_ID for an empty group id. ACLs, as Kafka: WRITE on the
// transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then READ on the group
// (GROUP_AUTHORIZATION_FAILED).

import { ErrorCode } from "../../protocol/errors.ts";
import { AddOffsetsToTxnApi } from "../../protocol/generated/add-offsets-to-txn.ts";
import { OFFSETS_TOPIC } from "../../groups/index.ts";
import { transactionCoordinatorError } from "../coordinator-check.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeGroup, authorizeTransactionalId } from "../security.ts";

export default defineHandler({
  api: AddOffsetsToTxnApi,
  minVersion: 0,
  maxVersion: AddOffsetsToTxnApi.maxVersion,
  async handle(request, ctx) {
    const answer = (errorCode: number) => ({ throttleTimeMs: 0, errorCode });
    if (!authorizeTransactionalId(ctx, AclOperation.WRITE, request.transactionalId)) return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!authorizeGroup(ctx, AclOperation.READ, request.groupId)) return answer(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    if (request.groupId === "") return answer(ErrorCode.INVALID_GROUP_ID);
    const notHere = transactionCoordinatorError(ctx.broker, request.transactionalId);
    if (notHere !== ErrorCode.NONE) return answer(notHere);
    const partition = ctx.broker.groups?.offsetsLog.partitionFor(request.groupId) ?? -1;
    if (partition < 0) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const coordinator = ctx.broker.transactions!.coordinator;
    return answer(await coordinator.addPartitions(request.transactionalId, request.producerId, request.producerEpoch, [{ topic: OFFSETS_TOPIC, partition }]));
  },
});
