// Kafka's range assignor (RangeAssignor, the consumer's classic default): per topic, the
// partitions in order are cut into contiguous ranges, one per subscribed member in member-id
// order; the first (partitions mod members) members get one extra. Pure: members and partition
// counts in, assignment out, so every leader computes the same one.

import { assert } from "../util/assert.ts";

export interface MemberSubscription {
  memberId: string;
  topics: readonly string[];
}

export type MemberAssignment = Map<string, { topic: string; partitions: number[] }[]>;

export function rangeAssign(members: readonly MemberSubscription[], partitionCounts: ReadonlyMap<string, number>): MemberAssignment {
  const assignment: MemberAssignment = new Map(members.map((member) => [member.memberId, []]));
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic) ?? 0;
    const subscribers = members.filter((member) => member.topics.includes(topic)).map((member) => member.memberId).sort();
    if (count === 0 || subscribers.length === 0) continue;
    const base = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    let next = 0;
    subscribers.forEach((memberId, index) => {
      const take = base + (index < extra ? 1 : 0);
      if (take === 0) return;
      const partitions = Array.from({ length: take }, (_, offset) => next + offset);
      next += take;
      assignment.get(memberId)!.push({ topic, partitions });
    });
    assert(next === count, `range assignment of ${topic} covers every partition once`);
  }
  return assignment;
}
