// Moving replicas with Kafka's admin APIs (docs/elastic.md): AlterPartitionReassignments (45),
// ListPartitionReassignments (46), ElectLeaders (43), DescribeLogDirs (35), and Runnel's
// decommission — IncrementalAlterConfigs of `broker.decommissioning` on the broker's resource,
// which the controller's balancer drains. Works against any broker of the cluster (the requests
// are forwarded to the active controller).

import { ErrorCode } from "../protocol/errors.ts";
import { AlterPartitionReassignmentsApi } from "../protocol/generated/alter-partition-reassignments.ts";
import { DescribeLogDirsApi } from "../protocol/generated/describe-log-dirs.ts";
import { ElectLeadersApi } from "../protocol/generated/elect-leaders.ts";
import { IncrementalAlterConfigsApi } from "../protocol/generated/incremental-alter-configs.ts";
import { ListPartitionReassignmentsApi } from "../protocol/generated/list-partition-reassignments.ts";
import type { KafkaClient } from "./client.ts";
import { responseError } from "./errors.ts";

export interface PartitionOutcome {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface OngoingReassignment {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** Start (replicas) or cancel (null) reassignments; one outcome per partition. */
export async function alterPartitionReassignments(
  client: KafkaClient, requests: readonly { topic: string; partition: number; replicas: readonly number[] | null }[],
): Promise<PartitionOutcome[]> {
  const topics = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
  for (const request of requests) topics.set(request.topic, [...(topics.get(request.topic) ?? []), { partitionIndex: request.partition, replicas: request.replicas ? [...request.replicas] : null }]);
  return client.retry("AlterPartitionReassignments", async () => {
    const connection = await client.anyConnection();
    const answer = await connection.request(AlterPartitionReassignmentsApi, { timeoutMs: 30_000, topics: [...topics].map(([name, partitions]) => ({ name, partitions })) }, { timeoutMs: 40_000 });
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "AlterPartitionReassignments", answer.errorMessage);
    return answer.responses.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex, errorCode: partition.errorCode, errorMessage: partition.errorMessage })));
  });
}

export async function listPartitionReassignments(client: KafkaClient): Promise<OngoingReassignment[]> {
  return client.retry("ListPartitionReassignments", async () => {
    const connection = await client.anyConnection();
    const answer = await connection.request(ListPartitionReassignmentsApi, { timeoutMs: 30_000, topics: null });
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "ListPartitionReassignments", answer.errorMessage);
    return answer.topics.flatMap((topic) => topic.partitions.map((partition) => ({
      topic: topic.name, partition: partition.partitionIndex, replicas: partition.replicas, addingReplicas: partition.addingReplicas, removingReplicas: partition.removingReplicas,
    })));
  });
}

/** ElectLeaders: "preferred" or "unclean"; partitions null means every partition. */
export async function electLeaders(client: KafkaClient, type: "preferred" | "unclean", partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions ?? []) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  return client.retry("ElectLeaders", async () => {
    const connection = await client.anyConnection();
    const answer = await connection.request(ElectLeadersApi, {
      electionType: type === "preferred" ? 0 : 1, timeoutMs: 30_000,
      topicPartitions: partitions === null ? null : [...topics].map(([topic, indexes]) => ({ topic, partitions: indexes })),
    }, { version: connection.versionFor(ElectLeadersApi, 1, 2) });
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "ElectLeaders", null);
    return answer.replicaElectionResults.flatMap((topic) => topic.partitionResult.map((partition) => ({ topic: topic.topic, partition: partition.partitionId, errorCode: partition.errorCode, errorMessage: partition.errorMessage })));
  });
}

/** Bytes of each local replica on broker `nodeId` (DescribeLogDirs asked of that broker). */
export async function describeLogDirs(client: KafkaClient, nodeId: number): Promise<{ topic: string; partition: number; bytes: bigint }[]> {
  return client.retry(`DescribeLogDirs ${nodeId}`, async () => {
    const connection = await client.connectionToNode(nodeId);
    const answer = await connection.request(DescribeLogDirsApi, { topics: null }, { version: connection.versionFor(DescribeLogDirsApi, 0, 4) });
    if (answer.errorCode !== ErrorCode.NONE) throw responseError(answer.errorCode, "DescribeLogDirs", null);
    return answer.results.flatMap((result) => result.topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, partition: partition.partitionIndex, bytes: partition.partitionSize }))));
  });
}

/** Mark broker `nodeId` for decommissioning (or clear the mark): the controller drains it. */
export async function setDecommissioning(client: KafkaClient, nodeId: number, decommissioning: boolean): Promise<void> {
  await client.retry(`decommission ${nodeId}`, async () => {
    const connection = await client.anyConnection();
    const answer = await connection.request(IncrementalAlterConfigsApi, {
      resources: [{ resourceType: 4, resourceName: String(nodeId), configs: [{ name: "broker.decommissioning", configOperation: decommissioning ? 0 : 1, value: decommissioning ? "true" : null }] }],
      validateOnly: false,
    });
    const result = answer.responses[0];
    if (!result) throw responseError(ErrorCode.UNKNOWN_SERVER_ERROR, "decommission", "no answer for the broker resource");
    if (result.errorCode !== ErrorCode.NONE) throw responseError(result.errorCode, `decommission broker ${nodeId}`, result.errorMessage);
  });
}
