// The controller's rules for a partition's registration (src/cluster/controller/partition-change.ts):
// AlterPartition validation, fencing and unclean restarts (KIP-966), controlled shutdown, elections,
// and the epochs every change bumps.

import { describe, expect, test } from "bun:test";
import type { ControllerView, PartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import { applyPartitionEvent, newPartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const registration: PartitionRegistration = { replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 5, partitionEpoch: 9 };
const allLive: ControllerView = { isEligible: () => true, uncleanLeaderElection: false };
const without = (...fenced: number[]): ControllerView => ({ isEligible: (id) => !fenced.includes(id), uncleanLeaderElection: false });

describe("partition changes", () => {
  test("a new partition: every replica in the ISR, the first eligible one leads", () => {
    expect(newPartitionRegistration([2, 1, 3], without(2))).toEqual({ replicas: [2, 1, 3], isr: [2, 1, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 });
  });

  test("AlterPartition from the leader in its current epochs changes the ISR and bumps the partition epoch", () => {
    const shrink = applyPartitionEvent(registration, { kind: "alterPartition", brokerId: 1, leaderEpoch: 5, partitionEpoch: 9, newIsr: [1, 3] }, allLive);
    expect(shrink).toEqual({ ok: true, changed: true, registration: { ...registration, isr: [1, 3], partitionEpoch: 10 } });
    const same = applyPartitionEvent(registration, { kind: "alterPartition", brokerId: 1, leaderEpoch: 5, partitionEpoch: 9, newIsr: [3, 2, 1] }, allLive);
    expect(same).toEqual({ ok: true, changed: false, registration });
  });

  test("AlterPartition that is stale, not from the leader, or invalid is refused", () => {
    const alter = (fields: Partial<{ brokerId: number; leaderEpoch: number; partitionEpoch: number; newIsr: number[] }>, view = allLive) =>
      applyPartitionEvent({ ...registration, isr: [1, 2] }, { kind: "alterPartition", brokerId: 1, leaderEpoch: 5, partitionEpoch: 9, newIsr: [1, 2, 3], ...fields }, view);
    expect(alter({ leaderEpoch: 4 })).toEqual({ ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    expect(alter({ brokerId: 2 })).toEqual({ ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(alter({ partitionEpoch: 8 })).toEqual({ ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION });
    expect(alter({ newIsr: [2, 3] })).toEqual({ ok: false, errorCode: ErrorCode.INVALID_REQUEST }); // without the leader
    expect(alter({ newIsr: [1, 4] })).toEqual({ ok: false, errorCode: ErrorCode.INVALID_REQUEST }); // not a replica
    expect(alter({}, without(3))).toEqual({ ok: false, errorCode: ErrorCode.INELIGIBLE_REPLICA }); // adding a fenced broker
    expect(alter({ newIsr: [1] }, without(2))).toMatchObject({ ok: true, changed: true }); // removing one is fine
  });

  test("fencing the leader elects the next eligible ISR member and bumps both epochs", () => {
    const result = applyPartitionEvent(registration, { kind: "brokerFenced", brokerId: 1 }, without(1));
    expect(result).toEqual({ ok: true, changed: true, registration: { ...registration, isr: [2, 3], leader: 2, leaderEpoch: 6, partitionEpoch: 10 } });
  });

  test("the last ISR member stays in the ISR when fenced; the partition waits leaderless for it (unclean election off)", () => {
    const alone = { ...registration, isr: [1] };
    const fenced = applyPartitionEvent(alone, { kind: "brokerFenced", brokerId: 1 }, without(1));
    expect(fenced).toEqual({ ok: true, changed: true, registration: { ...alone, leader: -1, leaderEpoch: 6, partitionEpoch: 10 } });
    if (!fenced.ok) throw new Error("unreachable");
    const back = applyPartitionEvent(fenced.registration, { kind: "brokerUnfenced", brokerId: 1 }, allLive);
    expect(back).toEqual({ ok: true, changed: true, registration: { ...alone, leader: 1, leaderEpoch: 7, partitionEpoch: 11 } });
    // With unclean election on, another replica takes over with an ISR of itself alone.
    const unclean = applyPartitionEvent(fenced.registration, { kind: "brokerUnfenced", brokerId: 2 }, { isEligible: (id) => id !== 1, uncleanLeaderElection: true });
    expect(unclean).toMatchObject({ ok: true, registration: { leader: 2, isr: [2] } });
  });

  test("an unclean restart takes the broker out of every ISR that keeps another member (KIP-966)", () => {
    const follower = applyPartitionEvent(registration, { kind: "brokerUncleanRestart", brokerId: 3 }, without(3));
    expect(follower).toEqual({ ok: true, changed: true, registration: { ...registration, isr: [1, 2], partitionEpoch: 10 } });
    const alone = applyPartitionEvent({ ...registration, isr: [3], leader: -1 }, { kind: "brokerUncleanRestart", brokerId: 3 }, without(3));
    expect(alone).toMatchObject({ ok: true, changed: false });
  });

  test("controlled shutdown moves leadership away first", () => {
    const result = applyPartitionEvent(registration, { kind: "brokerShuttingDown", brokerId: 1 }, allLive);
    expect(result).toEqual({ ok: true, changed: true, registration: { ...registration, isr: [2, 3], leader: 2, leaderEpoch: 6, partitionEpoch: 10 } });
  });

  test("a fenced follower's removal keeps the leader and its epoch", () => {
    const result = applyPartitionEvent(registration, { kind: "brokerFenced", brokerId: 2 }, without(2));
    expect(result).toEqual({ ok: true, changed: true, registration: { ...registration, isr: [1, 3], partitionEpoch: 10 } });
  });
});
