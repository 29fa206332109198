// EndTxn (key 26), v0-v4 (flexible from 3): commit or abort the producer's ongoing transaction.
// Answered once the markers are on every partition of the transaction and the Complete state is
// durable (Kafka answers after the Prepare state; answering later keeps a read right after the
// commit consistent, at the cost of the markers' latency). A retried EndTxn of a completed
// transaction answers NONE; the other outcome INVALID_TXN_STATE; a stale epoch PRODUCER_FENCED.
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), as Kafka.
// Not served: v5 (KIP-890 part 2, an epoch bump per transaction; still unstable in Kafka).

import { ErrorCode } from "../../protocol/errors.ts";
import { EndTxnApi } from "../../protocol/generated/end-txn.ts";
import { transactionCoordinatorError } from "../coordinator-check.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTransactionalId } from "../security.ts";

export default defineHandler({
  api: EndTxnApi,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    if (!authorizeTransactionalId(ctx, AclOperation.WRITE, request.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    const notHere = transactionCoordinatorError(ctx.broker, request.transactionalId);
    if (notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: notHere };
    const coordinator = ctx.broker.transactions!.coordinator;
    const result = await coordinator.endTransaction(request.transactionalId, request.producerId, request.producerEpoch, request.committed);
    return { throttleTimeMs: 0, errorCode: result.errorCode };
  },
});
