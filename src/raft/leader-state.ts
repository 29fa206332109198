// What a leader knows about the replicas fetching from it during its epoch: each one's replicated
// end offset (its fetch offset, which is its durable end), when it last fetched, parked long-poll
// fetches, and which voters still have to hear BeginQuorumEpoch. Lives only as long as the epoch.

import { assert } from "../util/assert.ts";
import type { FetchRequest } from "./messages.ts";
import { majorityEndOffset, majorityOf } from "./rules.ts";
import type { NodeId, QuorumDescription, ReplicaDescription } from "./types.ts";

export interface ReplicaProgress {
  /** Validated fetch offset in this epoch (-1 until the first valid fetch). */
  endOffset: bigint;
  lastFetchMs: number;
  /** Last time the replica's fetch offset reached the leader's end as of its previous fetch. */
  lastCaughtUpMs: number;
  /** The leader's log end when this replica last fetched. */
  leaderEndAtLastFetch: bigint;
  /** The high watermark last sent to this replica, so a parked fetch is answered when it moves. */
  highWatermarkSent: bigint;
}

export interface ParkedFetch {
  readonly from: NodeId;
  readonly request: FetchRequest;
  readonly deadlineMs: number;
}

export class LeaderState {
  readonly voters = new Map<NodeId, ReplicaProgress>();
  readonly observers = new Map<NodeId, ReplicaProgress>();
  readonly parked = new Map<NodeId, ParkedFetch>();
  /** Voters that have neither answered BeginQuorumEpoch nor fetched in this epoch. */
  readonly beginUnacknowledged: Set<NodeId>;
  beginRetryAtMs: number;

  constructor(
    readonly self: NodeId,
    readonly epoch: number,
    /** Offset of this epoch's LeaderChange entry: nothing commits until it does. */
    readonly epochStartOffset: bigint,
    voterIds: readonly NodeId[],
    readonly grantingVoters: readonly NodeId[],
    nowMs: number,
  ) {
    assert(voterIds.includes(self), "a leader is elected as a voter");
    for (const voter of voterIds) this.voters.set(voter, newProgress(nowMs));
    this.beginUnacknowledged = new Set(voterIds.filter((voter) => voter !== self));
    this.beginRetryAtMs = nowMs;
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  /**
   * The leader appended a voters entry: from now on only `voterIds` count toward the high
   * watermark and check-quorum (this leader too only if it is still among them). A replica keeps
   * its progress as it moves between voters and observers.
   */
  updateVoters(voterIds: readonly NodeId[], nowMs: number): void {
    for (const [id, progress] of [...this.voters]) {
      if (voterIds.includes(id)) continue;
      this.voters.delete(id);
      this.beginUnacknowledged.delete(id);
      if (id !== this.self) this.observers.set(id, progress);
    }
    for (const id of voterIds) {
      if (this.voters.has(id)) continue;
      const progress = this.observers.get(id) ?? newProgress(nowMs);
      this.observers.delete(id);
      this.voters.set(id, progress);
    }
  }

  /**
   * A valid fetch (its position matched the leader's log) from `replica` at `fetchOffset`.
   * Within one epoch a replica's validated offset never goes back: it only truncates on a
   * divergence, and a validated prefix never diverges from the leader that validated it. A lower
   * offset is a late duplicate of an older request (the network may reorder): it moves nothing.
   */
  recordFetch(replica: NodeId, fetchOffset: bigint, leaderEnd: bigint, nowMs: number): void {
    let progress = this.voters.get(replica) ?? this.observers.get(replica);
    if (progress === undefined) {
      progress = newProgress(nowMs);
      this.observers.set(replica, progress);
    }
    if (fetchOffset < progress.endOffset) return;
    if (fetchOffset >= leaderEnd) progress.lastCaughtUpMs = nowMs;
    else if (fetchOffset >= progress.leaderEndAtLastFetch) progress.lastCaughtUpMs = progress.lastFetchMs;
    progress.endOffset = fetchOffset;
    progress.lastFetchMs = nowMs;
    progress.leaderEndAtLastFetch = leaderEnd;
    this.beginUnacknowledged.delete(replica);
  }

  /** A FetchSnapshot from a voter shows it is alive (check-quorum) without moving its offset. */
  recordContact(replica: NodeId, nowMs: number): void {
    const progress = this.voters.get(replica);
    if (progress !== undefined) progress.lastFetchMs = nowMs;
  }

  /** The offset below which a majority of voters (this leader counted at `ownEnd`) hold everything. */
  majorityEnd(ownEnd: bigint): bigint {
    const ends = [...this.voters].map(([id, progress]) => (id === this.self ? ownEnd : progress.endOffset));
    return majorityEndOffset(ends, this.voters.size);
  }

  /** Check-quorum: has a majority of voters (this one included) fetched within `timeoutMs`? */
  hasQuorumContact(nowMs: number, timeoutMs: number): boolean {
    let recent = 0;
    for (const [id, progress] of this.voters) {
      if (id === this.self || nowMs - progress.lastFetchMs < timeoutMs) recent++;
    }
    return recent >= majorityOf(this.voters.size);
  }

  /** When check-quorum next needs looking at: when the majority's oldest recent fetch expires. */
  quorumDeadlineMs(timeoutMs: number): number {
    const times = [...this.voters].filter(([id]) => id !== this.self).map(([, progress]) => progress.lastFetchMs).sort((a, b) => b - a);
    const needed = majorityOf(this.voters.size) - (this.voters.has(this.self) ? 1 : 0);
    return needed === 0 ? Number.POSITIVE_INFINITY : times[needed - 1]! + timeoutMs;
  }

  /** Voters most caught up first: the order in which they should try to succeed a resigning leader. */
  preferredSuccessors(): NodeId[] {
    return [...this.voters].filter(([id]) => id !== this.self)
      .sort(([idA, a], [idB, b]) => (a.endOffset === b.endOffset ? idA - idB : a.endOffset > b.endOffset ? -1 : 1))
      .map(([id]) => id);
  }

  describe(highWatermark: bigint, ownEnd: bigint, nowMs: number): QuorumDescription {
    const describeOne = ([id, progress]: [NodeId, ReplicaProgress]): ReplicaDescription => (id === this.self
      ? { replicaId: id, logEndOffset: ownEnd, lastFetchTimestamp: nowMs, lastCaughtUpTimestamp: nowMs }
      : { replicaId: id, logEndOffset: progress.endOffset, lastFetchTimestamp: progress.endOffset < 0n ? -1 : progress.lastFetchMs, lastCaughtUpTimestamp: progress.lastCaughtUpMs });
    return {
      leaderId: this.self,
      leaderEpoch: this.epoch,
      highWatermark,
      currentVoters: [...this.voters].map(describeOne),
      observers: [...this.observers].map(describeOne),
    };
  }
}

function newProgress(nowMs: number): ReplicaProgress {
  // A new leader gives every voter a full fetch timeout before check-quorum counts it as gone.
  return { endOffset: -1n, lastFetchMs: nowMs, lastCaughtUpMs: -1, leaderEndAtLastFetch: -1n, highWatermarkSent: -1n };
}
