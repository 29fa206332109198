// DescribeClientQuotas (key 48), v0-v1. The stored client quotas whose entity matches every
// component (match type 0 EXACT: that name, or the default when the name is null; 1 DEFAULT;
// 2 SPECIFIED: any name but the default); strict: the entity has no other types. Needs
// DESCRIBE_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED).

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeClientQuotasApi } from "../../protocol/generated/index.ts";
import { AclOperation } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

const EXACT = 0;
const DEFAULT = 1;
const SPECIFIED = 2;

export default defineHandler({
  api: DescribeClientQuotasApi,
  minVersion: 0,
  maxVersion: DescribeClientQuotasApi.maxVersion,
  handle(request, ctx) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE_CONFIGS)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: "Cluster authorization failed.", entries: null };
    }
    const bad = request.components.find((component) => component.matchType < EXACT || component.matchType > SPECIFIED);
    if (bad) return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown match type ${bad.matchType}`, entries: null };
    const entries = [...ctx.broker.metadata.image.clientQuotas.values()].filter((quota) => {
      const matches = request.components.every((component) => {
        const part = quota.entity.find((candidate) => candidate.entityType === component.entityType);
        if (!part) return false;
        if (component.matchType === DEFAULT) return part.entityName === null;
        if (component.matchType === SPECIFIED) return part.entityName !== null;
        return part.entityName === component.match;
      });
      const onlyThose = !request.strict || quota.entity.every((part) => request.components.some((component) => component.entityType === part.entityType));
      return matches && onlyThose;
    }).map((quota) => ({
      entity: quota.entity.map((part) => ({ entityType: part.entityType, entityName: part.entityName })),
      values: Object.entries(quota.values).map(([key, value]) => ({ key, value })),
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
});
