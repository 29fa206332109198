// InitProducerId (key 22), versions 0-5 (flexible from 2). Idempotent producers (transactionalId
// null) get a new producer id and epoch 0 every time, as Kafka answers them (even when v3+ sends
// its previous id and epoch to ask for a bump: Kafka hands a non-transactional producer a fresh
// id). Ids come from blocks the controller commits to the metadata log before any id of them is
// handed out (src/cluster/producer-id-manager.ts): increasing, never reused across restarts.
//
// Transactional producers go to the transaction coordinator (src/transactions/): the id's first
// call gets a new producer id at epoch 0, later calls bump the epoch (fencing older incarnations:
// PRODUCER_FENCED); an ongoing transaction of the previous incarnation is aborted first
// (CONCURRENT_TRANSACTIONS until it is, which clients retry). transaction.timeout.ms above
// transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT. v3+ producerId/epoch (KIP-360) must
// name the current incarnation. NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when the id's
// __transaction_state partition is not (yet) served here.
// ACLs, as Kafka: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); without
// one, IDEMPOTENT_WRITE on the cluster or WRITE on some topic (CLUSTER_AUTHORIZATION_FAILED).

import { InitProducerIdApi } from "../../protocol/generated/init-producer-id.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { transactionCoordinatorError } from "../coordinator-check.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeIdempotentWrite, authorizeTransactionalId } from "../security.ts";

export default defineHandler({
  api: InitProducerIdApi,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    const fail = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 });
    if (request.transactionalId !== null) {
      if (!authorizeTransactionalId(ctx, AclOperation.WRITE, request.transactionalId)) return fail(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const notHere = transactionCoordinatorError(ctx.broker, request.transactionalId);
      if (notHere !== ErrorCode.NONE) return fail(notHere);
      const expected = ctx.version >= 3 && request.producerId >= 0n ? { producerId: request.producerId, producerEpoch: request.producerEpoch } : null;
      const result = await ctx.broker.transactions!.coordinator.initProducerId(request.transactionalId, request.transactionTimeoutMs, expected);
      return { throttleTimeMs: 0, ...result };
    }
    if (!authorizeIdempotentWrite(ctx)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
    }
    try {
      const producerId = await ctx.broker.producerIds.generate();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    } catch (error) {
      // Retriable for the client: it asks again, and a later allocation may succeed.
      ctx.broker.log.error("producer id allocation failed", { error: String(error) });
      return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  },
});
