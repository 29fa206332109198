// Consumer-group administration, shaped on REST Proxy v3:
//   GET …/consumer-groups                                   list
//   GET …/consumer-groups/{consumer_group_id}                describe (state, assignor, coordinator)
//   GET …/consumer-groups/{consumer_group_id}/consumers      members with their assignments
//   GET …/consumer-groups/{consumer_group_id}/lags           lag per committed partition
//   GET …/consumer-groups/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}
//   GET …/consumer-groups/{consumer_group_id}/lag-summary    max and total lag
// Members of every kind show here: Kafka clients and HTTP consumer instances alike (one
// coordinator). Lag is high watermark − committed offset, per partition the group committed.

import type { Context } from "hono";
import { decodeAssignment } from "../../protocol/consumer-protocol.ts";
import type { DescribedGroup, PartitionLag } from "../../groups/types.ts";
import { int64, responseFormat } from "../encoding.ts";
import { HttpError } from "../errors.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { listResource } from "./cluster.ts";
import { baseUrl, checkCluster, intParam } from "./common.ts";

function groupsUrl(c: Context, deps: HttpDeps): string {
  return `${baseUrl(c)}/v3/clusters/${deps.clusterId}/consumer-groups`;
}

async function describe(c: Context, deps: HttpDeps): Promise<DescribedGroup> {
  checkCluster(c, deps);
  const groupId = c.req.param("consumer_group_id")!;
  const group = await deps.backend.describeGroup(groupId);
  if (group.errorCode !== 0 || group.state === "Dead") throw new HttpError(404, 404, `Consumer group '${groupId}' not found.`);
  return group;
}

function groupResource(c: Context, deps: HttpDeps, group: { groupId: string; state: string; protocolType: string; protocolName?: string }) {
  const self = `${groupsUrl(c, deps)}/${group.groupId}`;
  return {
    kind: "KafkaConsumerGroup",
    metadata: { self, resource_name: `crn:///kafka=${deps.clusterId}/consumer-group=${group.groupId}` },
    cluster_id: deps.clusterId,
    consumer_group_id: group.groupId,
    is_simple: group.protocolType === "",
    partition_assignor: group.protocolName ?? "",
    state: group.state.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
    type: "CLASSIC",
    coordinator: { related: `${baseUrl(c)}/v3/clusters/${deps.clusterId}/brokers/${deps.nodeId}` },
    consumers: { related: `${self}/consumers` },
    lag_summary: { related: `${self}/lag-summary` },
  };
}

/** member id → its assigned partitions, from the members' assignment bytes. */
function ownersOf(group: DescribedGroup): Map<string, { memberId: string; clientId: string; instanceId: string | null }> {
  const owners = new Map<string, { memberId: string; clientId: string; instanceId: string | null }>();
  for (const member of group.members) {
    if (member.assignment.length === 0) continue;
    try {
      for (const entry of decodeAssignment(member.assignment).value.assignedPartitions) {
        for (const partition of entry.partitions) owners.set(`${entry.topic}\u0000${partition}`, { memberId: member.memberId, clientId: member.clientId, instanceId: member.groupInstanceId });
      }
    } catch {
      // not the consumer protocol: no assignment to show
    }
  }
  return owners;
}

function lagResource(c: Context, deps: HttpDeps, group: DescribedGroup, lag: PartitionLag, owners: ReturnType<typeof ownersOf>) {
  const owner = owners.get(`${lag.topic}\u0000${lag.partition}`);
  return {
    kind: "KafkaConsumerLag",
    metadata: { self: `${groupsUrl(c, deps)}/${group.groupId}/lags/${lag.topic}/partitions/${lag.partition}` },
    cluster_id: deps.clusterId,
    consumer_group_id: group.groupId,
    topic_name: lag.topic,
    partition_id: lag.partition,
    current_offset: int64(lag.committed),
    log_end_offset: int64(lag.logEndOffset),
    lag: int64(lag.lag),
    consumer_id: owner?.memberId ?? "",
    instance_id: owner?.instanceId ?? null,
    client_id: owner?.clientId ?? "",
  };
}

export function registerGroupRoutes(router: Router, deps: HttpDeps): void {
  const base = "/v3/clusters/{cluster_id}/consumer-groups";
  const format = (c: Context) => responseFormat(c.req.header("accept"));
  router.add({ method: "GET", path: base, tag: "Consumer groups", summary: "List consumer groups." }, async (c) => {
    checkCluster(c, deps);
    const groups = await deps.backend.listGroups();
    return documentResponse(listResource(c, "KafkaConsumerGroupList", groups.map((group) => groupResource(c, deps, group))), format(c));
  });
  router.add({ method: "GET", path: `${base}/{consumer_group_id}`, tag: "Consumer groups", summary: "Describe a consumer group." }, async (c) => {
    const group = await describe(c, deps);
    return documentResponse(groupResource(c, deps, group), format(c));
  });
  router.add({ method: "GET", path: `${base}/{consumer_group_id}/consumers`, tag: "Consumer groups", summary: "Members of a group (Kafka clients and HTTP consumer instances) with their assignments." }, async (c) => {
    const group = await describe(c, deps);
    const data = group.members.map((member) => {
      let assignments: { topic_name: string; partition_id: number }[] = [];
      try {
        if (member.assignment.length > 0) {
          assignments = decodeAssignment(member.assignment).value.assignedPartitions.flatMap((entry) =>
            entry.partitions.map((partition) => ({ topic_name: entry.topic, partition_id: partition })));
        }
      } catch {
        // not the consumer protocol
      }
      return {
        kind: "KafkaConsumer",
        metadata: { self: `${groupsUrl(c, deps)}/${group.groupId}/consumers/${member.memberId}` },
        cluster_id: deps.clusterId,
        consumer_group_id: group.groupId,
        consumer_id: member.memberId,
        instance_id: member.groupInstanceId,
        client_id: member.clientId,
        host: member.clientHost,
        assignments,
      };
    });
    return documentResponse(listResource(c, "KafkaConsumerList", data), format(c));
  });
  router.add({ method: "GET", path: `${base}/{consumer_group_id}/lags`, tag: "Consumer groups", summary: "Lag of every partition the group committed." }, async (c) => {
    // A group with committed offsets but no members is Empty, not Dead: only a group with nothing is 404.
    const group = await describe(c, deps);
    const lags = await deps.backend.groupLag(group.groupId);
    const owners = ownersOf(group);
    return documentResponse(listResource(c, "KafkaConsumerLagList", lags.map((lag) => lagResource(c, deps, group, lag, owners))), format(c));
  });
  router.add({ method: "GET", path: `${base}/{consumer_group_id}/lags/{topic_name}/partitions/{partition_id}`, tag: "Consumer groups", summary: "Lag of one partition." }, async (c) => {
    const group = await describe(c, deps);
    const topic = c.req.param("topic_name")!;
    const partition = intParam(c, "partition_id");
    const lag = (await deps.backend.groupLag(group.groupId)).find((entry) => entry.topic === topic && entry.partition === partition);
    if (!lag) throw new HttpError(404, 404, `Consumer group '${group.groupId}' has no committed offset for ${topic}-${partition}.`);
    return documentResponse(lagResource(c, deps, group, lag, ownersOf(group)), format(c));
  });
  router.add({ method: "GET", path: `${base}/{consumer_group_id}/lag-summary`, tag: "Consumer groups", summary: "Max and total lag of a group." }, async (c) => {
    const group = await describe(c, deps);
    const lags = await deps.backend.groupLag(group.groupId);
    const owners = ownersOf(group);
    let max: PartitionLag | undefined;
    let total = 0n;
    for (const lag of lags) {
      total += lag.lag;
      if (!max || lag.lag > max.lag) max = lag;
    }
    const owner = max ? owners.get(`${max.topic}\u0000${max.partition}`) : undefined;
    return documentResponse({
      kind: "KafkaConsumerGroupLagSummary",
      metadata: { self: `${groupsUrl(c, deps)}/${group.groupId}/lag-summary` },
      cluster_id: deps.clusterId,
      consumer_group_id: group.groupId,
      max_lag_consumer_id: owner?.memberId ?? "",
      max_lag_instance_id: owner?.instanceId ?? null,
      max_lag_client_id: owner?.clientId ?? "",
      max_lag_topic_name: max?.topic ?? "",
      max_lag_partition_id: max?.partition ?? 0,
      max_lag: int64(max?.lag ?? 0n),
      total_lag: int64(total),
    }, format(c));
  });
}
