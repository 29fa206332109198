// Committed offsets of classic and KIP-848 groups (Kafka's OffsetCommit, OffsetFetch,
// OffsetDelete, offsets.retention.minutes expiry, lag): the offsets half of the group coordinator,
// kept apart from the join/sync protocol (coordinator.ts) so that transactional offsets (issue 14)
// have a home beside them.
//
// The offsets live on each Group (group.offsets), because a group's offsets and its membership
// share one write chain to __consumer_offsets and one lifetime (DeleteGroups, expiry to Dead).
// Whether a commit is allowed (generation, member id, static instance) is the membership's
// question: the coordinator answers it through OffsetsHost.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import { createLogger } from "../util/logger.ts";
import { Group } from "./group.ts";
import type { GroupRecord, ProducerIdentity } from "./group-store.ts";
import { PendingTransactionalOffsets, type PendingOffset } from "./transactional-offsets.ts";
import type { CommittedOffset, OffsetCommitInput, OffsetFetchResult, PartitionErrors, PartitionLag } from "./types.ts";

const log = createLogger("groups");
const utf8 = new TextEncoder();

/** What the offsets need from the coordinator that owns the groups. */
export interface OffsetsHost {
  readonly groups: Map<string, Group>;
  nowMs(): number;
  /** 0 when the commit may go on, else the group-wide error (membership and generation checks). */
  commitGroupError(input: OffsetCommitInput): number;
  /** A member that commits is alive: restart its session. */
  touchCommitter(group: Group, memberId: string): void;
  /** Topics the group's members subscribe to (consumer protocol). */
  subscribedTopics(group: Group): Set<string>;
  /** Whether this node coordinates the group now (its offsets partition is loaded here). */
  owns(groupId: string): boolean;
  /** Members of a KIP-848 consumer group of this id (they keep the offsets alive). */
  consumerGroupMemberCount(groupId: string): number;
  /** Appends records to __consumer_offsets after the group's earlier writes. */
  enqueueWrite(group: Group, records: GroupRecord[], transaction?: ProducerIdentity): Promise<void>;
}

/** Sets one committed offset in memory (after its record is in the log, or while replaying). */
export function setCommittedOffset(group: Group, topic: string, partition: number, value: CommittedOffset): void {
  let partitions = group.offsets.get(topic);
  if (!partitions) {
    partitions = new Map();
    group.offsets.set(topic, partitions);
  }
  partitions.set(partition, value);
}

export class CommittedOffsets {
  /** TxnOffsetCommit's offsets, waiting for their transaction's marker. */
  readonly pending = new PendingTransactionalOffsets();

  constructor(
    private readonly config: { offsetMetadataMaxBytes: number; offsetsRetentionMs: number },
    private readonly host: OffsetsHost,
  ) {}

  /**
   * OffsetCommit, or TxnOffsetCommit when `transaction` is given: then the records go to
   * __consumer_offsets as the producer's transactional batch and stay pending (invisible) until
   * `completeTransaction`. Resolves after the records are in the log.
   */
  async commit(input: OffsetCommitInput, transaction?: ProducerIdentity): Promise<PartitionErrors> {
    const groupError = this.host.commitGroupError(input);
    const everyPartition = (errorCode: number): PartitionErrors => ({
      topics: input.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => ({ partition: partition.partition, errorCode })),
      })),
    });
    if (groupError !== 0) return everyPartition(groupError);
    let group = this.host.groups.get(input.groupId);
    if (!group) {
      // A commit from outside group management (generation -1) creates an Empty group, as Kafka.
      group = new Group(input.groupId, this.host.nowMs());
      this.host.groups.set(input.groupId, group);
    } else if (input.generationId >= 0) {
      this.host.touchCommitter(group, input.memberId);
    }
    const now = this.host.nowMs();
    const records: GroupRecord[] = [];
    const result = everyPartition(0);
    input.topics.forEach((topic, topicIndex) => {
      topic.partitions.forEach((partition, partitionIndex) => {
        const metadata = partition.metadata ?? "";
        if (utf8.encode(metadata).length > this.config.offsetMetadataMaxBytes) {
          result.topics[topicIndex]!.partitions[partitionIndex]!.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          return;
        }
        const value: CommittedOffset = { offset: partition.offset, leaderEpoch: partition.leaderEpoch, metadata, commitTimestampMs: now };
        records.push({ kind: "offset", groupId: input.groupId, topic: topic.name, partition: partition.partition, value });
      });
    });
    if (records.length === 0) return result;
    try {
      await this.host.enqueueWrite(group, records, transaction);
    } catch (error) {
      log.warn("offset commit write failed", { group: input.groupId, error: String(error) });
      const code = error instanceof KafkaError ? error.code : ErrorCode.COORDINATOR_NOT_AVAILABLE;
      for (const topic of result.topics) for (const partition of topic.partitions) if (partition.errorCode === 0) partition.errorCode = code;
      return result;
    }
    const written: PendingOffset[] = records.map((record) => {
      assert(record.kind === "offset" && record.value !== null, "commit writes offsets");
      return { groupId: record.groupId, topic: record.topic, partition: record.partition, value: record.value };
    });
    if (transaction) this.pending.add(transaction.producerId, written);
    else for (const offset of written) setCommittedOffset(group, offset.topic, offset.partition, offset.value);
    return result;
  }

  /**
   * The transaction of `producerId` ended on an offsets partition (its marker is in the log, or was
   * replayed): on COMMIT its pending offsets of the groups `inPartition` accepts become committed.
   */
  completeTransaction(producerId: bigint, committed: boolean, inPartition: (groupId: string) => boolean): number {
    const taken = this.pending.take(producerId, inPartition);
    if (!committed) return 0;
    for (const offset of taken) {
      let group = this.host.groups.get(offset.groupId);
      if (!group) {
        group = new Group(offset.groupId, this.host.nowMs());
        this.host.groups.set(offset.groupId, group);
      }
      setCommittedOffset(group, offset.topic, offset.partition, offset.value);
    }
    return taken.length;
  }

  /**
   * OffsetFetch for one group; `topics` null means every committed offset of the group. With
   * `requireStable` (KIP-447) a partition whose offset is pending in a transaction answers
   * UNSTABLE_OFFSET_COMMIT (the client retries until the transaction has ended).
   */
  fetch(groupId: string, topics: { name: string; partitions: number[] }[] | null, requireStable = false): OffsetFetchResult {
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const group = this.host.groups.get(groupId);
    const offsets = group && group.state !== "Dead" ? group.offsets : new Map<string, Map<number, CommittedOffset>>();
    const wanted =
      topics ??
      [...offsets.entries()].filter(([, partitions]) => partitions.size > 0).map(([name, partitions]) => ({
        name,
        partitions: [...partitions.keys()].sort((left, right) => left - right),
      }));
    return {
      errorCode: 0,
      topics: wanted.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => {
          if (requireStable && this.pending.hasPendingFor(groupId, topic.name, partition)) {
            return { partition, offset: -1n, leaderEpoch: -1, metadata: "", errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
          }
          const committed = offsets.get(topic.name)?.get(partition);
          return committed
            ? { partition, offset: committed.offset, leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: 0 }
            : { partition, offset: -1n, leaderEpoch: -1, metadata: "", errorCode: 0 };
        }),
      })),
    };
  }

  /** OffsetDelete: refuses topics the (non-empty) consumer group is still subscribed to. */
  async delete(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: { name: string; partitions: { partition: number; errorCode: number }[] }[] }> {
    const group = this.host.groups.get(groupId);
    if (!group || group.state === "Dead") return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    let subscribed = new Set<string>();
    if (group.state !== "Empty") {
      if (group.protocolType !== "consumer") return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
      subscribed = this.host.subscribedTopics(group);
    }
    const records: GroupRecord[] = [];
    const result = topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition) => {
        if (subscribed.has(topic.name)) return { partition, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        if (group.offsets.get(topic.name)?.has(partition)) {
          records.push({ kind: "offset", groupId, topic: topic.name, partition, value: null });
        }
        return { partition, errorCode: 0 };
      }),
    }));
    if (records.length > 0) {
      try {
        await this.host.enqueueWrite(group, records);
      } catch (error) {
        return { errorCode: error instanceof KafkaError ? error.code : ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
      }
      for (const record of records) if (record.kind === "offset") group.offsets.get(record.topic)?.delete(record.partition);
    }
    return { errorCode: 0, topics: result };
  }

  /** Expires committed offsets older than offsets.retention.minutes (KIP-211 rules, simplified). */
  expire(): number {
    const now = this.host.nowMs();
    let expired = 0;
    for (const group of [...this.host.groups.values()]) {
      if (group.state === "Dead" || !this.host.owns(group.groupId)) continue;
      // A live KIP-848 consumer group keeps its offsets (they are stored in this Empty holder).
      if (this.host.consumerGroupMemberCount(group.groupId) > 0) continue;
      const subscribed = group.state === "Empty" ? null : group.protocolType === "consumer" ? this.host.subscribedTopics(group) : undefined;
      if (subscribed === undefined) continue;
      const records: GroupRecord[] = [];
      for (const [topic, partitions] of group.offsets) {
        if (subscribed?.has(topic)) continue;
        for (const [partition, committed] of partitions) {
          // An Empty group's offsets age from when it became empty; otherwise from the commit.
          const base = subscribed === null ? Math.max(committed.commitTimestampMs, group.stateTimestampMs) : committed.commitTimestampMs;
          if (base + this.config.offsetsRetentionMs <= now) records.push({ kind: "offset", groupId: group.groupId, topic, partition, value: null });
        }
      }
      const becomesDead = group.state === "Empty" && group.members.size === 0 && records.length === group.offsetCount();
      if (records.length === 0 && !becomesDead) continue;
      if (becomesDead) records.push({ kind: "group", groupId: group.groupId, value: null });
      expired += records.length;
      this.host.enqueueWrite(group, records).then(
        () => {
          for (const record of records) if (record.kind === "offset") group.offsets.get(record.topic)?.delete(record.partition);
          if (becomesDead && group.state === "Empty" && group.members.size === 0 && group.offsetCount() === 0) {
            group.setState("Dead", this.host.nowMs());
            this.host.groups.delete(group.groupId);
          }
        },
        (error: unknown) => log.warn("offset expiry write failed", { group: group.groupId, error: String(error) }),
      );
    }
    return expired;
  }

  /** Committed offset, log end and lag for each partition the group committed. */
  lag(groupId: string, logEndOffset: (topic: string, partition: number) => bigint | undefined): PartitionLag[] {
    const group = this.host.groups.get(groupId);
    if (!group) return [];
    const lags: PartitionLag[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const [partition, committed] of partitions) {
        const end = logEndOffset(topic, partition) ?? -1n;
        const lag = end < 0n || committed.offset < 0n ? -1n : end > committed.offset ? end - committed.offset : 0n;
        lags.push({ topic, partition, committed: committed.offset, logEndOffset: end, lag });
      }
    }
    return lags.sort((left, right) => left.topic.localeCompare(right.topic) || left.partition - right.partition);
  }
}
