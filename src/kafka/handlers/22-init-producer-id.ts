// InitProducerId (key 22), versions 0-5 (flexible from 2). Idempotent producers (transactionalId
// null) get a new producer id and epoch 0 every time, as Kafka answers them (even when v3+ sends
// its previous id and epoch to ask for a bump: Kafka hands a non-transactional producer a fresh
// id). Ids come from blocks the controller commits to the metadata log before any id of them is
// handed out (src/cluster/producer-id-manager.ts): increasing, never reused across restarts.
//
// Not supported: transactions. A request with a transactionalId is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which every client treats as fatal and non-retriable, so a
// transactional producer fails at once with a clear error instead of retrying forever
// (docs/unsupported.md).

import { InitProducerIdApi } from "../../protocol/generated/init-producer-id.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { defineHandler } from "../handler.ts";
import { authorizeIdempotentWrite } from "../security.ts";

export default defineHandler({
  api: InitProducerIdApi,
  minVersion: 0,
  maxVersion: 5,
  async handle(request, ctx) {
    if (request.transactionalId !== null) {
      ctx.broker.log.info("refused InitProducerId for a transactional producer (transactions are not supported)", {
        transactionalId: request.transactionalId,
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 };
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
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
    }
  },
});
