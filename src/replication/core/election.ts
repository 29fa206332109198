// Who leads a partition, and who stays in its ISR when a broker goes away (the controller's rules,
// docs/replication.md §3). Unclean leader election is off by default: only an ISR member leads.

import type { BrokerId } from "./types.ts";
import { NO_BROKER } from "./types.ts";

export interface LeaderChoice {
  readonly leader: BrokerId;
  /** True when the leader came from outside the ISR (unclean.leader.election.enable=true only). */
  readonly unclean: boolean;
}

/**
 * The first replica in assignment order (the preferred replica when possible) that is in the ISR
 * and eligible (unfenced, not shutting down); with unclean election allowed and no such replica,
 * the first eligible replica at all. NO_BROKER when none.
 */
export function chooseLeader(replicas: readonly BrokerId[], isr: readonly BrokerId[], isEligible: (id: BrokerId) => boolean, uncleanAllowed = false): LeaderChoice {
  const clean = replicas.find((id) => isr.includes(id) && isEligible(id));
  if (clean !== undefined) return { leader: clean, unclean: false };
  const unclean = uncleanAllowed ? replicas.find(isEligible) : undefined;
  return unclean !== undefined ? { leader: unclean, unclean: true } : { leader: NO_BROKER, unclean: false };
}

/**
 * The ISR without `brokerId` — unless it is the only member: an ISR is never left empty, so the
 * last member keeps the right to lead when it returns (a fenced broker, or KIP-966's rule for a
 * broker that restarted uncleanly, which must not count toward the high watermark or lead while
 * another member holds what it may have lost).
 */
export function isrWithout(isr: readonly BrokerId[], brokerId: BrokerId): BrokerId[] {
  if (!isr.includes(brokerId) || isr.length === 1) return [...isr];
  return isr.filter((id) => id !== brokerId);
}
