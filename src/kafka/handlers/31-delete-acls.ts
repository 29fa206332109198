// DeleteAcls (key 31), v0-v3. Removes every binding each filter matches (RemoveAccessControlEntryRecord)
// and answers, per filter, the bindings it removed. Needs ALTER on the cluster; without an
// authorizer, SECURITY_DISABLED, as Kafka.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { DeleteAclsApi } from "../../protocol/generated/index.ts";
import { AclOperation, type AclBindingFilter } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

export default defineHandler({
  api: DeleteAclsApi,
  minVersion: 0,
  maxVersion: DeleteAclsApi.maxVersion,
  async handle(request, ctx) {
    const all = (errorCode: number, errorMessage: string) => ({
      throttleTimeMs: 0, filterResults: request.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (!ctx.broker.internalListener && !ctx.broker.security?.authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.");
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    const filters: AclBindingFilter[] = request.filters.map((filter) => ({
      resourceType: filter.resourceTypeFilter, resourceName: filter.resourceNameFilter, patternType: filter.patternTypeFilter,
      principal: filter.principalFilter, host: filter.hostFilter, operation: filter.operation, permissionType: filter.permissionType,
    }));
    try {
      const removed = await ctx.broker.admin.deleteAcls(filters);
      return {
        throttleTimeMs: 0,
        filterResults: removed.map((bindings) => ({
          errorCode: ErrorCode.NONE, errorMessage: null,
          matchingAcls: bindings.map((binding) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...binding })),
        })),
      };
    } catch (error) {
      return all(errorCodeOf(error), String(error));
    }
  },
});
