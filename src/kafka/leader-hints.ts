// KIP-951 leader hints: a partition answered NOT_LEADER_OR_FOLLOWER (or FENCED_LEADER_EPOCH) names
// the leader this node knows (Produce v10+, Fetch v12+ currentLeader), and the response carries
// that leader's endpoint (Produce v10+, Fetch v16+ nodeEndpoints), so the client retries at the
// right broker without a Metadata round trip.

import { endpointOf, type MetadataImage } from "../cluster/index.ts";
import { NotLeaderOrFollowerError } from "../replication/index.ts";

export interface LeaderHint {
  leaderId: number;
  leaderEpoch: number;
}

/** The leader a failed partition should be retried at, when the error names one. */
export function leaderHintOf(error: unknown): LeaderHint | null {
  if (!(error instanceof NotLeaderOrFollowerError) || error.leaderId < 0) return null;
  return { leaderId: error.leaderId, leaderEpoch: error.leaderEpoch };
}

/** The endpoints (on `listenerName`) of the hinted leaders, for the response's nodeEndpoints. */
export function nodeEndpointsOf(image: MetadataImage, leaderIds: Iterable<number>, listenerName: string) {
  const endpoints = [];
  for (const nodeId of new Set(leaderIds)) {
    const endpoint = endpointOf(image, nodeId, listenerName);
    if (endpoint) endpoints.push({ nodeId, host: endpoint.host, port: endpoint.port, rack: image.brokers.get(nodeId)?.rack ?? null });
  }
  return endpoints;
}
