// BrokerRegistration (key 62), v0-v4, internal (CONTROLLER) listener only: a broker process
// registering with the active controller (docs/replication.md §3). It registers fenced; its broker
// epoch is the registration record's offset. previousBrokerEpoch (v3+, KIP-966): -1 means the broker
// did not shut down cleanly (its replicas leave the ISRs until caught up). Not the active
// controller: NOT_CONTROLLER (the broker retries with the new leader). Another cluster:
// INCONSISTENT_CLUSTER_ID. Not done: features, log directories, ZooKeeper migration.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { BrokerRegistrationApi } from "../../protocol/generated/broker-registration.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: BrokerRegistrationApi,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    const quorum = ctx.broker.quorum;
    if (!quorum) return { errorCode: ErrorCode.NOT_CONTROLLER, brokerEpoch: -1n };
    if (request.clusterId !== ctx.broker.clusterId) return { errorCode: ErrorCode.INCONSISTENT_CLUSTER_ID, brokerEpoch: -1n };
    try {
      const registered = await quorum.controller.registerBroker({
        brokerId: request.brokerId, incarnationId: request.incarnationId,
        endpoints: request.listeners.map((listener) => ({ name: listener.name, host: listener.host, port: listener.port, securityProtocol: listener.securityProtocol })),
        rack: request.rack, cleanShutdown: ctx.version >= 3 ? request.previousBrokerEpoch !== -1n : false,
      });
      await ctx.broker.metadata.waitForPublished(registered.offset);
      quorum.sessions?.heartbeat(request.brokerId, registered.value, null);
      return { errorCode: 0, brokerEpoch: registered.value };
    } catch (error) {
      return { errorCode: errorCodeOf(error), brokerEpoch: -1n };
    }
  },
});
