// AllocateProducerIds (key 67), v0, internal (CONTROLLER) listener only: a block of 1,000 producer
// ids for a broker, committed before it is answered (controller/broker-operations.ts), so no id is
// handed out twice. NOT_CONTROLLER off the active controller; STALE_BROKER_EPOCH /
// BROKER_ID_NOT_REGISTERED for a registration that is not current.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { AllocateProducerIdsApi } from "../../protocol/generated/allocate-producer-ids.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: AllocateProducerIdsApi,
  minVersion: 0,
  maxVersion: 0,
  async handle(request, ctx) {
    const quorum = ctx.broker.quorum;
    if (!quorum || !quorum.controller.isActive) return { errorCode: ErrorCode.NOT_CONTROLLER };
    try {
      const block = await quorum.controller.allocateProducerIds(request.brokerId, request.brokerEpoch);
      return { errorCode: 0, producerIdStart: block.value.firstProducerId, producerIdLen: Number(block.value.size) };
    } catch (error) {
      return { errorCode: errorCodeOf(error) };
    }
  },
});
