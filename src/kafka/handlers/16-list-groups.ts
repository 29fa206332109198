// ListGroups (key 16), v0-v5. Every group this node coordinates (all of them: one node): classic
// groups and KIP-848 consumer groups. v4+ statesFilter (case-insensitive state names), v5+
// typesFilter ("classic", "consumer").
// ACLs: every group with DESCRIBE on the cluster, else the groups the principal may DESCRIBE.
// Lists the groups this node coordinates now; COORDINATOR_LOAD_IN_PROGRESS while one of its offsets
// partitions is still loading (the list would be incomplete), as Kafka answers.

import { ErrorCode } from "../../protocol/errors.ts";
import { ListGroupsApi } from "../../protocol/generated/list-groups.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeCluster, authorizeGroup } from "../security.ts";

export default defineHandler({
  api: ListGroupsApi,
  minVersion: 0,
  maxVersion: ListGroupsApi.maxVersion,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    if (!groups) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    // As Kafka: while an offsets partition led here loads, the list would be incomplete.
    if (groups.partitions.anyLoading) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, groups: [] };
    const types = ctx.version >= 5 ? request.typesFilter.map((type) => type.toLowerCase()) : [];
    const states = ctx.version >= 4 ? request.statesFilter : [];
    const wantedStates = new Set(states.map((state) => state.toLowerCase()));
    const listed: { groupId: string; protocolType: string; groupState: string; groupType: string }[] = [];
    if (types.length === 0 || types.includes("classic")) {
      for (const group of groups.coordinator.listGroups(states)) {
        listed.push({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.state, groupType: "classic" });
      }
    }
    if (types.length === 0 || types.includes("consumer")) {
      for (const group of groups.consumerGroups.all()) {
        if (wantedStates.size > 0 && !wantedStates.has(group.state.toLowerCase())) continue;
        listed.push({ groupId: group.groupId, protocolType: "consumer", groupState: group.state, groupType: "consumer" });
      }
    }
    // DESCRIBE on the cluster lists every group; otherwise only the groups the principal may DESCRIBE (as Kafka).
    const visible = authorizeCluster(ctx, AclOperation.DESCRIBE) ? listed : listed.filter((group) => authorizeGroup(ctx, AclOperation.DESCRIBE, group.groupId));
    return { throttleTimeMs: 0, errorCode: 0, groups: visible };
  },
});
