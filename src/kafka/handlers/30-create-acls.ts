// CreateAcls (key 30), v0-v3. Stores ACL bindings as AccessControlEntryRecord in the metadata log
// (so they replicate with the cluster's metadata); an existing identical binding is not duplicated.
// Per binding: INVALID_REQUEST (ANY/MATCH/UNKNOWN values, a cluster resource not named
// kafka-cluster, a principal not TYPE:NAME). Needs ALTER on the cluster; without an authorizer,
// SECURITY_DISABLED, as Kafka.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { CreateAclsApi } from "../../protocol/generated/index.ts";
import { AclOperation, type AclBinding } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

export default defineHandler({
  api: CreateAclsApi,
  minVersion: 0,
  maxVersion: CreateAclsApi.maxVersion,
  async handle(request, ctx) {
    const all = (errorCode: number, errorMessage: string) => ({ throttleTimeMs: 0, results: request.creations.map(() => ({ errorCode, errorMessage })) });
    if (!ctx.broker.internalListener && !ctx.broker.security?.authorizer.enabled) return all(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured.");
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed.");
    const bindings: AclBinding[] = request.creations.map((creation) => ({
      resourceType: creation.resourceType, resourceName: creation.resourceName, patternType: creation.resourcePatternType,
      principal: creation.principal, host: creation.host, operation: creation.operation, permissionType: creation.permissionType,
    }));
    try {
      return { throttleTimeMs: 0, results: await ctx.broker.admin.createAcls(bindings) };
    } catch (error) {
      return all(errorCodeOf(error), String(error));
    }
  },
});
