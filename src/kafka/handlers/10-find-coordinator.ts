// FindCoordinator (key 10), v0-v6. A single node coordinates every group and every transactional
// id, so the answer is always this node: v0-v3 one key (keyType from v1), v4+ the batched
// coordinatorKeys form with one entry per key. keyType other than 0 (group) / 1 (transaction) is
// INVALID_REQUEST; an empty group id is INVALID_GROUP_ID. Before the group coordinator is up:
// COORDINATOR_NOT_AVAILABLE. Does not: share groups (keyType 2).

import { ErrorCode } from "../../protocol/errors.ts";
import { FindCoordinatorApi, type FindCoordinatorResponseCoordinator } from "../../protocol/generated/find-coordinator.ts";
import type { Init } from "../../protocol/primitives.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

function coordinatorFor(key: string, keyType: number, ctx: RequestContext): Init<FindCoordinatorResponseCoordinator> {
  const none = { key, nodeId: -1, host: "", port: -1 };
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) {
    return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unsupported key type ${keyType}` };
  }
  if (keyType === KEY_TYPE_GROUP && key === "") return { ...none, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: "empty group id" };
  if (keyType === KEY_TYPE_GROUP && !ctx.broker.groups) {
    return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: "the group coordinator is not running" };
  }
  const { host, port } = ctx.broker.advertised;
  return { key, nodeId: ctx.broker.nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
}

export default defineHandler({
  api: FindCoordinatorApi,
  minVersion: 0,
  maxVersion: FindCoordinatorApi.maxVersion,
  handle(request, ctx) {
    const keyType = ctx.version >= 1 ? request.keyType : KEY_TYPE_GROUP;
    if (ctx.version >= 4) {
      return { throttleTimeMs: 0, coordinators: request.coordinatorKeys.map((key) => coordinatorFor(key, keyType, ctx)) };
    }
    const found = coordinatorFor(request.key, keyType, ctx);
    return {
      throttleTimeMs: 0,
      errorCode: found.errorCode,
      errorMessage: found.errorMessage,
      nodeId: found.nodeId,
      host: found.host,
      port: found.port,
    };
  },
});
