// The balancer's plan (src/cluster/controller/balancer.ts), pure over images built from records:
// a joining broker gets a fair share, a draining broker is emptied, never two replicas of a
// partition on one broker, racks respected, at most maxMoves per plan, nothing planned while
// reassignments run, and the plan applied through the reassignment rules ends balanced.

import { describe, expect, test } from "bun:test";
import { imbalancedLeaders, planReassignments } from "../../src/cluster/controller/balancer.ts";
import { alterPartitionReassignments, completionChange } from "../../src/cluster/controller/reassignment-operations.ts";
import { applyRecords, emptyImage, type MetadataImage } from "../../src/cluster/image.ts";
import { record, type MetadataRecord } from "../../src/cluster/records.ts";

const topicId = "AAAAAAAAAAAAAAAAAAAAAQ";

function broker(id: number, rack: string | null = null, fenced = false): MetadataRecord {
  return record("RegisterBrokerRecord", {
    brokerId: id, incarnationId: `i${id}`, brokerEpoch: BigInt(id), endPoints: [], rack, fenced, inControlledShutdown: false, cleanShutdown: true,
  });
}

function cluster(brokers: MetadataRecord[], assignments: number[][]): MetadataImage {
  const records = [
    ...brokers,
    record("TopicRecord", { name: "t", topicId }),
    ...assignments.map((replicas, partitionId) => record("PartitionRecord", {
      partitionId, topicId, replicas, isr: replicas, removingReplicas: [], addingReplicas: [], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0,
    })),
  ];
  return applyRecords(emptyImage, records).image;
}

function counts(image: MetadataImage): Map<number, number> {
  const result = new Map<number, number>();
  for (const partition of image.topicsByName.get("t")!.partitions) for (const id of partition.replicas) result.set(id, (result.get(id) ?? 0) + 1);
  return result;
}

/** Apply plans until none is left: each move starts, its new replicas join the ISR, it completes. */
function runToBalance(image: MetadataImage, draining: Set<number>, balance = true): { image: MetadataImage; plans: number } {
  let plans = 0;
  for (;;) {
    const moves = planReassignments(image, { draining, maxMoves: 2, balance });
    if (moves.length === 0) return { image, plans };
    plans++;
    expect(moves.length).toBeLessThanOrEqual(2);
    for (const move of moves) expect(new Set(move.replicas).size).toBe(move.replicas!.length);
    image = applyRecords(image, alterPartitionReassignments(image, moves).records).image;
    // The new replicas catch up and join the ISR; the reassignment completes.
    const topic = image.topicsByName.get("t")!;
    const records: MetadataRecord[] = [];
    for (const partition of topic.partitions) {
      if (partition.addingReplicas.length === 0) continue;
      const caughtUp = { ...partition, isr: [...partition.isr, ...partition.addingReplicas] };
      records.push(record("PartitionChangeRecord", { partitionId: partition.partition, topicId, isr: caughtUp.isr }));
      const after = applyRecords(image, [records[records.length - 1]!]).image;
      const completion = completionChange(after, after.topicsByName.get("t")!, after.topicsByName.get("t")!.partitions[partition.partition]!);
      if (completion) records.push(completion);
    }
    image = applyRecords(image, records).image;
    expect(plans).toBeLessThan(50);
  }
}

describe("the balancer's plan", () => {
  const six = [[1, 2, 3], [2, 3, 1], [3, 1, 2], [1, 2, 3], [2, 3, 1], [3, 1, 2]];

  test("a broker that joins gets a fair share; every partition keeps distinct replicas", () => {
    const { image } = runToBalance(cluster([broker(1), broker(2), broker(3), broker(4)], six), new Set());
    const after = counts(image);
    expect([...after.values()].sort()).toEqual([4, 4, 5, 5]);
    expect(after.get(4)).toBeGreaterThanOrEqual(4);
    // Preferred leaders (first replicas) spread too: 6 partitions over 4 brokers, 1 or 2 each.
    const preferred = new Map<number, number>();
    for (const partition of image.topicsByName.get("t")!.partitions) preferred.set(partition.replicas[0]!, (preferred.get(partition.replicas[0]!) ?? 0) + 1);
    expect([...preferred.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect([...preferred.values()].every((count) => count >= 1 && count <= 2)).toBe(true);
    for (const partition of image.topicsByName.get("t")!.partitions) {
      expect(new Set(partition.replicas).size).toBe(3);
      expect(partition.isr.length).toBe(3);
      expect(partition.addingReplicas).toEqual([]);
    }
  });

  test("a draining broker is emptied onto the others; without balance nothing else moves", () => {
    const start = cluster([broker(1), broker(2), broker(3), broker(4)], [[1, 2, 4], [2, 4, 3], [4, 3, 1], [1, 2, 3]]);
    const { image } = runToBalance(start, new Set([4]), false);
    expect(counts(image).get(4) ?? 0).toBe(0);
    expect(image.topicsByName.get("t")!.partitions[3]!.replicas).toEqual([1, 2, 3]);
  });

  test("a replica with nowhere to go stays (every other broker holds one)", () => {
    const start = cluster([broker(1), broker(2), broker(3)], [[1, 2, 3]]);
    expect(planReassignments(start, { draining: new Set([3]), maxMoves: 8, balance: true })).toEqual([]);
  });

  test("racks: a moved replica goes to a rack the partition does not use yet", () => {
    const start = cluster([broker(1, "a"), broker(2, "b"), broker(3, "a"), broker(4, "c")], [[1, 2, 3]]);
    const moves = planReassignments(start, { draining: new Set([3]), maxMoves: 8, balance: false });
    expect(moves).toEqual([{ topic: "t", partition: 0, replicas: [1, 2, 4] }]);
  });

  test("nothing is evened out while a reassignment runs; fenced brokers receive nothing", () => {
    const running = applyRecords(cluster([broker(1), broker(2), broker(3), broker(4)], six), [
      record("PartitionChangeRecord", { partitionId: 0, topicId, replicas: [4, 2, 3, 1], addingReplicas: [4], removingReplicas: [1] }),
    ]).image;
    expect(planReassignments(running, { draining: new Set(), maxMoves: 8, balance: true })).toEqual([]);
    const fencedNewcomer = cluster([broker(1), broker(2), broker(3), broker(4, null, true)], six);
    expect(planReassignments(fencedNewcomer, { draining: new Set(), maxMoves: 8, balance: true })).toEqual([]);
  });

  test("leaders away from their preferred replica are found", () => {
    const image = applyRecords(cluster([broker(1), broker(2), broker(3)], six), [record("PartitionChangeRecord", { partitionId: 0, topicId, leader: 2 })]).image;
    expect(imbalancedLeaders(image)).toEqual([{ topic: "t", partition: 0 }]);
  });
});
