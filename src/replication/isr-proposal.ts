// The state of one partition leader's ISR change request (AlterPartition) between proposing it and
// seeing its outcome in the metadata image (docs/replication.md §5, "found by the simulator"):
//
//   propose(newIsr) ──▶ in flight ──▶ answered ──▶ registration with a newer partition epoch
//                       additions count toward      (or refused)     arrives: additions dropped
//                       the high watermark
//
// Additions stay in the maximal ISR until a registration with a newer partition epoch than the one
// the request was built on arrives — not merely until the request is answered or refused: a request
// that looked lost may have been committed, and a refusal (INVALID_UPDATE_VERSION) may mean the
// controller already moved on with the addition in. A member proposed for removal keeps counting
// until the registration without it arrives (the current ISR is the image's).
// One proposal at a time per partition; a new one waits until the previous one's registration came
// (or `retryAfterMs` passed since it was answered without one: the answer was lost or refused).

import { assert } from "../util/assert.ts";
import type { BrokerId } from "./core/index.ts";

export class IsrProposal {
  private inFlight = false;
  /** Members being added: counted in the maximal ISR until a newer registration arrives. */
  private additionsValue: BrokerId[] = [];
  /** The partition epoch the newest proposal was built on. */
  private basePartitionEpoch = -1;
  /** When the newest proposal was answered (monotonic ms); -1 while none is waiting. */
  private answeredAtMs = -1;
  /** Tells a stale answer (of a proposal before a reset) from the current one. */
  private generation = 0;

  get pendingAdditions(): readonly BrokerId[] {
    return this.additionsValue;
  }

  get isInFlight(): boolean {
    return this.inFlight;
  }

  /** Whether a new proposal may be sent now. */
  mayPropose(nowMs: number, retryAfterMs: number): boolean {
    if (this.inFlight) return false;
    return this.answeredAtMs < 0 || nowMs - this.answeredAtMs >= retryAfterMs;
  }

  /**
   * A proposal of `newIsr` built on `current` (the registration's ISR at `partitionEpoch`) is sent.
   * Returns its token for `answered`.
   */
  proposed(newIsr: readonly BrokerId[], current: readonly BrokerId[], partitionEpoch: number): number {
    assert(!this.inFlight, "one ISR proposal at a time");
    const added = newIsr.filter((id) => !current.includes(id));
    this.additionsValue = [...new Set([...this.additionsValue, ...added])];
    this.basePartitionEpoch = partitionEpoch;
    this.inFlight = true;
    this.answeredAtMs = -1;
    this.generation += 1;
    return this.generation;
  }

  /** The controller answered (whatever it said): wait for the registration, or retry later. */
  answered(token: number, nowMs: number): void {
    if (token !== this.generation || !this.inFlight) return;
    this.inFlight = false;
    this.answeredAtMs = nowMs;
  }

  /**
   * The controller refused the proposal for good at the partition epoch it was built on
   * (INELIGIBLE_REPLICA, INVALID_REQUEST): nothing of it was committed — an earlier proposal
   * committed since would have changed the partition epoch and been answered INVALID_UPDATE_VERSION
   * — so its additions stop counting.
   */
  refusedForGood(token: number): void {
    if (token !== this.generation) return;
    this.additionsValue = [];
  }

  /** A registration of this leader's epoch at `partitionEpoch` was applied. */
  registrationSeen(partitionEpoch: number): void {
    if (partitionEpoch <= this.basePartitionEpoch) return;
    this.additionsValue = [];
    this.answeredAtMs = -1;
  }

  /** A new leader epoch (or another role): nothing of the old one counts. */
  reset(): void {
    this.generation += 1;
    this.inFlight = false;
    this.additionsValue = [];
    this.basePartitionEpoch = -1;
    this.answeredAtMs = -1;
  }
}
