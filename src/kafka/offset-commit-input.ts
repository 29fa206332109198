// What OffsetCommit (8) and TxnOffsetCommit (28) have in common: the request's partitions turned
// into the group coordinator's commit input, and its per-partition answer looked up again when the
// response is built. The two requests differ only in which versions carry the leader epoch.

/** The partition fields both commit requests share (generated request types match this shape). */
interface RequestPartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  committedMetadata: string | null;
}

export interface CommitTopicInput {
  name: string;
  partitions: { partition: number; offset: bigint; leaderEpoch: number; metadata: string | null }[];
}

/**
 * The topics' partitions to commit, leaving out those `commits` refuses (unknown, unauthorized);
 * `withLeaderEpoch` false (old versions) commits leader epoch -1.
 */
export function commitInput(
  topics: readonly { name: string; partitions: readonly RequestPartition[] }[],
  commits: (topic: string, partition: number) => boolean,
  withLeaderEpoch: boolean,
): CommitTopicInput[] {
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions
      .filter((partition) => commits(topic.name, partition.partitionIndex))
      .map((partition) => ({
        partition: partition.partitionIndex,
        offset: partition.committedOffset,
        leaderEpoch: withLeaderEpoch ? partition.committedLeaderEpoch : -1,
        metadata: partition.committedMetadata,
      })),
  }));
}

/** The coordinator's answer by partition: `errorOf(topic, partition)` is undefined for a partition it did not answer. */
export function commitErrors(result: { topics: readonly { name: string; partitions: readonly { partition: number; errorCode: number }[] }[] }): (topic: string, partition: number) => number | undefined {
  const errors = new Map<string, number>();
  for (const topic of result.topics) for (const partition of topic.partitions) errors.set(`${topic.name}\u0000${partition.partition}`, partition.errorCode);
  return (topic, partition) => errors.get(`${topic}\u0000${partition}`);
}
