// ListGroups (key 16), v0-v5. Every group this node coordinates (all of them: one node). v4+
// statesFilter (case-insensitive state names), v5+ typesFilter: every group here is "classic"
// (KIP-848 "consumer" groups are not implemented), so a filter without "classic" lists nothing.

import { ErrorCode } from "../../protocol/errors.ts";
import { ListGroupsApi } from "../../protocol/generated/list-groups.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: ListGroupsApi,
  minVersion: 0,
  maxVersion: ListGroupsApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const types = ctx.version >= 5 ? request.typesFilter.map((type) => type.toLowerCase()) : [];
    if (types.length > 0 && !types.includes("classic")) return { throttleTimeMs: 0, errorCode: 0, groups: [] };
    const listed = groups.coordinator.listGroups(ctx.version >= 4 ? request.statesFilter : []);
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      groups: listed.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: "classic" })),
    };
  },
});
