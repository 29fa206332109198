// The replica balancer's plan (docs/elastic.md), pure: from the image, the reassignments that
//   1. drain brokers being decommissioned (and, after the grace period, brokers that are gone):
//      each of their replicas moves to the live broker holding the fewest replicas that does not
//      hold one of the partition already, on a rack the partition does not use yet when racks are
//      known;
//   2. then even out the replica count: while a broker holds more than its fair share (ceiling of
//      the average) and another fewer than the floor, one replica moves from the first to the second;
//   3. then, with partition sizes known (the active controller asks every broker's DescribeLogDirs),
//      even out the bytes: a broker holding more than `bytesTolerance` above another hands it a
//      replica (when it also holds more replicas) or swaps a large replica for a small one (when the
//      counts are equal), so counts stay within [floor, ceiling];
//   4. then even out the preferred leaders (first replicas) by reordering replica lists.
// Sizes also break ties: a drained or evened-out replica goes to the least-loaded broker by count,
// then by bytes, and the replica chosen to move is the one that best narrows the bytes gap.
// Never two replicas of a partition on one broker; a move never puts two replicas on one rack
// that were not (and drains prefer a rack the partition does not use yet).
// Replicas are replaced in place, so a partition's preferred leader stays where it was unless it
// is the one moving. Partitions already reassigning are left alone; at most `maxMoves` partitions
// change per plan (the controller plans again once those are done), so a rebalance is a series of
// small steps that each complete through the ISR before the next begins.

import { assert } from "../../util/assert.ts";
import type { MetadataImage, PartitionRegistration } from "../image.ts";
import type { ReassignmentRequest } from "./reassignment-operations.ts";
import { isReassigning } from "./reassignment.ts";

export interface BalancerInput {
  /** Brokers to empty (decommissioning, or gone past the grace period). */
  readonly draining: ReadonlySet<number>;
  /** Most partitions to move in this plan. */
  readonly maxMoves: number;
  /** Also even out the replica counts (auto.replica.rebalance.enable); draining is always planned. */
  readonly balance: boolean;
  /** Each partition's size in bytes (its largest replica), by `topic-partition`; absent: balance by count only. */
  readonly partitionBytes?: ReadonlyMap<string, number>;
  /** The bytes gap between two brokers below which no replica moves for bytes alone. */
  readonly bytesTolerance?: number;
}

interface Placement {
  topic: string;
  partition: number;
  replicas: number[];
}

/** Brokers that may receive replicas: registered, unfenced, not shutting down, not draining. */
export function targetBrokers(image: MetadataImage, draining: ReadonlySet<number>): number[] {
  return [...image.brokers.values()]
    .filter((broker) => !broker.fenced && !broker.inControlledShutdown && !draining.has(broker.id))
    .map((broker) => broker.id)
    .sort((left, right) => left - right);
}

function rackOf(image: MetadataImage, id: number): string | null {
  return image.brokers.get(id)?.rack ?? null;
}

/** The best broker to receive a replica of `replicas` (excluding `leaving`), or undefined. */
function pickTarget(image: MetadataImage, candidates: readonly number[], load: Map<number, number>, bytes: Map<number, number>, replicas: readonly number[], leaving: number): number | undefined {
  const staying = replicas.filter((id) => id !== leaving);
  const usedRacks = new Set(staying.map((id) => rackOf(image, id)).filter((rack) => rack !== null));
  const eligible = candidates.filter((id) => !replicas.includes(id));
  const byLoad = (left: number, right: number) => (load.get(left)! - load.get(right)!) || (bytes.get(left)! - bytes.get(right)!) || left - right;
  const newRack = eligible.filter((id) => { const rack = rackOf(image, id); return rack === null || !usedRacks.has(rack); }).sort(byLoad);
  return newRack[0] ?? eligible.sort(byLoad)[0];
}

export function planReassignments(image: MetadataImage, input: BalancerInput): ReassignmentRequest[] {
  const candidates = targetBrokers(image, input.draining);
  if (candidates.length === 0) return [];
  const load = new Map<number, number>(candidates.map((id) => [id, 0]));
  const bytes = new Map<number, number>(candidates.map((id) => [id, 0]));
  const sizeOf = (placement: { topic: string; partition: number }) => input.partitionBytes?.get(`${placement.topic}-${placement.partition}`) ?? 0;
  const placements: Placement[] = [];
  let busy = false;
  for (const topic of image.topicsByName.values()) {
    for (const registration of topic.partitions) {
      if (isReassigning(registration)) busy = true;
      const size = sizeOf({ topic: topic.name, partition: registration.partition });
      for (const id of registration.replicas) {
        if (load.has(id)) load.set(id, load.get(id)! + 1);
        if (bytes.has(id)) bytes.set(id, bytes.get(id)! + size);
      }
      if (!isReassigning(registration)) placements.push({ topic: topic.name, partition: registration.partition, replicas: [...registration.replicas] });
    }
  }
  const moves = new Map<string, ReassignmentRequest>();
  const move = (placement: Placement, from: number, to: number) => {
    assert(!placement.replicas.includes(to), "never two replicas of a partition on one broker");
    placement.replicas = placement.replicas.map((id) => (id === from ? to : id));
    if (load.has(from)) load.set(from, load.get(from)! - 1);
    load.set(to, load.get(to)! + 1);
    if (bytes.has(from)) bytes.set(from, bytes.get(from)! - sizeOf(placement));
    bytes.set(to, bytes.get(to)! + sizeOf(placement));
    moves.set(`${placement.topic}-${placement.partition}`, { topic: placement.topic, partition: placement.partition, replicas: placement.replicas });
  };
  // 1. Drain.
  for (const placement of placements) {
    for (const id of placement.replicas) {
      if (moves.size >= input.maxMoves) return [...moves.values()];
      if (!input.draining.has(id)) continue;
      const to = pickTarget(image, candidates, load, bytes, placement.replicas, id);
      if (to !== undefined) move(placement, id, to);
    }
  }
  // 2. Even out, only when nothing is moving (a drain in progress first completes).
  if (!input.balance || busy || moves.size > 0) return [...moves.values()];
  const total = [...load.values()].reduce((sum, count) => sum + count, 0);
  const ceiling = Math.ceil(total / candidates.length);
  const floor = Math.floor(total / candidates.length);
  while (moves.size < input.maxMoves) {
    const sorted = [...load.entries()].sort((left, right) => right[1] - left[1] || left[0] - right[0]);
    const most = sorted[0]![1];
    const least = sorted[sorted.length - 1]![1];
    if (most <= ceiling && least >= floor) break;
    if (most - least < 2) break;
    // The fullest and emptiest brokers first; when racks (or replicas already there) rule a pair
    // out, the next pair whose counts are still two or more apart.
    let moved = false;
    for (const [fullest] of sorted) {
      for (const [emptiest] of [...sorted].reverse()) {
        if (load.get(fullest)! - load.get(emptiest)! < 2) break;
        const movable = (candidate: Placement) => candidate.replicas.includes(fullest) && !candidate.replicas.includes(emptiest)
          && !moves.has(`${candidate.topic}-${candidate.partition}`) && rackAllows(image, candidate.replicas, fullest, emptiest);
        // The replica whose move leaves the two brokers' bytes closest.
        const gap = bytes.get(fullest)! - bytes.get(emptiest)!;
        const placement = placements.filter(movable).sort((left, right) => Math.abs(gap - 2 * sizeOf(left)) - Math.abs(gap - 2 * sizeOf(right)))[0];
        if (placement === undefined) continue;
        move(placement, fullest, emptiest);
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  if (moves.size === 0 && input.partitionBytes !== undefined) planBytes(image, placements, load, bytes, sizeOf, input, moves, move);
  if (moves.size === 0) planPreferredLeaders(placements, candidates, input.maxMoves, moves);
  return [...moves.values()];
}

/**
 * 3. Even out the bytes once the counts are even: between the heaviest and the lightest broker
 * (by bytes), while their gap exceeds the tolerance, move one replica when the heavier also holds
 * more replicas, else swap a larger replica of the heavier for a smaller one of the lighter — the
 * pair whose exchange leaves the two closest, and only if it narrows the gap.
 */
function planBytes(
  image: MetadataImage, placements: Placement[], load: Map<number, number>, bytes: Map<number, number>, sizeOf: (placement: Placement) => number,
  input: BalancerInput, moves: Map<string, ReassignmentRequest>, move: (placement: Placement, from: number, to: number) => void,
): void {
  const tolerance = input.bytesTolerance ?? 0;
  const free = (placement: Placement) => !moves.has(`${placement.topic}-${placement.partition}`);
  while (moves.size < input.maxMoves) {
    const sorted = [...bytes.entries()].sort((left, right) => right[1] - left[1] || left[0] - right[0]);
    const [heavy, heavyBytes] = sorted[0]!;
    const [light, lightBytes] = sorted[sorted.length - 1]!;
    const gap = heavyBytes - lightBytes;
    if (gap <= tolerance) return;
    const narrows = (delta: number) => delta > 0 && Math.abs(gap - 2 * delta) < gap;
    const closest = (left: number, right: number) => Math.abs(gap - 2 * left) - Math.abs(gap - 2 * right);
    const outgoing = placements.filter((placement) => free(placement) && placement.replicas.includes(heavy) && !placement.replicas.includes(light)
      && rackAllows(image, placement.replicas, heavy, light));
    if (load.get(heavy)! > load.get(light)!) {
      const single = outgoing.filter((placement) => narrows(sizeOf(placement))).sort((left, right) => closest(sizeOf(left), sizeOf(right)))[0];
      if (single === undefined) return;
      move(single, heavy, light);
      continue;
    }
    if (moves.size + 2 > input.maxMoves) return;
    const incoming = placements.filter((placement) => free(placement) && placement.replicas.includes(light) && !placement.replicas.includes(heavy)
      && rackAllows(image, placement.replicas, light, heavy));
    let best: { out: Placement; back: Placement; delta: number } | undefined;
    for (const out of outgoing) {
      for (const back of incoming) {
        if (out === back) continue;
        const delta = sizeOf(out) - sizeOf(back);
        if (narrows(delta) && (best === undefined || closest(delta, best.delta) < 0)) best = { out, back, delta };
      }
    }
    if (best === undefined) return;
    move(best.out, heavy, light);
    move(best.back, light, heavy);
  }
}

/**
 * 3. Even out the preferred leaders (the first replica of each partition), once the replica
 * counts are even: a partition whose preferred broker leads more than its share is reordered to
 * put a replica on a broker below its share first. A reorder keeps the replica set (it completes
 * at once); the preferred-leader election (auto.leader.rebalance.enable) then moves leadership.
 */
function planPreferredLeaders(placements: Placement[], candidates: readonly number[], maxMoves: number, moves: Map<string, ReassignmentRequest>): void {
  const preferred = new Map<number, number>(candidates.map((id) => [id, 0]));
  for (const placement of placements) {
    const first = placement.replicas[0]!;
    if (preferred.has(first)) preferred.set(first, preferred.get(first)! + 1);
  }
  const total = [...preferred.values()].reduce((sum, count) => sum + count, 0);
  const ceiling = Math.ceil(total / candidates.length);
  const floor = Math.floor(total / candidates.length);
  while (moves.size < maxMoves) {
    const sorted = [...preferred.entries()].sort((left, right) => right[1] - left[1] || left[0] - right[0]);
    const overCeiling = sorted.filter(([, count]) => count > ceiling).map(([id]) => id);
    const underFloor = sorted.filter(([, count]) => count < floor).map(([id]) => id);
    if (overCeiling.length === 0 && underFloor.length === 0) return;
    // Each step narrows the spread: from above the ceiling to below it, or from above the floor to below it.
    const over = overCeiling.length > 0 ? overCeiling : sorted.filter(([, count]) => count > floor).map(([id]) => id);
    const under = new Set(underFloor.length > 0 ? underFloor : sorted.filter(([, count]) => count < ceiling).map(([id]) => id));
    const placement = placements.find((candidate) => over.includes(candidate.replicas[0]!) && candidate.replicas.some((id) => under.has(id))
      && !moves.has(`${candidate.topic}-${candidate.partition}`));
    if (!placement) return;
    const from = placement.replicas[0]!;
    const to = placement.replicas.find((id) => under.has(id))!;
    placement.replicas = [to, ...placement.replicas.filter((id) => id !== to)];
    preferred.set(from, preferred.get(from)! - 1);
    preferred.set(to, preferred.get(to)! + 1);
    moves.set(`${placement.topic}-${placement.partition}`, { topic: placement.topic, partition: placement.partition, replicas: placement.replicas });
  }
}

/** Moving a replica from `from` to `to` does not put two replicas of the partition on one rack that were not. */
function rackAllows(image: MetadataImage, replicas: readonly number[], from: number, to: number): boolean {
  const rack = rackOf(image, to);
  if (rack === null || rack === rackOf(image, from)) return true;
  return !replicas.some((id) => id !== from && rackOf(image, id) === rack);
}

/** Partitions whose leader is not their preferred (first) replica although it could lead. */
export function imbalancedLeaders(image: MetadataImage): { topic: string; partition: number }[] {
  const live = (id: number) => { const broker = image.brokers.get(id); return broker !== undefined && !broker.fenced && !broker.inControlledShutdown; };
  const result: { topic: string; partition: number }[] = [];
  for (const topic of image.topicsByName.values()) {
    for (const registration of topic.partitions as readonly PartitionRegistration[]) {
      if (isReassigning(registration)) continue;
      const preferred = registration.replicas[0]!;
      if (registration.leader !== preferred && registration.isr.includes(preferred) && live(preferred)) result.push({ topic: topic.name, partition: registration.partition });
    }
  }
  return result;
}
