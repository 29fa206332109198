// The controller's rules for one partition's registration (docs/replication.md §3), pure: given the
// registration and an event, the new registration or the error to answer. The QuorumController turns
// a change into a PartitionChangeRecord (the fields that differ); the simulator applies the same
// function through its metadata log, so the rules it checks are the ones the broker runs.
//
// Every leader change bumps leaderEpoch; every change bumps partitionEpoch (AlterPartition requests
// carry both, so a stale one is refused). Only an ISR member that is eligible (unfenced, not in
// controlled shutdown) is elected; with none the partition has no leader until one returns, unless
// unclean.leader.election.enable.

import { ErrorCode } from "../../protocol/errors.ts";
import { chooseLeader, isrWithout } from "../../replication/core/election.ts";
import type { BrokerId } from "../../replication/core/types.ts";
import { NO_BROKER } from "../../replication/core/types.ts";
import { assert } from "../../util/assert.ts";

export interface PartitionRegistration {
  readonly replicas: readonly BrokerId[];
  readonly isr: readonly BrokerId[];
  /** NO_BROKER (-1) when the partition has no leader. */
  readonly leader: BrokerId;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export type PartitionEvent =
  /** AlterPartition (56) from the partition's leader. */
  | { readonly kind: "alterPartition"; readonly brokerId: BrokerId; readonly leaderEpoch: number; readonly partitionEpoch: number; readonly newIsr: readonly BrokerId[] }
  /** The broker missed its session timeout or its heartbeat connection closed. */
  | { readonly kind: "brokerFenced"; readonly brokerId: BrokerId }
  /** The broker registered after an unclean shutdown (KIP-966): out of every ISR that keeps another member. */
  | { readonly kind: "brokerUncleanRestart"; readonly brokerId: BrokerId }
  /** Controlled shutdown: move its leadership away and take it out of the ISR. */
  | { readonly kind: "brokerShuttingDown"; readonly brokerId: BrokerId }
  /** A broker became eligible again (unfenced): a leaderless partition may elect it. */
  | { readonly kind: "brokerUnfenced"; readonly brokerId: BrokerId };

export interface ControllerView {
  /** Unfenced and not in controlled shutdown: may lead and join an ISR. */
  isEligible(brokerId: BrokerId): boolean;
  readonly uncleanLeaderElection: boolean;
}

export type PartitionChangeResult =
  | { readonly ok: true; readonly registration: PartitionRegistration; readonly changed: boolean }
  | { readonly ok: false; readonly errorCode: number };

export function applyPartitionEvent(current: PartitionRegistration, event: PartitionEvent, view: ControllerView): PartitionChangeResult {
  assertWellFormed(current);
  switch (event.kind) {
    case "alterPartition": return alterPartition(current, event, view);
    case "brokerFenced":
    case "brokerUncleanRestart":
    case "brokerShuttingDown": return removeBroker(current, event.brokerId, view);
    case "brokerUnfenced": return electIfLeaderless(current, view);
  }
}

/** AlterPartition: only from the current leader, in its current epochs, to a valid new ISR. */
function alterPartition(current: PartitionRegistration, event: PartitionEvent & { kind: "alterPartition" }, view: ControllerView): PartitionChangeResult {
  if (event.leaderEpoch < current.leaderEpoch) return { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH };
  if (event.brokerId !== current.leader || event.leaderEpoch !== current.leaderEpoch) return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
  if (event.partitionEpoch !== current.partitionEpoch) return { ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION };
  const newIsr = [...new Set(event.newIsr)];
  if (!newIsr.includes(current.leader) || newIsr.some((id) => !current.replicas.includes(id))) return { ok: false, errorCode: ErrorCode.INVALID_REQUEST };
  if (newIsr.some((id) => !current.isr.includes(id) && !view.isEligible(id))) return { ok: false, errorCode: ErrorCode.INELIGIBLE_REPLICA };
  return changed(current, { isr: newIsr });
}

/** Take a broker out of the ISR (never emptying it) and move its leadership to an eligible member. */
function removeBroker(current: PartitionRegistration, brokerId: BrokerId, view: ControllerView): PartitionChangeResult {
  const isr = isrWithout(current.isr, brokerId);
  const eligible = (id: BrokerId) => id !== brokerId && view.isEligible(id);
  const leader = current.leader === brokerId || current.leader === NO_BROKER ? chooseLeader(current.replicas, isr, eligible, view.uncleanLeaderElection) : { leader: current.leader, unclean: false };
  // An unclean leader restarts the ISR with itself alone: nobody else is known to match it.
  const newIsr = leader.unclean ? [leader.leader] : isr;
  return changed(current, { isr: newIsr, leader: leader.leader });
}

function electIfLeaderless(current: PartitionRegistration, view: ControllerView): PartitionChangeResult {
  if (current.leader !== NO_BROKER && view.isEligible(current.leader)) return { ok: true, registration: current, changed: false };
  const choice = chooseLeader(current.replicas, current.isr, view.isEligible, view.uncleanLeaderElection);
  return changed(current, { leader: choice.leader, isr: choice.unclean ? [choice.leader] : current.isr });
}

/** The registration with `update` applied and the epochs bumped, or unchanged when nothing differs. */
function changed(current: PartitionRegistration, update: { isr?: readonly BrokerId[]; leader?: BrokerId }): PartitionChangeResult {
  const isr = update.isr ?? current.isr;
  const leader = update.leader ?? current.leader;
  const sameIsr = isr.length === current.isr.length && isr.every((id) => current.isr.includes(id));
  if (sameIsr && leader === current.leader) return { ok: true, registration: current, changed: false };
  const registration: PartitionRegistration = {
    replicas: current.replicas,
    isr,
    leader,
    leaderEpoch: leader === current.leader ? current.leaderEpoch : current.leaderEpoch + 1,
    partitionEpoch: current.partitionEpoch + 1,
  };
  assertWellFormed(registration);
  return { ok: true, registration, changed: true };
}

function assertWellFormed(registration: PartitionRegistration): void {
  assert(registration.isr.length > 0, "an ISR is never empty");
  assert(registration.isr.every((id) => registration.replicas.includes(id)), "the ISR is a subset of the replicas");
  assert(registration.leader === NO_BROKER || registration.isr.includes(registration.leader), "only an ISR member leads");
}

/** A new partition: the first eligible replica leads, every replica is in the ISR. */
export function newPartitionRegistration(replicas: readonly BrokerId[], view: ControllerView): PartitionRegistration {
  assert(replicas.length > 0 && new Set(replicas).size === replicas.length, "replicas are distinct and not empty");
  const choice = chooseLeader(replicas, replicas, view.isEligible);
  return { replicas: [...replicas], isr: [...replicas], leader: choice.leader, leaderEpoch: 0, partitionEpoch: 0 };
}
