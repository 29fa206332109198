// FindCoordinator (key 10), v0-v6. A group's coordinator is the leader of its __consumer_offsets
// partition in the published metadata image (docs/replication.md §6), with that broker's endpoint;
// COORDINATOR_NOT_AVAILABLE while the partition has no live leader or the topic does not exist
// yet (it is then created, as Kafka creates it on first use: a broker's start creates it only once
// offsets.topic.replication.factor brokers are live). A transactional id's coordinator is the
// leader of its __transaction_state partition, the same way; that topic too is created on the
// first such request (COORDINATOR_NOT_AVAILABLE until it exists, and clients retry). v0-v3 one key
// (keyType from v1), v4+ the batched coordinatorKeys form with one entry per key. keyType other
// than 0 (group) / 1 (transaction) is INVALID_REQUEST; an empty group id is INVALID_GROUP_ID.
// Does not: share groups (keyType 2).

import { ensureOffsetsTopic, OFFSETS_TOPIC } from "../../groups/index.ts";
import { TRANSACTION_STATE_TOPIC } from "../../transactions/index.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { FindCoordinatorApi, type FindCoordinatorResponseCoordinator } from "../../protocol/generated/find-coordinator.ts";
import type { Init } from "../../protocol/primitives.ts";
import { liveEndpointOf } from "../cluster-view.ts";
import { defineHandler, type RequestContext } from "../handler.ts";
import { AclOperation, ResourceType } from "../../security/acl.ts";
import { authorize, authorizeGroup } from "../security.ts";

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

function transactionCoordinator(key: string, ctx: RequestContext): Init<FindCoordinatorResponseCoordinator> {
  const unavailable = (errorMessage: string) => ({ key, nodeId: -1, host: "", port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage });
  const transactions = ctx.broker.transactions;
  if (!transactions) return unavailable("the transaction coordinator is not running");
  const partition = transactions.log.partitionFor(key);
  if (partition < 0) {
    transactions.ensureTopic().catch((error: unknown) => ctx.broker.log.warn("creating __transaction_state failed", { error: String(error) }));
    return unavailable(`${TRANSACTION_STATE_TOPIC} does not exist yet`);
  }
  const leader = ctx.broker.metadata.image.topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions[partition]?.leader ?? -1;
  const endpoint = leader >= 0 ? liveEndpointOf(ctx.broker, leader) : undefined;
  if (!endpoint) return unavailable(`${TRANSACTION_STATE_TOPIC}-${partition} has no live leader`);
  return { key, nodeId: endpoint.nodeId, host: endpoint.host, port: endpoint.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

/** Create __consumer_offsets in the background (one attempt at a time); the client retries meanwhile. */
let creating: Promise<void> | null = null;
function createOffsetsTopic(ctx: RequestContext): void {
  if (creating) return;
  creating = ensureOffsetsTopic(ctx.broker.admin, ctx.broker.config.values, ctx.broker.metadata.image)
    .catch((error: unknown) => ctx.broker.log.warn("creating the offsets topic failed", { error: String(error) }))
    .finally(() => {
      creating = null;
    });
}

function groupCoordinator(key: string, ctx: RequestContext): Init<FindCoordinatorResponseCoordinator> {
  const unavailable = (errorMessage: string) => ({ key, nodeId: -1, host: "", port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage });
  const groups = ctx.broker.groups;
  if (!groups) return unavailable("the group coordinator is not running");
  const partition = groups.offsetsLog.partitionFor(key);
  if (partition < 0) {
    createOffsetsTopic(ctx);
    return unavailable(`${OFFSETS_TOPIC} does not exist yet`);
  }
  const leader = ctx.broker.metadata.image.topicsByName.get(OFFSETS_TOPIC)?.partitions[partition]?.leader ?? -1;
  const endpoint = leader >= 0 ? liveEndpointOf(ctx.broker, leader) : undefined;
  if (!endpoint) return unavailable(`${OFFSETS_TOPIC}-${partition} has no live leader`);
  return { key, nodeId: endpoint.nodeId, host: endpoint.host, port: endpoint.port, errorCode: ErrorCode.NONE, errorMessage: null };
}

function coordinatorFor(key: string, keyType: number, ctx: RequestContext): Init<FindCoordinatorResponseCoordinator> {
  const none = { key, nodeId: -1, host: "", port: -1 };
  if (keyType !== KEY_TYPE_GROUP && keyType !== KEY_TYPE_TRANSACTION) {
    return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unsupported key type ${keyType}` };
  }
  if (keyType === KEY_TYPE_GROUP) {
    if (key === "") return { ...none, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: "empty group id" };
    if (!authorizeGroup(ctx, AclOperation.DESCRIBE, key)) return { ...none, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null };
    return groupCoordinator(key, ctx);
  }
  if (key === "") return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: "empty transactional id" };
  if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key)) {
    return { ...none, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: null };
  }
  return transactionCoordinator(key, ctx);
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
