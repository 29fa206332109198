// InitProducerId (key 22), versions 0-5 (flexible from 2). Idempotent producers (transactionalId
// null) get a new producer id and epoch 0 every time, as Kafka answers them (even when v3+ sends
// its previous id and epoch to ask for a bump: Kafka hands a non-transactional producer a fresh
// id). Ids come from the durable allocator in src/cluster/producer-ids.ts: increasing, never
// reused across restarts.
//
// Not supported: transactions. A request with a transactionalId is refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which every client treats as fatal and non-retriable, so a
// transactional producer fails at once with a clear error instead of retrying forever
// (docs/unsupported.md).

import { dataDir } from "../../config/index.ts";
import { ProducerIdAllocator } from "../../cluster/producer-ids.ts";
import { InitProducerIdApi } from "../../protocol/generated/init-producer-id.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { BrokerContext } from "../context.ts";
import { defineHandler } from "../handler.ts";

/** One allocator per broker (opened on first use; it reads and writes its file under the data dir). */
const allocators = new WeakMap<BrokerContext, Promise<ProducerIdAllocator>>();

function allocatorFor(broker: BrokerContext): Promise<ProducerIdAllocator> {
  let allocator = allocators.get(broker);
  if (!allocator) {
    allocator = ProducerIdAllocator.open(dataDir(broker.config.values));
    // A failed open is retried by the next request rather than cached.
    allocator.catch(() => allocators.delete(broker));
    allocators.set(broker, allocator);
  }
  return allocator;
}

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
    try {
      const producerId = await (await allocatorFor(ctx.broker)).allocate();
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
    } catch (error) {
      // Retriable for the client: it asks again, and a later allocation may succeed.
      ctx.broker.log.error("producer id allocation failed", { error: String(error) });
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
    }
  },
});
