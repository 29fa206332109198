// BrokerHeartbeat (key 63), v0-v1, internal (CONTROLLER) listener only: renews the broker's session
// on the active controller (controller/broker-sessions.ts) and unfences it once its metadata has
// caught up with its own registration. The connection that carries a broker's heartbeats is its
// session: when it closes (the broker process died), the broker is fenced at once; with no
// heartbeat for broker.session.timeout.ms it is fenced too. wantShutDown is a controlled shutdown
// (controller/controlled-shutdown.ts): the broker's leaderships move to other ISR members and it
// leaves the ISRs; shouldShutDown once it leads nothing. Not done: wantFence, offline log
// directories.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { BrokerHeartbeatApi } from "../../protocol/generated/broker-heartbeat.ts";
import { defineHandler } from "../handler.ts";

const watchedConnections = new WeakSet<AbortSignal>();

export default defineHandler({
  api: BrokerHeartbeatApi,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const quorum = ctx.broker.quorum;
    if (!quorum || !quorum.controller.isActive) return { errorCode: ErrorCode.NOT_CONTROLLER, isCaughtUp: false, isFenced: true };
    const sessions = quorum.sessions;
    if (sessions && !watchedConnections.has(ctx.signal)) {
      watchedConnections.add(ctx.signal);
      const connectionId = ctx.connectionId;
      ctx.signal.addEventListener("abort", () => sessions.connectionClosed(connectionId), { once: true });
    }
    try {
      const result = await quorum.controller.brokerHeartbeat({
        brokerId: request.brokerId, brokerEpoch: request.brokerEpoch, currentMetadataOffset: request.currentMetadataOffset,
      });
      sessions?.heartbeat(request.brokerId, request.brokerEpoch, ctx.connectionId);
      const shutdown = request.wantShutDown
        ? (await quorum.controller.controlledShutdown({ brokerId: request.brokerId, brokerEpoch: request.brokerEpoch })).value.shouldShutDown
        : false;
      return {
        errorCode: 0, isCaughtUp: request.currentMetadataOffset >= result.offset, isFenced: result.value.isFenced,
        shouldShutDown: shutdown,
      };
    } catch (error) {
      return { errorCode: errorCodeOf(error), isCaughtUp: false, isFenced: true };
    }
  },
});
