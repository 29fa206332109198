// OffsetFetch (key 9), v0-v9. Committed offsets of a group: v0-v7 one group (topics null = every
// committed partition, v2+), v8+ several groups at once (groups[]). A partition with no committed
// offset answers offset -1, metadata "" and no error, as Kafka. requireStable (v7+, KIP-447): a
// partition whose offset is pending in an ongoing transaction (TxnOffsetCommit before its marker)
// answers UNSTABLE_OFFSET_COMMIT, which clients retry; plain commits are applied only once written.
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED), DESCRIBE on each topic (named ones:
// TOPIC_AUTHORIZATION_FAILED per partition; when all are asked for, the others are left out).
// Does not: KIP-848 member id / epoch checks (v9 fields are ignored).
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetFetchApi } from "../../protocol/generated/offset-fetch.ts";
import type { OffsetFetchResult } from "../../groups/index.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic, groupRequestError } from "../security.ts";
import { defineHandler, type RequestContext } from "../handler.ts";

/**
 * The wire form, with Kafka's topic ACL (DESCRIBE): a topic the request named but the principal may
 * not describe answers TOPIC_AUTHORIZATION_FAILED per partition; when every committed topic was
 * asked for, such topics are left out.
 */
function toWire(result: OffsetFetchResult, ctx: RequestContext, namedTopics: boolean) {
  const version = ctx.version;
  return result.topics.flatMap((topic) => {
    const allowed = authorizeTopic(ctx, AclOperation.DESCRIBE, topic.name);
    if (!allowed && !namedTopics) return [];
    return [{
      name: topic.name,
      partitions: topic.partitions.map((partition) => ({
        partitionIndex: partition.partition,
        committedOffset: allowed ? partition.offset : -1n,
        committedLeaderEpoch: allowed && version >= 5 ? partition.leaderEpoch : -1,
        metadata: allowed ? partition.metadata : "",
        errorCode: allowed ? partition.errorCode : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
      })),
    }];
  });
}

export default defineHandler({
  api: OffsetFetchApi,
  minVersion: 0,
  maxVersion: OffsetFetchApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    if (ctx.version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((group) => {
          const notHere = groupRequestError(ctx, group.groupId, AclOperation.DESCRIBE);
          if (!groups || notHere !== ErrorCode.NONE) return { groupId: group.groupId, topics: [], errorCode: notHere };
          const wanted = group.topics?.map((topic) => ({ name: topic.name, partitions: topic.partitionIndexes })) ?? null;
          const result = groups.coordinator.fetchOffsets(group.groupId, wanted, request.requireStable);
          return { groupId: group.groupId, topics: toWire(result, ctx, wanted !== null), errorCode: result.errorCode };
        }),
      };
    }
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.DESCRIBE);
    if (!groups || notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: [], errorCode: notHere };
    const wanted = request.topics?.map((topic) => ({ name: topic.name, partitions: topic.partitionIndexes })) ?? null;
    const result = groups.coordinator.fetchOffsets(request.groupId, wanted, ctx.version >= 7 && request.requireStable);
    if (ctx.version < 2 && result.errorCode !== 0) {
      // v0-v1 have no top-level error: put it on every partition.
      const topics = (request.topics ?? []).map((topic) => ({
        name: topic.name,
        partitions: topic.partitionIndexes.map((partitionIndex) => ({
          partitionIndex, committedOffset: -1n, committedLeaderEpoch: -1, metadata: "", errorCode: result.errorCode,
        })),
      }));
      return { throttleTimeMs: 0, topics, errorCode: result.errorCode };
    }
    return { throttleTimeMs: 0, topics: toWire(result, ctx, wanted !== null), errorCode: result.errorCode };
  },
});
