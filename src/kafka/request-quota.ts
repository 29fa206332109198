// The request quota (request_percentage, KIP-124) the Runnel way. Kafka charges a user / client id
// the request-handler and network thread time its requests take, as a percentage of one thread
// over the quota window. Runnel has one event loop, so it charges the time the loop spends on a
// request where that time can be attributed to it:
//   - decoding the request, and the handler's synchronous part (up to its first await), measured
//     in the dispatcher when dispatch returns;
//   - encoding the response, measured when the response is ready.
// Not charged: the awaited parts of async handlers (appends, long polls, replication waits: they
// interleave with other clients' work, and Kafka does not charge a fetch's purgatory wait either),
// and the connection's own framing and socket writes.
//
// Exempt, as in Kafka: ApiVersions, SaslHandshake and SaslAuthenticate, requests on the internal
// (inter-broker) listener, cluster-action requests (and replica fetches) of a principal allowed
// CLUSTER_ACTION. Throttling is the byte quotas' (KIP-219): the response carries throttle_time_ms
// (the larger of the request and byte throttles) and the connection reads nothing for that time.

import { AclOperation } from "../security/acl.ts";
import type { RequestContext } from "./handler.ts";
import { replicaOf } from "./replica-fetch.ts";
import { authorizeCluster, recordQuota } from "./security.ts";
import { requestTimeValue } from "../security/quotas.ts";

const fetchKey = 1;
/** Never charged: the version probe and the SASL exchange. */
const alwaysExempt = new Set([17 /* SaslHandshake */, 18 /* ApiVersions */, 36 /* SaslAuthenticate */]);
/** Kafka's cluster-action APIs (inter-broker and controller traffic). */
const clusterActionApis = new Set([
  4, 5, 6, 7, // LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown
  27, // WriteTxnMarkers
  52, 53, 54, 56, 58, 59, // Vote, BeginQuorumEpoch, EndQuorumEpoch, AlterPartition, Envelope, FetchSnapshot
  62, 63, 67, 70, 73, // BrokerRegistration, BrokerHeartbeat, AllocateProducerIds, ControllerRegistration, AssignReplicasToDirs
]);

/** Whether this request is charged to its user / client id's request_percentage quota. */
export function chargesRequestQuota(ctx: RequestContext, request: unknown): boolean {
  const security = ctx.broker.security;
  if (security === undefined || !security.quotas.anySet || ctx.broker.internalListener) return false;
  const apiKey = ctx.header.apiKey;
  if (alwaysExempt.has(apiKey)) return false;
  const clusterAction = clusterActionApis.has(apiKey)
    || (apiKey === fetchKey && replicaOf(request as Parameters<typeof replicaOf>[0], ctx.version).replicaId >= 0);
  return !(clusterAction && authorizeCluster(ctx, AclOperation.CLUSTER_ACTION));
}

/**
 * Charge `milliseconds` of broker time. With `decide`, answer the throttle (ms) the response must
 * carry and mute the connection for it; without, only count (time spent after the decision).
 */
export function chargeRequestTime(ctx: RequestContext, milliseconds: number, decide: boolean): number {
  const throttleMs = recordQuota(ctx, "request_percentage", requestTimeValue(Math.max(0, milliseconds)), decide);
  return decide ? throttleMs : 0;
}

/** The response with its throttle_time_ms raised to `throttleMs` (KIP-219: the larger throttle wins). */
export function withThrottle<Body>(body: Body, throttleMs: number): Body {
  if (throttleMs <= 0) return body;
  const current = (body as { throttleTimeMs?: number }).throttleTimeMs ?? 0;
  if (current >= throttleMs) return body;
  return { ...body, throttleTimeMs: throttleMs };
}
