// A consumer that is a member of a consumer group: the group decides its partitions (range
// assignor), it starts each at the group's committed offset (or per autoOffsetReset), and it
// commits its positions: every autoCommitIntervalMs, before a rebalance, and on close.
//
//   const consumer = new GroupConsumer(client, { groupId: "billing", topics: ["orders"] });
//   for (;;) for (const record of await consumer.poll(1000)) handle(record);
//   await consumer.close();   // commits, leaves the group
//
// Delivery is at least once: a record handed out by poll() counts as consumed, and a crash
// before the next commit replays it to whoever gets its partition.

import { KafkaError } from "../protocol/errors.ts";
import { commitOffsets, fetchCommittedOffsets, type TopicPartitionOffset } from "./admin-groups.ts";
import type { KafkaClient } from "./client.ts";
import { Consumer, type ConsumedRecord, type ConsumerOptions, type StartPosition } from "./consumer.ts";
import { GroupMember, type GroupMemberOptions, type TopicPartitions } from "./group-member.ts";

export interface GroupConsumerOptions extends GroupMemberOptions, ConsumerOptions {
  /** Kafka's enable.auto.commit (default true). */
  autoCommit?: boolean;
  /** Kafka's auto.commit.interval.ms (default 5 s). */
  autoCommitIntervalMs?: number;
  /** Called after each (re)assignment. */
  onAssigned?(partitions: TopicPartitions[]): void;
}

export class GroupConsumer {
  readonly member: GroupMember;
  readonly consumer: Consumer;
  private lastCommitAt = performance.now();
  private committed = new Map<string, bigint>();
  private closed = false;

  constructor(private readonly client: KafkaClient, private readonly options: GroupConsumerOptions) {
    this.member = new GroupMember(client, options);
    this.consumer = new Consumer(client, options);
  }

  /** Records for this member, joining or rejoining the group first when needed. */
  async poll(timeoutMs: number, maxRecords?: number): Promise<ConsumedRecord[]> {
    if (this.closed) return [];
    if (this.member.rejoinNeeded) await this.rebalance();
    await this.maybeAutoCommit();
    return this.consumer.poll(timeoutMs, maxRecords);
  }

  /** The partitions assigned in the current generation. */
  assignment(): TopicPartitions[] {
    return this.member.assignment;
  }

  /** Commits the position of every assigned partition that moved since the last commit. */
  async commit(): Promise<void> {
    const offsets: TopicPartitionOffset[] = [];
    for (const { topic, partition } of this.consumer.assignment()) {
      const position = this.consumer.position(topic, partition);
      const key = `${topic}\u0000${partition}`;
      if (position === undefined || position < 0n || this.committed.get(key) === position) continue;
      offsets.push({ topic, partition, offset: position });
    }
    this.lastCommitAt = performance.now();
    if (offsets.length === 0 || this.member.generationId < 0) return;
    try {
      await commitOffsets(this.client, this.member.groupId, offsets, this.member.commitIdentity);
    } catch (error) {
      if (error instanceof KafkaError) this.member.noteError(error.code);
      throw error;
    }
    for (const entry of offsets) this.committed.set(`${entry.topic}\u0000${entry.partition}`, entry.offset);
  }

  /** Commits (when auto-committing), leaves the group, stops fetching. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.options.autoCommit !== false && !this.member.rejoinNeeded) await this.commit();
    } finally {
      this.consumer.close();
      await this.member.leave();
    }
  }

  private async maybeAutoCommit(): Promise<void> {
    if (this.options.autoCommit === false) return;
    if (performance.now() - this.lastCommitAt < (this.options.autoCommitIntervalMs ?? 5000)) return;
    try {
      await this.commit();
    } catch (error) {
      // Refused because the group is rebalancing (noteError set rejoinNeeded): the rebalance
      // that follows commits again.
      if (!(error instanceof KafkaError) || !this.member.rejoinNeeded) throw error;
    }
  }

  private async rebalance(): Promise<void> {
    if (this.options.autoCommit !== false && this.member.generationId >= 0) {
      await this.commit().catch(() => {}); // the generation may be gone already; the group replays from the last commit
    }
    this.consumer.unassign();
    const assigned = await this.member.join();
    const wanted = assigned.flatMap((entry) => entry.partitions.map((partition) => ({ topic: entry.topic, partition })));
    const committed = wanted.length === 0 ? [] : await fetchCommittedOffsets(this.client, this.member.groupId, assigned);
    const byKey = new Map(committed.map((entry) => [`${entry.topic}\u0000${entry.partition}`, entry.offset]));
    this.committed = new Map([...byKey].filter(([, offset]) => offset >= 0n));
    const reset = this.options.autoOffsetReset ?? "latest";
    await this.consumer.assign(wanted.map(({ topic, partition }) => {
      const offset = byKey.get(`${topic}\u0000${partition}`) ?? -1n;
      const from: StartPosition = offset >= 0n ? { offset } : reset === "earliest" ? "earliest" : "latest";
      return { topic, partition, from };
    }));
    this.options.onAssigned?.(assigned);
  }
}
