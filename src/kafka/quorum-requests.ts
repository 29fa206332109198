// What the internal listener's Raft handlers (Vote, BeginQuorumEpoch, EndQuorumEpoch, FetchSnapshot,
// the metadata Fetch) check first: a quorum to hand the request to, and the same cluster id.

import { ErrorCode } from "../protocol/errors.ts";
import type { BrokerContext } from "./context.ts";

/** The top-level error that refuses a Raft request, or null to serve it. */
export function quorumRefusal(broker: BrokerContext, clusterId: string | null): number | null {
  if (!broker.quorum?.raft) return ErrorCode.INVALID_REQUEST;
  if (clusterId !== null && clusterId !== broker.clusterId) return ErrorCode.INCONSISTENT_CLUSTER_ID;
  return null;
}
