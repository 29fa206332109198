// DescribeAcls (key 29), v0-v3. The ACL bindings a filter matches, grouped by resource pattern
// (pattern type MATCH: every binding that applies to the named resource — literal, wildcard and
// prefixes). Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); without an authorizer,
// SECURITY_DISABLED, as Kafka.

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeAclsApi } from "../../protocol/generated/index.ts";
import { AclOperation, filterMatches, type AclBinding } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

export default defineHandler({
  api: DescribeAclsApi,
  minVersion: 0,
  maxVersion: DescribeAclsApi.maxVersion,
  handle(request, ctx) {
    const refused = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    if (!ctx.broker.security?.authorizer.enabled) return refused(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.");
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    const filter = {
      resourceType: request.resourceTypeFilter, resourceName: request.resourceNameFilter, patternType: request.patternTypeFilter,
      principal: request.principalFilter, host: request.hostFilter, operation: request.operation, permissionType: request.permissionType,
    };
    const byResource = new Map<string, { resourceType: number; resourceName: string; patternType: number; acls: AclBinding[] }>();
    for (const binding of ctx.broker.metadata.image.acls.values()) {
      if (!filterMatches(filter, binding)) continue;
      const key = `${binding.resourceType}\u0000${binding.patternType}\u0000${binding.resourceName}`;
      let entry = byResource.get(key);
      if (!entry) byResource.set(key, (entry = { resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType, acls: [] }));
      entry.acls.push(binding);
    }
    const resources = [...byResource.values()].map((entry) => ({
      resourceType: entry.resourceType, resourceName: entry.resourceName, patternType: entry.patternType,
      acls: entry.acls.map((binding) => ({ principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType })),
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources };
  },
});
