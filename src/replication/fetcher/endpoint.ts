// Where a follower reaches a leader for replica fetches: the leader's broker registration in the
// metadata image names its listeners. The internal listener (`CONTROLLER`, docs/replication.md §7)
// when the leader registered one, else its PLAINTEXT (Kafka) listener — the only one a cluster
// without an internal listener has. The one place to change when the registration's endpoints do.

import type { MetadataImage } from "../../cluster/image.ts";

const preferredListeners = ["CONTROLLER", "INTERNAL", "PLAINTEXT"];

export function replicaFetchEndpoint(image: MetadataImage, leaderId: number): { host: string; port: number } | null {
  const broker = image.brokers.get(leaderId);
  if (!broker || broker.endpoints.length === 0) return null;
  for (const name of preferredListeners) {
    const endpoint = broker.endpoints.find((candidate) => candidate.name === name);
    if (endpoint) return { host: endpoint.host, port: endpoint.port };
  }
  const first = broker.endpoints[0]!;
  return { host: first.host, port: first.port };
}
