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
function runToBalance(image: MetadataImage, draining: Set<number>, balance = true, sizes?: { partitionBytes: Map<string, number>; bytesTolerance: number }): { image: MetadataImage; plans: number } {
  let plans = 0;
  for (;;) {
    const moves = planReassignments(image, { draining, maxMoves: 2, balance, ...sizes });
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

  /** Bytes per broker of the partitions of "t" sized by `sizes` (index = partition). */
  function bytesPerBroker(image: MetadataImage, sizes: readonly number[]): Map<number, number> {
    const result = new Map<number, number>([...image.brokers.keys()].map((id) => [id, 0]));
    for (const partition of image.topicsByName.get("t")!.partitions) {
      for (const id of partition.replicas) result.set(id, (result.get(id) ?? 0) + sizes[partition.partition]!);
    }
    return result;
  }
  const sizesOf = (sizes: readonly number[]) => new Map(sizes.map((size, partition) => [`t-${partition}`, size]));
  const spread = (values: Map<number, number>) => Math.max(...values.values()) - Math.min(...values.values());

  test("bytes: with the counts even, a large replica is swapped for a small one until the gap is within the tolerance", () => {
    const sizes = [1000, 1000, 10, 10, 500, 500, 500, 500];
    const start = cluster([broker(1), broker(2), broker(3), broker(4)], [[1], [1], [2], [2], [3], [3], [4], [4]]);
    expect(spread(bytesPerBroker(start, sizes))).toBe(1980);
    // Without sizes the counts are even: nothing moves.
    expect(planReassignments(start, { draining: new Set(), maxMoves: 8, balance: true })).toEqual([]);
    const moves = planReassignments(start, { draining: new Set(), maxMoves: 8, balance: true, partitionBytes: sizesOf(sizes), bytesTolerance: 100 });
    expect(moves).toEqual([{ topic: "t", partition: 0, replicas: [2] }, { topic: "t", partition: 2, replicas: [1] }]);
    const { image } = runToBalance(start, new Set(), true, { partitionBytes: sizesOf(sizes), bytesTolerance: 100 });
    expect([...counts(image).values()]).toEqual([2, 2, 2, 2]);
    expect(spread(bytesPerBroker(image, sizes))).toBeLessThanOrEqual(100);
    // Within the tolerance nothing moves (no churn for small differences).
    expect(planReassignments(start, { draining: new Set(), maxMoves: 8, balance: true, partitionBytes: sizesOf(sizes), bytesTolerance: 2000 })).toEqual([]);
  });

  test("bytes: a joining broker gets its share by count and the bytes even out; RF 3, racks kept, never two replicas on one broker", () => {
    const sizes = [5000, 4000, 100, 100, 100, 100];
    const brokers = [broker(1, "a"), broker(2, "b"), broker(3, "c"), broker(4, "a"), broker(5, "b"), broker(6, "c")];
    const start = cluster(brokers, six);
    const before = spread(bytesPerBroker(start, sizes));
    const { image } = runToBalance(start, new Set(), true, { partitionBytes: sizesOf(sizes), bytesTolerance: 500 });
    const after = counts(image);
    expect([...after.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...after.values()].every((count) => count === 3)).toBe(true);
    expect(before).toBe(9400);
    // With three replicas on every broker, one holding 5000 and another 4000 is the best there is.
    expect(spread(bytesPerBroker(image, sizes))).toBeLessThanOrEqual(1000);
    const rackOf = (id: number) => ["a", "b", "c"][(id - 1) % 3];
    for (const partition of image.topicsByName.get("t")!.partitions) {
      expect(new Set(partition.replicas).size).toBe(3);
      expect(new Set(partition.replicas.map(rackOf)).size).toBe(3);
    }
  });

  test("bytes break ties when draining: the replica goes to the broker with fewer bytes", () => {
    const sizes = [100, 900, 10];
    const start = cluster([broker(1), broker(2), broker(3), broker(4)], [[1, 2], [3], [4]]);
    // Brokers 3 and 4 hold one replica each; 3's is large: broker 2's replica of p0 goes to 4.
    const moves = planReassignments(start, { draining: new Set([2]), maxMoves: 8, balance: false, partitionBytes: sizesOf(sizes) });
    expect(moves).toEqual([{ topic: "t", partition: 0, replicas: [1, 4] }]);
  });

  test("leaders away from their preferred replica are found", () => {
    const image = applyRecords(cluster([broker(1), broker(2), broker(3)], six), [record("PartitionChangeRecord", { partitionId: 0, topicId, leader: 2 })]).image;
    expect(imbalancedLeaders(image)).toEqual([{ topic: "t", partition: 0 }]);
  });
});
