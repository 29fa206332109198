// AlterUserScramCredentials (key 51), v0 (KIP-554). Deletions and upsertions of SCRAM credentials;
// the client sends the salt and the salted password, the controller stores salt, StoredKey,
// ServerKey and iterations as UserScramCredentialRecord (cluster/controller/security-operations.ts).
// Answers per user: UNACCEPTABLE_CREDENTIAL (iterations outside 4096..16384, empty name),
// UNSUPPORTED_SASL_MECHANISM, RESOURCE_NOT_FOUND (deleting what does not exist),
// DUPLICATE_RESOURCE (a user and mechanism twice). Needs ALTER on the cluster.
// Sessions authenticated with a changed credential stay open until they re-authenticate.

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { AlterUserScramCredentialsApi } from "../../protocol/generated/index.ts";
import { AclOperation } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

export default defineHandler({
  api: AlterUserScramCredentialsApi,
  minVersion: 0,
  maxVersion: AlterUserScramCredentialsApi.maxVersion,
  async handle(request, ctx) {
    const users = [...new Set([...request.deletions, ...request.upsertions].map((item) => item.name))];
    if (!authorizeCluster(ctx, AclOperation.ALTER)) {
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) };
    }
    try {
      const results = await ctx.broker.admin.alterScramCredentials(request.deletions, request.upsertions);
      return { throttleTimeMs: 0, results };
    } catch (error) {
      const errorCode = errorCodeOf(error);
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode, errorMessage: String(error) })) };
    }
  },
});
