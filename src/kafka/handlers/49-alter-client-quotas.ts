// AlterClientQuotas (key 49), v0-v1. Sets or removes quota values of user / client-id (/ ip)
// entities, a null name being the entity type's default; stored as ClientQuotaRecord in the
// metadata log. Per entry: INVALID_REQUEST for an unknown key, a bad entity combination, a
// non-positive or (byte rates) fractional value. producer_byte_rate, consumer_byte_rate,
// request_percentage and controller_mutation_rate are enforced (security/quotas.ts);
// connection_creation_rate is stored and described but not applied. Needs ALTER_CONFIGS on the
// cluster (CLUSTER_AUTHORIZATION_FAILED).

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { AlterClientQuotasApi } from "../../protocol/generated/index.ts";
import { AclOperation } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

export default defineHandler({
  api: AlterClientQuotasApi,
  minVersion: 0,
  maxVersion: AlterClientQuotasApi.maxVersion,
  async handle(request, ctx) {
    const entityOf = (entry: (typeof request.entries)[number]) => entry.entity.map((part) => ({ entityType: part.entityType, entityName: part.entityName }));
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0, entries: request.entries.map((entry) => ({ errorCode, errorMessage, entity: entityOf(entry) })),
    });
    if (!authorizeCluster(ctx, AclOperation.ALTER_CONFIGS)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    try {
      const results = await ctx.broker.admin.alterClientQuotas(request.entries.map((entry) => ({ entity: entityOf(entry), ops: entry.ops })), request.validateOnly);
      return { throttleTimeMs: 0, entries: results.map((result, index) => ({ ...result, entity: entityOf(request.entries[index]!) })) };
    } catch (error) {
      return all(errorCodeOf(error), String(error));
    }
  },
});
