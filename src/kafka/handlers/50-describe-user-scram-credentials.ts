// DescribeUserScramCredentials (key 50), v0 (KIP-554). Per user, the mechanisms and iterations of
// its SCRAM credentials (never salts or keys). No user list: every user. A named user without
// credentials answers RESOURCE_NOT_FOUND, a name given twice DUPLICATE_RESOURCE. Needs DESCRIBE on
// the cluster (CLUSTER_AUTHORIZATION_FAILED for the whole request otherwise).

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeUserScramCredentialsApi } from "../../protocol/generated/index.ts";
import { AclOperation } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

export default defineHandler({
  api: DescribeUserScramCredentialsApi,
  minVersion: 0,
  maxVersion: DescribeUserScramCredentialsApi.maxVersion,
  handle(request, ctx) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, results: [] };
    }
    const credentials = ctx.broker.metadata.image.scramCredentials;
    const names = request.users === null ? [...credentials.keys()].sort() : request.users.map((user) => user.name);
    const counts = new Map<string, number>();
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
    const results = [...new Set(names)].map((user) => {
      const forUser = credentials.get(user);
      if ((counts.get(user) ?? 0) > 1) return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: "Cannot describe SCRAM credentials for the same user twice in a single request", credentialInfos: [] };
      if (!forUser) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: "Attempt to describe a user credential that does not exist", credentialInfos: [] };
      const credentialInfos = [...forUser.values()].map((credential) => ({ mechanism: credential.mechanism, iterations: credential.iterations }));
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos };
    });
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
});
