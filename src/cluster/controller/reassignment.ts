// Partition reassignment (Kafka's KIP-455), pure rules beside partition-change.ts: given a
// partition's registration (with addingReplicas / removingReplicas), the registration a request or
// an ISR change leads to.
//
//   start:     replicas = target ∪ original, addingReplicas = target − original,
//              removingReplicas = original − target; the ISR unchanged (the new replicas are
//              followers outside it: they fetch, catch up and the leader adds them through
//              AlterPartition, as any lagging follower).
//   complete:  once every target replica is in the ISR, replicas = target, the removed replicas
//              leave the ISR, and if the leader is being removed (or cannot lead) the first
//              eligible target replica in the ISR leads (a new leader epoch).
//   cancel:    back to the original replicas; the adding ones leave the ISR (and the leadership).
//
// A new target while one is in progress starts from the original replicas (Kafka's rule): the
// replicas added by the first target and not in the new one are dropped.

import { ErrorCode } from "../../protocol/errors.ts";
import { chooseLeader } from "../../replication/core/election.ts";
import { NO_BROKER, type BrokerId } from "../../replication/core/types.ts";
import { assert } from "../../util/assert.ts";

export interface ReassigningRegistration {
  readonly replicas: readonly BrokerId[];
  readonly isr: readonly BrokerId[];
  readonly addingReplicas: readonly BrokerId[];
  readonly removingReplicas: readonly BrokerId[];
  readonly leader: BrokerId;
}

export type ReassignmentResult =
  | { readonly ok: true; readonly registration: ReassigningRegistration; readonly changed: boolean }
  | { readonly ok: false; readonly errorCode: number; readonly message: string };

export function isReassigning(registration: ReassigningRegistration): boolean {
  return registration.addingReplicas.length > 0 || registration.removingReplicas.length > 0;
}

/** The replicas before the reassignment in progress (all of them when none is). */
export function originalReplicas(registration: ReassigningRegistration): BrokerId[] {
  return registration.replicas.filter((id) => !registration.addingReplicas.includes(id));
}

/** The replicas the reassignment in progress aims at (all of them when none is). */
export function targetReplicas(registration: ReassigningRegistration): BrokerId[] {
  return registration.replicas.filter((id) => !registration.removingReplicas.includes(id));
}

/**
 * Start (or replace) a reassignment to `target`; `isRegistered` says whether a broker id is known.
 * Completes at once when every target replica is already in the ISR.
 */
export function startReassignment(
  current: ReassigningRegistration, target: readonly BrokerId[], isRegistered: (id: BrokerId) => boolean, isEligible: (id: BrokerId) => boolean,
): ReassignmentResult {
  if (target.length === 0 || new Set(target).size !== target.length) {
    return { ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: "the target replicas must be distinct and not empty" };
  }
  const unknown = target.filter((id) => !isRegistered(id));
  if (unknown.length > 0) return { ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `unknown broker(s) ${unknown.join(",")}` };
  const original = originalReplicas(current);
  const adding = target.filter((id) => !original.includes(id));
  const removing = original.filter((id) => !target.includes(id));
  const replicas = [...target, ...removing];
  const isr = current.isr.filter((id) => replicas.includes(id));
  if (isr.length === 0) {
    return { ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: "no in-sync replica would remain" };
  }
  // The leader may have been an adding replica of the reassignment this one replaces.
  const leader = replicas.includes(current.leader) ? current.leader : chooseLeader(replicas, isr, isEligible).leader;
  const started: ReassigningRegistration = { replicas, isr, addingReplicas: adding, removingReplicas: removing, leader };
  const completed = completeReassignment(started, isEligible);
  return result(current, completed ?? started);
}

/** Cancel the reassignment in progress: NO_REASSIGNMENT_IN_PROGRESS when there is none. */
export function cancelReassignment(current: ReassigningRegistration, isEligible: (id: BrokerId) => boolean): ReassignmentResult {
  if (!isReassigning(current)) return { ok: false, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, message: "no reassignment in progress" };
  const replicas = originalReplicas(current);
  const withoutAdded = current.isr.filter((id) => replicas.includes(id));
  // Never empty an ISR: an added replica alone in it stays (then it is not cancelled yet).
  if (withoutAdded.length === 0) return { ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: "no original replica is in sync" };
  const leader = withoutAdded.includes(current.leader) ? current.leader : chooseLeader(replicas, withoutAdded, isEligible).leader;
  return result(current, { replicas, isr: withoutAdded, addingReplicas: [], removingReplicas: [], leader });
}

/**
 * The completed registration when every target replica is in the ISR, else null. The leader
 * stays unless it is being removed or cannot lead; then the first eligible target replica in the
 * ISR leads (none: no leader until one returns, as after any election).
 */
export function completeReassignment(current: ReassigningRegistration, isEligible: (id: BrokerId) => boolean): ReassigningRegistration | null {
  if (!isReassigning(current)) return null;
  const target = targetReplicas(current);
  if (!target.every((id) => current.isr.includes(id))) return null;
  const isr = current.isr.filter((id) => target.includes(id));
  const leaderStays = target.includes(current.leader) && isEligible(current.leader);
  const leader = leaderStays ? current.leader : chooseLeader(target, isr, isEligible).leader;
  const completed = { replicas: target, isr, addingReplicas: [], removingReplicas: [], leader };
  assert(completed.isr.length > 0 && (leader === NO_BROKER || isr.includes(leader)), "a completed reassignment keeps an ISR with its leader");
  return completed;
}

function sameList(left: readonly BrokerId[], right: readonly BrokerId[]): boolean {
  return left.length === right.length && left.every((id, index) => right[index] === id);
}

function result(current: ReassigningRegistration, next: ReassigningRegistration): ReassignmentResult {
  const changed = !sameList(current.replicas, next.replicas) || !sameList(current.isr, next.isr)
    || !sameList(current.addingReplicas, next.addingReplicas) || !sameList(current.removingReplicas, next.removingReplicas) || current.leader !== next.leader;
  return { ok: true, registration: changed ? next : current, changed };
}

/**
 * Preferred leader election (ElectLeaders type 0): the first replica leads when it is in the ISR
 * and eligible. ELECTION_NOT_NEEDED when it already does, PREFERRED_LEADER_NOT_AVAILABLE when it
 * cannot.
 */
export function electPreferredLeader(current: ReassigningRegistration, isEligible: (id: BrokerId) => boolean): { errorCode: number; leader: BrokerId } {
  const preferred = targetReplicas(current)[0]!;
  if (current.leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, leader: preferred };
  if (!current.isr.includes(preferred) || !isEligible(preferred)) return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, leader: current.leader };
  return { errorCode: ErrorCode.NONE, leader: preferred };
}

/**
 * Unclean election (ElectLeaders type 1): only for a partition without an eligible leader; the
 * first eligible ISR member, else the first eligible replica (the ISR restarts with it alone).
 */
export function electUncleanLeader(current: ReassigningRegistration, isEligible: (id: BrokerId) => boolean): { errorCode: number; leader: BrokerId; isr: readonly BrokerId[] } {
  if (current.leader !== NO_BROKER && isEligible(current.leader)) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, leader: current.leader, isr: current.isr };
  const choice = chooseLeader(current.replicas, current.isr, isEligible, true);
  if (choice.leader === NO_BROKER) return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, leader: NO_BROKER, isr: current.isr };
  return { errorCode: ErrorCode.NONE, leader: choice.leader, isr: choice.unclean ? [choice.leader] : current.isr };
}
