// controller_mutation_rate (KIP-599): partitions created (CreateTopics), added (CreatePartitions)
// and deleted (DeleteTopics) per second, per user / client id (the byte quotas' resolution), as a
// token bucket of quota × the quota window (security/quotas.ts). Requests of the versions KIP-599
// made strict (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+) get
// THROTTLING_QUOTA_EXCEEDED for every topic met while the bucket is below zero; older versions are
// never refused (their clients would not understand the error) and are only throttled. A topic's
// mutations are taken once it succeeded; the one that empties the bucket goes through (Kafka's
// "the request that breaches the quota is admitted"). validateOnly changes nothing and takes
// nothing. The answer carries the time until the bucket is back to zero as throttle_time_ms and
// the connection is muted for it (KIP-219). Requests forwarded on the internal listener were
// counted on the broker that received them.

import { quotaUserOf } from "../security/quotas.ts";
import type { RequestContext } from "./handler.ts";

const strictFrom: Readonly<Record<number, number>> = { 19: 6 /* CreateTopics */, 20: 5 /* DeleteTopics */, 37: 3 /* CreatePartitions */ };

export const throttlingQuotaExceededMessage = "The throttling quota has been exceeded.";

export class MutationQuota {
  private readonly user: string;
  private readonly clientId: string;
  private readonly strict: boolean;

  constructor(private readonly ctx: RequestContext, private readonly validateOnly: boolean) {
    this.user = quotaUserOf(ctx.session.principal);
    this.clientId = ctx.header.clientId ?? "";
    const from = strictFrom[ctx.header.apiKey];
    this.strict = from !== undefined && ctx.version >= from;
  }

  private get quotas() {
    if (this.validateOnly || this.ctx.broker.internalListener) return undefined;
    return this.ctx.broker.security?.quotas;
  }

  /** Whether the next topic must be refused with THROTTLING_QUOTA_EXCEEDED. */
  refuses(): boolean {
    if (!this.strict) return false;
    return this.quotas?.mutationState(this.user, this.clientId)?.exceeded ?? false;
  }

  /** A topic's mutations succeeded: take them from the bucket. */
  record(partitions: number): void {
    if (partitions > 0) this.quotas?.recordMutations(this.user, this.clientId, partitions);
  }

  /** The response's throttle_time_ms (the connection is muted for it), 0 without a quota or when within it. */
  throttleMs(): number {
    const state = this.quotas?.mutationState(this.user, this.clientId);
    if (!state || state.throttleMs <= 0) return 0;
    const metrics = this.ctx.broker.metrics;
    metrics?.quotaThrottledResponses.inc({ quota: "controller_mutation_rate", entity: state.entity });
    metrics?.quotaThrottleSeconds.inc({ quota: "controller_mutation_rate", entity: state.entity }, state.throttleMs / 1000);
    this.ctx.session.muteConnection(state.throttleMs);
    return state.throttleMs;
  }
}
