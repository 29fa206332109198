// The cluster as Kafka clients see it, from the published metadata image: shared by Metadata,
// DescribeCluster and FindCoordinator.

import { endpointOf, liveBrokers } from "../cluster/index.ts";
import type { BrokerContext } from "./context.ts";

export interface VisibleBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** The live (unfenced) brokers with their endpoint of this node's client listener. */
export function brokersOf(broker: BrokerContext): VisibleBroker[] {
  return liveBrokers(broker.metadata.image).flatMap((registration) => {
    const endpoint = registration.endpoints.find((candidate) => candidate.name === broker.advertised.name);
    return endpoint ? [{ nodeId: registration.id, host: endpoint.host, port: endpoint.port, rack: registration.rack }] : [];
  });
}

/**
 * The controller id clients are told. Clients cannot reach a KRaft controller, so Kafka names a live
 * broker; here the active controller when it is one (always, on one node), else the first.
 */
export function controllerIdOf(broker: BrokerContext, brokers: readonly VisibleBroker[]): number {
  const active = broker.admin.activeControllerId;
  if (brokers.some((candidate) => candidate.nodeId === active)) return active;
  return brokers[0]?.nodeId ?? -1;
}

/** A live broker's client endpoint, or undefined when it is fenced or unknown. */
export function liveEndpointOf(broker: BrokerContext, nodeId: number): VisibleBroker | undefined {
  const image = broker.metadata.image;
  const registration = image.brokers.get(nodeId);
  const endpoint = endpointOf(image, nodeId, broker.advertised.name);
  if (!registration || registration.fenced || !endpoint) return undefined;
  return { nodeId, host: endpoint.host, port: endpoint.port, rack: registration.rack };
}
