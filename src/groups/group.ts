// The in-memory state of one classic consumer group and its members. Only the coordinator
// (coordinator.ts) changes it; every change happens inside one synchronous call, so a group never
// shows a half-applied transition to another request (single writer per group on one event loop).
//
//   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
//     ▲                    ▲   │ (no member left: back to Empty)                │ leader's SyncGroup
//     │                    │   ▼                                                ▼
//     └──── last member ───┴── member joins, leaves, dies, changes protocols ── Stable
//   Any state ──DeleteGroups / all offsets expired──▶ Dead

import type { TimerHandle } from "./scheduler.ts";
import type { CommittedOffset, GroupState, JoinGroupResult, ProtocolOffer, SyncGroupResult } from "./types.ts";

export const EMPTY_BYTES = new Uint8Array(0);

export class Member {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolOffer[];
  assignment: Uint8Array = EMPTY_BYTES;
  /** Set while the member's JoinGroup waits for the rebalance to complete. */
  joinWaiter: ((result: JoinGroupResult) => void) | null = null;
  /** Set while the member's SyncGroup waits for the leader's assignment. */
  syncWaiter: ((result: SyncGroupResult) => void) | null = null;
  /** Monotonic ms after which the member is considered dead (unless awaiting join or sync). */
  deadlineMs = 0;
  sessionTimer: TimerHandle | null = null;

  constructor(init: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    protocolType: string;
    protocols: ProtocolOffer[];
  }) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  metadataFor(protocolName: string): Uint8Array {
    return this.protocols.find((protocol) => protocol.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }

  sameProtocols(protocols: ProtocolOffer[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((protocol, index) => {
      const mine = this.protocols[index]!;
      return mine.name === protocol.name && bytesEqual(mine.metadata, protocol.metadata);
    });
  }
}

export class Group {
  readonly groupId: string;
  state: GroupState = "Empty";
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Wall-clock ms of the last state change. */
  stateTimestampMs: number;
  readonly members = new Map<string, Member>();
  /** group.instance.id → current member id (KIP-345). */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED (KIP-394), expiring after the session timeout. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  rebalanceTimer: TimerHandle | null = null;
  syncTimer: TimerHandle | null = null;
  /** group.initial.rebalance.delay.ms window of the first rebalance of an Empty group. */
  initialDelay: { remainingMs: number; newMembersAdded: boolean } | null = null;
  /** Log writes of this group, applied in order (one writer per group). */
  writeChain: Promise<void> = Promise.resolve();

  constructor(groupId: string, nowMs: number) {
    this.groupId = groupId;
    this.stateTimestampMs = nowMs;
  }

  setState(state: GroupState, nowMs: number): void {
    this.state = state;
    this.stateTimestampMs = nowMs;
  }

  allMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const member of this.members.values()) if (!member.joinWaiter) return false;
    return true;
  }

  rebalanceTimeoutMs(): number {
    let timeout = 0;
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs);
    return timeout;
  }

  /** Protocol names every member supports, in the first member's order of preference. */
  candidateProtocols(): string[] {
    let candidates: string[] | null = null;
    for (const member of this.members.values()) {
      const names = member.protocols.map((protocol) => protocol.name);
      candidates = candidates === null ? names : candidates.filter((name) => names.includes(name));
    }
    return candidates ?? [];
  }

  /** Kafka's vote: each member votes for its most preferred candidate; most votes wins. */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const choice = member.protocols.find((protocol) => candidates.includes(protocol.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const name of candidates) if ((votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    return best;
  }

  offsetCount(): number {
    let count = 0;
    for (const partitions of this.offsets.values()) count += partitions.size;
    return count;
  }
}

export function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}
