// Replica layout of a test cluster and "balanced" as the tests and bench/elastic.ts wait for it:
// no reassignment in progress, every ISR full, every broker within one replica of a fair share.

import { ListPartitionReassignmentsApi } from "../../src/protocol/generated/list-partition-reassignments.ts";
import type { TestCluster } from "./harness.ts";

export interface Layout {
  /** Replicas per broker over every partition of every topic. */
  replicas: Map<number, number>;
  leaders: Map<number, number>;
  /** Every partition has a leader and a full ISR. */
  healthy: boolean;
}

export async function layout(cluster: TestCluster, via: number): Promise<Layout> {
  const metadata = await cluster.metadata(via);
  const replicas = new Map<number, number>();
  const leaders = new Map<number, number>();
  let healthy = true;
  for (const entry of metadata.topics) {
    for (const partition of entry.partitions) {
      for (const id of partition.replicaNodes) replicas.set(id, (replicas.get(id) ?? 0) + 1);
      leaders.set(partition.leaderId, (leaders.get(partition.leaderId) ?? 0) + 1);
      if (partition.leaderId < 0 || partition.isrNodes.length !== partition.replicaNodes.length) healthy = false;
    }
  }
  return { replicas, leaders, healthy };
}

export const show = (counts: Map<number, number>) => [...counts].sort((left, right) => left[0] - right[0]).map(([id, count]) => `${id}:${count}`).join(" ");

/** No reassignment in progress, every ISR full, and every one of `brokers` within one replica of a fair share. */
export function waitBalanced(cluster: TestCluster, brokers: readonly number[], timeoutMs = 60_000): Promise<Layout> {
  return cluster.waitFor(`replicas balanced over brokers ${brokers.join(",")}`, async () => {
    const via = brokers[0]!;
    const ongoing = await cluster.ask(via, (connection) => connection.request(ListPartitionReassignmentsApi, { timeoutMs: 5000, topics: null }));
    if (ongoing.topics.length > 0) return undefined;
    const current = await layout(cluster, via);
    const total = [...current.replicas.values()].reduce((sum, count) => sum + count, 0);
    const floor = Math.floor(total / brokers.length);
    const ceiling = Math.ceil(total / brokers.length);
    const fair = brokers.every((id) => (current.replicas.get(id) ?? 0) >= floor && (current.replicas.get(id) ?? 0) <= ceiling);
    const onlyThese = [...current.replicas.keys()].every((id) => brokers.includes(id));
    return current.healthy && fair && onlyThese ? current : undefined;
  }, timeoutMs);
}

