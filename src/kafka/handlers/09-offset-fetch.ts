// OffsetFetch (key 9), v0-v9. Committed offsets of a group: v0-v7 one group (topics null = every
// committed partition, v2+), v8+ several groups at once (groups[]). A partition with no committed
// offset answers offset -1, metadata "" and no error, as Kafka. requireStable (v7+) needs no
// waiting: commits are applied only once written and there are no pending transactional offsets.
// Does not: KIP-848 member id / epoch checks (v9 fields are ignored).
// A group this node does not coordinate now: NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS
// (../coordinator-check.ts: the leader of the group's __consumer_offsets partition coordinates it).

import { ErrorCode } from "../../protocol/errors.ts";
import { OffsetFetchApi } from "../../protocol/generated/offset-fetch.ts";
import type { OffsetFetchResult } from "../../groups/index.ts";
import { AclOperation } from "../../security/acl.ts";
import { groupRequestError } from "../security.ts";
import { defineHandler } from "../handler.ts";

function toWire(result: OffsetFetchResult, version: number) {
  return result.topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions.map((partition) => ({
      partitionIndex: partition.partition,
      committedOffset: partition.offset,
      committedLeaderEpoch: version >= 5 ? partition.leaderEpoch : -1,
      metadata: partition.metadata,
      errorCode: partition.errorCode,
    })),
  }));
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
          const result = groups.coordinator.fetchOffsets(group.groupId, wanted);
          return { groupId: group.groupId, topics: toWire(result, ctx.version), errorCode: result.errorCode };
        }),
      };
    }
    const notHere = groupRequestError(ctx, request.groupId, AclOperation.DESCRIBE);
    if (!groups || notHere !== ErrorCode.NONE) return { throttleTimeMs: 0, topics: [], errorCode: notHere };
    const wanted = request.topics?.map((topic) => ({ name: topic.name, partitions: topic.partitionIndexes })) ?? null;
    const result = groups.coordinator.fetchOffsets(request.groupId, wanted);
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
    return { throttleTimeMs: 0, topics: toWire(result, ctx.version), errorCode: result.errorCode };
  },
});
