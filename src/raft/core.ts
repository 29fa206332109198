// The Raft core of the metadata quorum: a pure, deterministic state machine (KRaft's model —
// KIP-595 pull-based Raft, KIP-630 snapshots, KIP-996 pre-vote). No timers, clock, randomness or
// I/O inside: time comes in through `tick`, randomness through the injected `random`, the log is
// a synchronous `RaftLog`, and everything the outside world must do comes out of `ready()`.
//
// Roles (voters; observers are only ever unattached or follower):
//
//   unattached ──election timeout──▶ prospective ──pre-vote majority──▶ candidate ──vote majority──▶ leader
//                                      │ refused by a voter                │ election timeout
//                                      │ naming a live leader              ▼
//                                      ▼                       unattached (random backoff) ──▶ prospective
//                                   follower ──fetch timeout or leaderUnreachable()──▶ prospective
//   leader ──check-quorum lost or resign()──▶ resigned (EndQuorumEpoch) ──election timeout──▶ prospective
//   any role ──a message of a newer epoch──▶ follower of the leader it names, or unattached
//
// HOW A DRIVER USES IT (src/raft/driver.ts, to be written, wires disk and network):
//  1. At start: load the quorum state (`quorum-state`) and open the RaftLog (its latest snapshot
//     and the entries after it; everything loaded is durable). A snapshot ahead of the log, or one
//     the log disagrees with at its end offset (another epoch there), replaces the log entirely
//     (KRaft's truncate-to-latest-snapshot); otherwise the log drops what the snapshot covers.
//     Load the state machine from the latest snapshot. Construct
//     `new RaftCore(config, log, quorumState, nowMs, random)`.
//  2. Before every input, call `tick(now)` with a monotonic clock in ms; call it again no later
//     than `ready.nextWakeMs` even when nothing arrives. Inputs: `step(from, message)` for every
//     decoded Raft request or response (responses with their "echo" fields filled from the request
//     they answer, messages.ts; `from` is the sender's node id — for a request the id it names:
//     Fetch/FetchSnapshot replicaId, Vote candidateId, Begin/EndQuorumEpoch leaderId — for a
//     response the node the request went to), `propose(values)` on the active controller, `markDurable(position)`
//     after each flush, `installedSnapshot(id)` after the state machine wrote a snapshot into the
//     log's snapshot store, `leaderUnreachable()` when the connection to the leader closed,
//     `resign()` on controlled shutdown.
//  3. After every input (or batch of inputs) take `const ready = core.ready()` and, in this order:
//     a. if `ready.quorumState`: write it atomically and fsync it — BEFORE sending any message of
//        this ready (a vote or a leadership must never be announced and then forgotten);
//     b. send `ready.messages` (each to its `to`; a request's response comes back through `step`);
//     c. if `ready.snapshotInstalled`: reload the state machine from the log's latest snapshot;
//     d. apply `ready.committed` to the state machine in order (they are committed: durable on a
//        majority; they need not be durable locally yet);
//     e. if `ready.flushNeeded`: flush the log (writes in the order made, truncations included;
//        one flush may cover many readies — group commit) and then call
//        `markDurable({ offset, epoch })` with the log end offset and the epoch of the entry
//        below it *as they were when the flush started* (the core ignores a stale position);
//     f. `ready.leaderChange` tells the node to become (or stop being) the active controller.
//  4. Every request stepped in gets exactly one response, as an outbound message to the requester
//     in this or a later ready: a fetch with nothing new is parked (long poll) and answered on new
//     entries, a high-watermark move, its max wait, or a change of leadership. Responses can thus
//     leave in another order than their requests came; on Kafka's wire, which answers in request
//     order per connection, the driver matches each to its request (by kind and sender) and holds
//     later ones as needed, or keeps fetches on their own connection.
//  5. Inputs may be given while a ready is being handled (installedSnapshot after applying,
//     propose by the controller); take `ready()` again afterwards until it is empty.
//
// Rules kept (docs/replication.md §4): epoch and vote persisted before answering; a replica counts
// toward the high watermark only with what it has fsynced (followers fetch from their durable end,
// the leader counts its durable end); a leader commits nothing of an older epoch directly — its
// LeaderChange entry must commit first; pre-vote before any epoch bump; check-quorum.

import { ErrorCode } from "../protocol/errors.ts";
import { assert, unreachable } from "../util/assert.ts";
import { LeaderState } from "./leader-state.ts";
import type { ParkedFetch } from "./leader-state.ts";
import type { RaftLog } from "./log.ts";
import type {
  BeginQuorumEpochRequest, BeginQuorumEpochResponse, DivergingEpoch, EndQuorumEpochRequest, EndQuorumEpochResponse,
  FetchRequest, FetchResponse, FetchSnapshotRequest, FetchSnapshotResponse, RaftMessage, VoteRequest, VoteResponse,
} from "./messages.ts";
import {
  candidateLogIsUpToDate, checkFetchPosition, followerTruncationOffset, majorityOf, otherVoters, randomDelay,
} from "./rules.ts";
import type {
  LeaderAndEpoch, LogPosition, NodeId, Outbound, QuorumDescription, QuorumState, RaftConfig, RaftEntry, SnapshotId, Voter,
} from "./types.ts";
import { NO_NODE } from "./types.ts";
import { staticVoters, VoterHistory } from "./voter-history.ts";

export type RoleName = "unattached" | "prospective" | "candidate" | "leader" | "follower" | "resigned";

type Role =
  | { name: "unattached"; electionAtMs: number }
  | { name: "prospective" | "candidate"; granted: Set<NodeId>; answered: Set<NodeId>; electionAtMs: number; retryAtMs: number }
  | { name: "leader"; state: LeaderState }
  | { name: "follower"; leaderId: NodeId; lastContactMs: number; heardFromLeaderMs: number; fetchSentAtMs: number | null; snapshot: SnapshotFetch | null }
  | { name: "resigned"; electionAtMs: number; unacknowledged: Set<NodeId>; retryAtMs: number; preferred: NodeId[] };

interface SnapshotFetch {
  id: SnapshotId;
  position: bigint;
}

/** Everything the driver must do after an input (see the header for the order). */
export interface RaftReady {
  /** Persist (atomically, fsynced) before sending any of `messages`. */
  readonly quorumState: QuorumState | null;
  readonly messages: readonly Outbound<RaftMessage>[];
  /** The log has writes not yet reported durable: flush, then markDurable. */
  readonly flushNeeded: boolean;
  /** A snapshot fetched from the leader replaced the log: reload the state machine from it. */
  readonly snapshotInstalled: SnapshotId | null;
  /** Newly committed entries, in order, to apply after any installed snapshot. */
  readonly committed: readonly RaftEntry[];
  readonly highWatermark: bigint;
  /** Set when the known leader or epoch changed since the previous ready. */
  readonly leaderChange: LeaderAndEpoch | null;
  /** Call tick() no later than this (monotonic ms). */
  readonly nextWakeMs: number;
}

/** The outcome of addVoter/removeVoter: the voters entry's offset (answer once it commits), or why not. */
export type VoterChangeResult =
  | { readonly ok: true; readonly offset: bigint }
  | { readonly ok: false; readonly errorCode: number; readonly message: string };

export type ProposeResult =
  | { readonly ok: true; readonly firstOffset: bigint; readonly lastOffset: bigint; readonly epoch: number }
  | { readonly ok: false; readonly errorCode: number; readonly leaderId: NodeId | null; readonly epoch: number };

export class RaftCore {
  private readonly self: NodeId;
  /** The voter set as log state (KIP-853): the latest voters entry in the log rules. */
  private readonly voterHistory: VoterHistory;
  private quorum: QuorumState;
  private unpersisted: QuorumState | null = null;
  private role: Role;
  private nowMs: number;
  /** Offset below which the log is known fsynced; -1 right after a snapshot install. */
  private durableEnd: bigint;
  private highWatermark: bigint;
  /** Offset up to which committed entries were handed out in a ready. */
  private committedHandedOut: bigint;
  /** A leader of an epoch known to have resigned: not to be followed again in that epoch. */
  private resigned: { epoch: number; leaderId: NodeId } | null = null;
  private outbox: Outbound<RaftMessage>[] = [];
  private snapshotInstalled: SnapshotId | null = null;
  private leaderReported: LeaderAndEpoch = { leaderId: null, epoch: -1 };
  private orphanedFetches: ParkedFetch[] = [];

  constructor(
    private readonly config: RaftConfig,
    private readonly log: RaftLog,
    persisted: QuorumState,
    nowMs: number,
    private readonly random: () => number,
  ) {
    assert(new Set(config.voters).size === config.voters.length && config.voters.length > 0, "voters are distinct and not empty");
    this.self = config.nodeId;
    this.voterHistory = new VoterHistory(staticVoters(config.voters), log);
    this.quorum = persisted;
    this.nowMs = nowMs;
    this.durableEnd = log.endOffset;
    this.highWatermark = log.startOffset;
    this.committedHandedOut = log.startOffset;
    this.role = { name: "unattached", electionAtMs: nowMs + this.electionTimeout() };
    this.restoreRole(persisted);
  }

  // ── Queries ────────────────────────────────────────────────────────────────────────────────

  get epoch(): number {
    return this.quorum.epoch;
  }

  get roleName(): RoleName {
    return this.role.name;
  }

  get leaderId(): NodeId | null {
    if (this.role.name === "leader") return this.self;
    return this.role.name === "follower" ? this.role.leaderId : null;
  }

  /** The voter ids in effect (the latest voters entry in the log, else the snapshot's, else the static set). */
  get voterIds(): NodeId[] {
    return this.voterHistory.currentIds;
  }

  /** The voter set in effect with the endpoints its voters entry recorded (port -1: a static voter). */
  get voters(): readonly Voter[] {
    return this.voterHistory.current;
  }

  private get isVoter(): boolean {
    return this.voterHistory.includes(this.self);
  }

  get committedOffset(): bigint {
    return this.highWatermark;
  }

  get durableEndOffset(): bigint {
    return this.durableEnd;
  }

  get quorumState(): QuorumState {
    return this.quorum;
  }

  /** DescribeQuorum: answered by the leader only (null elsewhere: NOT_LEADER_OR_FOLLOWER). */
  describeQuorum(): QuorumDescription | null {
    if (this.role.name !== "leader") return null;
    return this.role.state.describe(this.highWatermark, this.durableEnd, this.nowMs);
  }

  // ── Inputs ─────────────────────────────────────────────────────────────────────────────────

  tick(nowMs: number): void {
    assert(nowMs >= this.nowMs, () => `time went back from ${this.nowMs} to ${nowMs}`);
    this.nowMs = nowMs;
    const role = this.role;
    switch (role.name) {
      case "unattached": return this.tickUnattached(role);
      case "prospective":
      case "candidate": return this.tickElection(role);
      case "leader": return this.tickLeader(role.state);
      case "follower": return this.tickFollower(role);
      case "resigned": return this.tickResigned(role);
      default: unreachable(role);
    }
  }

  step(from: NodeId, message: RaftMessage): void {
    switch (message.kind) {
      case "VoteRequest": return this.onVoteRequest(from, message);
      case "VoteResponse": return this.onVoteResponse(from, message);
      case "BeginQuorumEpochRequest": return this.onBeginQuorumEpochRequest(from, message);
      case "BeginQuorumEpochResponse": return this.onBeginQuorumEpochResponse(from, message);
      case "EndQuorumEpochRequest": return this.onEndQuorumEpochRequest(from, message);
      case "EndQuorumEpochResponse": return this.onEndQuorumEpochResponse(from, message);
      case "FetchRequest": return this.onFetchRequest(from, message);
      case "FetchResponse": return this.onFetchResponse(from, message);
      case "FetchSnapshotRequest": return this.onFetchSnapshotRequest(from, message);
      case "FetchSnapshotResponse": return this.onFetchSnapshotResponse(from, message);
      default: unreachable(message);
    }
  }

  /** Append values as data entries of the current epoch (leader only). */
  propose(values: readonly Uint8Array[]): ProposeResult {
    if (this.role.name !== "leader") {
      return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, leaderId: this.leaderId, epoch: this.quorum.epoch };
    }
    assert(values.length > 0, "propose at least one value");
    const firstOffset = this.log.endOffset;
    const entries: RaftEntry[] = values.map((value, index) => ({ kind: "data", offset: firstOffset + BigInt(index), epoch: this.quorum.epoch, value }));
    this.appendToLog(entries);
    this.answerParkedFetches(this.role.state);
    return { ok: true, firstOffset, lastOffset: this.log.endOffset - 1n, epoch: this.quorum.epoch };
  }

  /**
   * AddRaftVoter (KIP-853): append a voters entry that adds `voter`, an observer already caught up
   * with this leader. One change at a time: refused (REQUEST_TIMED_OUT, Kafka's answer, retriable)
   * while this epoch has committed nothing yet or the previous voters entry is not committed.
   */
  addVoter(voter: Voter): VoterChangeResult {
    const refused = this.voterChangeRefusal();
    if (refused !== null) return refused;
    const state = (this.role as Role & { name: "leader" }).state;
    if (this.voterHistory.includes(voter.id)) return { ok: false, errorCode: ErrorCode.DUPLICATE_VOTER, message: `node ${voter.id} is already a voter` };
    const progress = state.observers.get(voter.id);
    const timeoutMs = this.config.timeouts.fetchTimeoutMs;
    const caughtUp = progress !== undefined && this.nowMs - progress.lastFetchMs < timeoutMs && progress.lastCaughtUpMs >= 0 && this.nowMs - progress.lastCaughtUpMs < timeoutMs;
    if (!caughtUp) {
      return { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: `node ${voter.id} is not an observer caught up with the leader (start it with controller.quorum.bootstrap.servers and wait)` };
    }
    return this.appendVoters([...this.voterHistory.current, voter].sort((left, right) => left.id - right.id));
  }

  /**
   * RemoveRaftVoter (KIP-853): append a voters entry without `id`. A leader that removes itself
   * keeps leading (not counting itself) until the entry commits, then resigns.
   */
  removeVoter(id: NodeId): VoterChangeResult {
    const refused = this.voterChangeRefusal();
    if (refused !== null) return refused;
    if (!this.voterHistory.includes(id)) return { ok: false, errorCode: ErrorCode.VOTER_NOT_FOUND, message: `node ${id} is not a voter` };
    const remaining = this.voterHistory.current.filter((voter) => voter.id !== id);
    if (remaining.length === 0) return { ok: false, errorCode: ErrorCode.INVALID_REQUEST, message: "the last voter cannot be removed" };
    return this.appendVoters(remaining);
  }

  private voterChangeRefusal(): VoterChangeResult | null {
    const role = this.role;
    if (role.name !== "leader") return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, message: "not the quorum leader" };
    if (this.highWatermark <= role.state.epochStartOffset) return { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: "the leader has not committed an entry of its epoch yet" };
    if (this.voterHistory.latestOffset >= this.highWatermark && !this.config.bugs?.concurrentVoterChanges) return { ok: false, errorCode: ErrorCode.REQUEST_TIMED_OUT, message: "a voter change is still in progress" };
    return null;
  }

  private appendVoters(voters: readonly Voter[]): VoterChangeResult {
    const state = (this.role as Role & { name: "leader" }).state;
    const offset = this.log.endOffset;
    this.appendToLog([{ kind: "voters", offset, epoch: this.quorum.epoch, voters }]);
    state.updateVoters(this.voterIds, this.nowMs);
    this.answerParkedFetches(state);
    this.advanceLeaderHighWatermark(state);
    return { ok: true, offset };
  }

  /** Every append goes through here: the voter set follows the voters entries appended. */
  private appendToLog(entries: readonly RaftEntry[]): void {
    this.log.append(entries);
    this.voterHistory.appended(entries);
  }

  /**
   * The log through `position` is fsynced. A position the log no longer has (truncated or replaced
   * since the flush began) is stale and ignored: by log matching, the same offset and epoch mean
   * the same entries, so an accepted position really describes what is on disk.
   */
  markDurable(position: LogPosition): void {
    if (position.offset < this.log.startOffset || position.offset > this.log.endOffset) return;
    if (this.log.epochBefore(position.offset) !== position.epoch) return;
    if (position.offset <= this.durableEnd) return;
    this.durableEnd = position.offset;
    if (this.role.name === "leader") this.advanceLeaderHighWatermark(this.role.state);
    else this.maybeSendFetch();
  }

  /**
   * The state machine wrote snapshot `id` (now the log's latest) from what it applied: drop the
   * entries it covers. Lagging followers will be sent the snapshot instead.
   */
  installedSnapshot(id: SnapshotId): void {
    assert(id.endOffset <= this.committedHandedOut, () => `snapshot at ${id.endOffset} beyond applied ${this.committedHandedOut}`);
    assert(id.endOffset > this.log.startOffset, "a snapshot moves the log start forward");
    assert(this.log.epochBefore(id.endOffset) === id.epoch, "a snapshot's epoch is its last entry's");
    this.log.deleteBefore(id);
    this.voterHistory.compacted(this.log.startOffset);
    // The entries now only in the snapshot are durable in it.
    if (this.durableEnd >= 0n && this.durableEnd < this.log.startOffset) this.durableEnd = this.log.startOffset;
  }

  /** The connection to the leader closed: don't wait for the fetch timeout to look for a new one. */
  leaderUnreachable(): void {
    if (this.role.name === "follower") this.abandonLeader();
  }

  /** Graceful resignation (controlled shutdown): hand leadership over before stopping. */
  resign(): void {
    if (this.role.name === "leader") this.becomeResigned(this.role.state.preferredSuccessors());
  }

  /** Take what the driver must do now (see the header). Empties the core's outputs. */
  ready(): RaftReady {
    for (const fetch of this.orphanedFetches.splice(0)) this.sendFetchError(fetch.from, fetch.request, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const ready: RaftReady = {
      quorumState: this.unpersisted,
      messages: this.outbox,
      flushNeeded: this.durableEnd < this.log.endOffset,
      snapshotInstalled: this.snapshotInstalled,
      committed: this.takeCommitted(),
      highWatermark: this.highWatermark,
      leaderChange: this.takeLeaderChange(),
      nextWakeMs: this.nextWakeMs(),
    };
    this.unpersisted = null;
    this.outbox = [];
    this.snapshotInstalled = null;
    return ready;
  }

  // ── Restart and role transitions ──────────────────────────────────────────────────────────

  /** A restarted node never resumes leading: a former leader resigns its epoch at once. */
  private restoreRole(persisted: QuorumState): void {
    if (persisted.leaderId === this.self) {
      // A leader removed from the voters before it stopped restarts as an observer.
      if (this.isVoter) this.becomeResigned([]);
    } else if (persisted.leaderId !== null) {
      this.becomeFollower(persisted.epoch, persisted.leaderId, false);
    }
  }

  private setQuorum(next: QuorumState): void {
    const current = this.quorum;
    assert(next.epoch >= current.epoch, () => `epoch went back from ${current.epoch} to ${next.epoch}`);
    if (next.epoch === current.epoch) {
      assert(current.votedId === null || next.votedId === current.votedId, () => `second vote in epoch ${next.epoch}`);
      assert(current.leaderId === null || next.leaderId === current.leaderId, () => `second leader in epoch ${next.epoch}`);
    }
    if (next.epoch === current.epoch && next.votedId === current.votedId && next.leaderId === current.leaderId) return;
    this.quorum = next;
    this.unpersisted = next;
  }

  private becomeUnattached(epoch: number, electionAtMs: number): void {
    this.leaveLeadership();
    if (epoch > this.quorum.epoch) this.setQuorum({ epoch, votedId: null, leaderId: null });
    this.role = { name: "unattached", electionAtMs };
  }

  private becomeProspective(): void {
    assert(this.isVoter, "observers never stand for election");
    if (this.config.bugs?.skipPreVote) return this.becomeCandidate();
    this.leaveLeadership();
    const election = this.newElection("prospective");
    this.role = election;
    this.sendVoteRequests(true);
    if (election.granted.size >= majorityOf(this.voterIds.length)) this.becomeCandidate();
  }

  private becomeCandidate(): void {
    this.leaveLeadership();
    this.setQuorum({ epoch: this.quorum.epoch + 1, votedId: this.self, leaderId: null });
    const election = this.newElection("candidate");
    this.role = election;
    this.sendVoteRequests(false);
    if (election.granted.size >= majorityOf(this.voterIds.length)) this.becomeLeader(election.granted);
  }

  private newElection(name: "prospective" | "candidate"): Role & { name: "prospective" | "candidate" } {
    return { name, granted: new Set([this.self]), answered: new Set([this.self]), electionAtMs: this.nowMs + this.electionTimeout(), retryAtMs: this.nowMs + this.config.timeouts.retryBackoffMs };
  }

  /** Won the election: announce the epoch with a LeaderChange entry that must commit first. */
  private becomeLeader(granted: ReadonlySet<NodeId>): void {
    this.setQuorum({ ...this.quorum, leaderId: this.self });
    const epochStart = this.log.endOffset;
    const voters = this.voterIds;
    const state = new LeaderState(this.self, this.quorum.epoch, epochStart, voters, [...granted], this.nowMs);
    this.role = { name: "leader", state };
    this.appendToLog([{ kind: "leaderChange", offset: epochStart, epoch: this.quorum.epoch, leaderId: this.self, voters, grantingVoters: [...granted] }]);
    this.sendBeginQuorumEpochs(state);
    this.advanceLeaderHighWatermark(state);
  }

  /**
   * Follow `leaderId`. The fetch timeout counts from now either way, but only a message from the
   * leader itself (`fromLeader`) counts as hearing from it: a node that merely learned the leader's
   * name from a third node must still grant pre-votes, or hearsay could keep a dead leader alive.
   */
  private becomeFollower(epoch: number, leaderId: NodeId, fromLeader: boolean): void {
    assert(leaderId !== this.self && leaderId !== NO_NODE, () => `follow ${leaderId}`);
    this.leaveLeadership();
    if (epoch > this.quorum.epoch) this.setQuorum({ epoch, votedId: null, leaderId });
    else this.setQuorum({ ...this.quorum, leaderId });
    const heardFromLeaderMs = fromLeader ? this.nowMs : Number.NEGATIVE_INFINITY;
    this.role = { name: "follower", leaderId, lastContactMs: this.nowMs, heardFromLeaderMs, fetchSentAtMs: null, snapshot: null };
    this.maybeSendFetch();
  }

  private becomeResigned(preferred: NodeId[]): void {
    this.leaveLeadership();
    this.resigned = { epoch: this.quorum.epoch, leaderId: this.self };
    const others = otherVoters(this.voterIds, this.self);
    this.role = { name: "resigned", electionAtMs: this.nowMs + this.electionTimeout(), unacknowledged: new Set(others), retryAtMs: this.nowMs, preferred };
    this.sendEndQuorumEpochs(this.role);
  }

  /**
   * Leaving the leader role: the parked fetches are answered when the ready is taken, with the
   * new epoch and leader (or the resignation) so their senders learn at once.
   */
  private leaveLeadership(): void {
    if (this.role.name !== "leader") return;
    this.orphanedFetches.push(...this.role.state.parked.values());
    this.role = { name: "unattached", electionAtMs: this.nowMs + this.electionTimeout() };
  }

  /** A follower lost its leader (timeout or closed connection). */
  private abandonLeader(): void {
    if (this.isVoter) this.becomeProspective();
    else this.becomeUnattached(this.quorum.epoch, this.nowMs);
  }

  /**
   * Any response, and any request but a pre-vote, naming a newer epoch moves this node to it; a
   * response naming the leader of the current epoch lets an unattached node, a prospective one
   * (its pre-vote was refused because that leader is alive) or a losing candidate follow it.
   * Returns true when the node changed role (the message then needs no further handling).
   */
  private learnFromResponse(from: NodeId, leaderEpoch: number, leaderId: NodeId): boolean {
    if (leaderEpoch > this.quorum.epoch) {
      if (leaderId !== NO_NODE && leaderId !== this.self) this.becomeFollower(leaderEpoch, leaderId, from === leaderId);
      else this.becomeUnattached(leaderEpoch, this.nowMs + this.electionTimeout());
      return true;
    }
    const waiting = this.role.name === "unattached" || this.role.name === "prospective" || this.role.name === "candidate";
    if (leaderEpoch === this.quorum.epoch && waiting && leaderId !== NO_NODE && leaderId !== this.self && !this.isResigned(leaderEpoch, leaderId)) {
      this.becomeFollower(leaderEpoch, leaderId, from === leaderId);
      return true;
    }
    return false;
  }

  private isResigned(epoch: number, leaderId: NodeId): boolean {
    return this.resigned !== null && this.resigned.epoch === epoch && this.resigned.leaderId === leaderId;
  }

  /** The leader this node would name to others (-1 when none, or when it resigned). */
  private advertisedLeader(): NodeId {
    const leader = this.quorum.leaderId;
    if (leader === null || this.isResigned(this.quorum.epoch, leader)) return NO_NODE;
    return leader;
  }

  // ── Timers ─────────────────────────────────────────────────────────────────────────────────

  private tickUnattached(role: Role & { name: "unattached" }): void {
    if (this.nowMs < role.electionAtMs) return;
    if (this.isVoter) return this.becomeProspective();
    // An observer looks for the leader by asking a random voter (who answers with a hint).
    role.electionAtMs = this.nowMs + this.config.timeouts.retryBackoffMs;
    const voters = otherVoters(this.voterIds, this.self);
    if (voters.length === 0) return;
    this.send(voters[Math.floor(this.random() * voters.length)]!, this.fetchRequest());
  }

  private tickElection(role: Role & { name: "prospective" | "candidate" }): void {
    if (this.nowMs >= role.electionAtMs) {
      // KIP-996: a lost election goes back to pre-voting after a random backoff.
      if (role.name === "prospective") return this.becomeProspective();
      return this.becomeUnattached(this.quorum.epoch, this.nowMs + randomDelay(this.random, 0, this.config.timeouts.electionBackoffMaxMs));
    }
    if (this.nowMs >= role.retryAtMs) {
      role.retryAtMs = this.nowMs + this.config.timeouts.retryBackoffMs;
      this.sendVoteRequests(role.name === "prospective");
    }
  }

  private tickLeader(state: LeaderState): void {
    for (const fetch of [...state.parked.values()]) {
      if (this.nowMs >= fetch.deadlineMs) this.answerFetch(state, fetch.from, fetch.request);
    }
    if (!state.hasQuorumContact(this.nowMs, this.config.timeouts.fetchTimeoutMs)) {
      return this.becomeResigned(state.preferredSuccessors());
    }
    if (state.beginUnacknowledged.size > 0 && this.nowMs >= state.beginRetryAtMs) this.sendBeginQuorumEpochs(state);
  }

  private tickFollower(role: Role & { name: "follower" }): void {
    if (this.nowMs - role.lastContactMs >= this.config.timeouts.fetchTimeoutMs) return this.abandonLeader();
    if (role.fetchSentAtMs !== null && this.nowMs - role.fetchSentAtMs >= this.config.timeouts.requestTimeoutMs) {
      role.fetchSentAtMs = null; // lost: ask again
      this.maybeSendFetch();
    }
  }

  private tickResigned(role: Role & { name: "resigned" }): void {
    if (this.nowMs >= role.electionAtMs) return this.isVoter ? this.becomeProspective() : this.becomeUnattached(this.quorum.epoch, this.nowMs);
    if (role.unacknowledged.size > 0 && this.nowMs >= role.retryAtMs) this.sendEndQuorumEpochs(role);
  }

  private nextWakeMs(): number {
    const role = this.role;
    const timeouts = this.config.timeouts;
    switch (role.name) {
      case "unattached": return role.electionAtMs;
      case "prospective":
      case "candidate": return Math.min(role.electionAtMs, role.answered.size < this.voterIds.length ? role.retryAtMs : Infinity);
      case "leader": {
        const state = role.state;
        let wake = state.quorumDeadlineMs(timeouts.fetchTimeoutMs);
        if (state.beginUnacknowledged.size > 0) wake = Math.min(wake, state.beginRetryAtMs);
        for (const fetch of state.parked.values()) wake = Math.min(wake, fetch.deadlineMs);
        return wake;
      }
      case "follower": return Math.min(role.lastContactMs + timeouts.fetchTimeoutMs, role.fetchSentAtMs === null ? Infinity : role.fetchSentAtMs + timeouts.requestTimeoutMs);
      case "resigned": return Math.min(role.electionAtMs, role.unacknowledged.size > 0 ? role.retryAtMs : Infinity);
      default: return unreachable(role);
    }
  }

  private electionTimeout(): number {
    const timeout = this.config.timeouts.electionTimeoutMs;
    return randomDelay(this.random, timeout, timeout);
  }

  // ── Votes ──────────────────────────────────────────────────────────────────────────────────

  private sendVoteRequests(preVote: boolean): void {
    const role = this.role;
    assert(role.name === "prospective" || role.name === "candidate", "votes are asked by prospective or candidate nodes");
    const candidateEpoch = preVote ? this.quorum.epoch + 1 : this.quorum.epoch;
    const lastOffsetEpoch = this.log.epochBefore(this.log.endOffset);
    for (const voter of otherVoters(this.voterIds, this.self)) {
      if (role.answered.has(voter)) continue;
      this.send(voter, { kind: "VoteRequest", clusterId: this.config.clusterId, voterId: voter, candidateId: this.self, candidateEpoch, lastOffsetEpoch, lastOffset: this.log.endOffset, preVote });
    }
  }

  private onVoteRequest(from: NodeId, request: VoteRequest): void {
    // KIP-853: a vote is not refused because the candidate or this node is missing from this
    // node's voter set, which may be older than the candidate's (a voter just added has not
    // fetched the entry that adds it). The candidate counts only the votes of its own set.
    if (request.voterId !== this.self && request.voterId !== NO_NODE) {
      return this.answerVote(from, request, false, ErrorCode.INCONSISTENT_VOTER_SET);
    }
    if (request.preVote) return this.answerVote(from, request, this.grantsPreVote(request), ErrorCode.NONE);
    if (request.candidateEpoch > this.quorum.epoch) this.becomeUnattached(request.candidateEpoch, this.nowMs + this.electionTimeout());
    const granted = request.candidateEpoch === this.quorum.epoch && this.grantsVote(request);
    if (granted) {
      this.setQuorum({ ...this.quorum, votedId: request.candidateId });
      // Having voted, wait a whole election timeout before standing ourselves.
      if (this.role.name === "unattached" || this.role.name === "prospective") this.becomeUnattached(this.quorum.epoch, this.nowMs + this.electionTimeout());
    }
    this.answerVote(from, request, granted, ErrorCode.NONE);
  }

  /** A real vote in the current epoch: none given to another, no leader known, log up to date. */
  private grantsVote(request: VoteRequest): boolean {
    if (this.quorum.leaderId !== null) return false;
    if (this.quorum.votedId !== null) return this.quorum.votedId === request.candidateId;
    return this.logAllowsCandidate(request);
  }

  /**
   * KIP-996: a pre-vote changes nothing here. It is granted when the candidate could win a real
   * vote from us — a newer epoch and an up-to-date log — and we have no live leader, so a node
   * that was cut off and rejoins cannot depose a leader the rest still hear from.
   */
  private grantsPreVote(request: VoteRequest): boolean {
    if (request.candidateEpoch <= this.quorum.epoch) return false;
    if (this.hasLiveLeader()) return false;
    return this.logAllowsCandidate(request);
  }

  private hasLiveLeader(): boolean {
    if (this.role.name === "leader") return true;
    return this.role.name === "follower" && this.nowMs - this.role.heardFromLeaderMs < this.config.timeouts.fetchTimeoutMs;
  }

  private logAllowsCandidate(request: VoteRequest): boolean {
    if (this.config.bugs?.voteWithoutLogCheck) return true;
    return candidateLogIsUpToDate(request.lastOffsetEpoch, request.lastOffset, this.log.epochBefore(this.log.endOffset), this.log.endOffset);
  }

  private answerVote(to: NodeId, request: VoteRequest, voteGranted: boolean, errorCode: number): void {
    this.send(to, { kind: "VoteResponse", errorCode, leaderId: this.advertisedLeader(), leaderEpoch: this.quorum.epoch, voteGranted, candidateEpoch: request.candidateEpoch, preVote: request.preVote });
  }

  private onVoteResponse(from: NodeId, response: VoteResponse): void {
    // A voter that grants has no live leader, whatever name it still holds: only a refusal says
    // the leader it names is alive (KIP-996), so only a refusal sends this node back to follow it.
    if (this.learnFromResponse(from, response.leaderEpoch, response.voteGranted ? NO_NODE : response.leaderId)) return;
    const role = this.role;
    if (role.name !== "prospective" && role.name !== "candidate") return;
    const expectedEpoch = role.name === "prospective" ? this.quorum.epoch + 1 : this.quorum.epoch;
    if (response.preVote !== (role.name === "prospective") || response.candidateEpoch !== expectedEpoch) return; // stale
    role.answered.add(from);
    if (!response.voteGranted || !this.voterHistory.includes(from)) return;
    role.granted.add(from);
    if (role.granted.size < majorityOf(this.voterIds.length)) return;
    if (role.name === "prospective") this.becomeCandidate();
    else this.becomeLeader(role.granted);
  }

  // ── BeginQuorumEpoch / EndQuorumEpoch ────────────────────────────────────────────────────────

  private sendBeginQuorumEpochs(state: LeaderState): void {
    state.beginRetryAtMs = this.nowMs + this.config.timeouts.retryBackoffMs;
    for (const voter of state.beginUnacknowledged) {
      this.send(voter, { kind: "BeginQuorumEpochRequest", clusterId: this.config.clusterId, voterId: voter, leaderId: this.self, leaderEpoch: state.epoch });
    }
  }

  private onBeginQuorumEpochRequest(from: NodeId, request: BeginQuorumEpochRequest): void {
    if (request.leaderEpoch > this.quorum.epoch) {
      this.becomeFollower(request.leaderEpoch, request.leaderId, true);
    } else if (request.leaderEpoch === this.quorum.epoch && !this.isResigned(request.leaderEpoch, request.leaderId)) {
      assert(this.quorum.leaderId === null || this.quorum.leaderId === request.leaderId, () => `two leaders in epoch ${request.leaderEpoch}: ${this.quorum.leaderId} and ${request.leaderId}`);
      if (this.role.name === "follower") this.role.lastContactMs = this.role.heardFromLeaderMs = this.nowMs;
      else this.becomeFollower(request.leaderEpoch, request.leaderId, true);
    }
    const response: BeginQuorumEpochResponse = { kind: "BeginQuorumEpochResponse", errorCode: ErrorCode.NONE, leaderId: this.advertisedLeader(), leaderEpoch: this.quorum.epoch };
    this.send(from, response);
  }

  private onBeginQuorumEpochResponse(from: NodeId, response: BeginQuorumEpochResponse): void {
    if (this.learnFromResponse(from, response.leaderEpoch, response.leaderId)) return;
    if (this.role.name === "leader" && response.leaderEpoch === this.quorum.epoch) this.role.state.beginUnacknowledged.delete(from);
  }

  private sendEndQuorumEpochs(role: Role & { name: "resigned" }): void {
    role.retryAtMs = this.nowMs + this.config.timeouts.retryBackoffMs;
    for (const voter of role.unacknowledged) {
      this.send(voter, { kind: "EndQuorumEpochRequest", clusterId: this.config.clusterId, leaderId: this.self, leaderEpoch: this.quorum.epoch, preferredCandidates: role.preferred });
    }
  }

  /** The leader resigned: its most caught-up successors start their election first. */
  private onEndQuorumEpochRequest(from: NodeId, request: EndQuorumEpochRequest): void {
    const backoff = this.successorBackoffMs(request.preferredCandidates.indexOf(this.self));
    if (request.leaderEpoch > this.quorum.epoch) {
      this.resigned = { epoch: request.leaderEpoch, leaderId: request.leaderId };
      this.becomeUnattached(request.leaderEpoch, this.nowMs + backoff);
    } else if (request.leaderEpoch === this.quorum.epoch && this.quorum.leaderId === request.leaderId && request.leaderId !== this.self) {
      this.resigned = { epoch: request.leaderEpoch, leaderId: request.leaderId };
      if (this.role.name === "follower" || this.role.name === "unattached") this.becomeUnattached(this.quorum.epoch, this.nowMs + backoff);
    }
    const response: EndQuorumEpochResponse = { kind: "EndQuorumEpochResponse", errorCode: ErrorCode.NONE, leaderId: this.advertisedLeader(), leaderEpoch: this.quorum.epoch };
    this.send(from, response);
  }

  private successorBackoffMs(position: number): number {
    const timeouts = this.config.timeouts;
    const jitter = randomDelay(this.random, 0, timeouts.retryBackoffMs);
    if (position < 0) return timeouts.electionBackoffMaxMs + jitter;
    return Math.floor((position * timeouts.electionBackoffMaxMs) / Math.max(1, this.voterIds.length - 1)) + jitter;
  }

  private onEndQuorumEpochResponse(from: NodeId, response: EndQuorumEpochResponse): void {
    if (this.learnFromResponse(from, response.leaderEpoch, response.leaderId)) return;
    if (this.role.name === "resigned" && response.leaderEpoch === this.quorum.epoch) this.role.unacknowledged.delete(from);
  }

  // ── Fetch: the leader's side ─────────────────────────────────────────────────────────────────

  private onFetchRequest(from: NodeId, request: FetchRequest): void {
    const role = this.role;
    if (request.currentLeaderEpoch > this.quorum.epoch) return this.sendFetchError(from, request, ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (role.name !== "leader") return this.sendFetchError(from, request, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (request.currentLeaderEpoch < this.quorum.epoch) return this.sendFetchError(from, request, ErrorCode.FENCED_LEADER_EPOCH);
    const check = checkFetchPosition(this.log, request.fetchOffset, request.lastFetchedEpoch);
    if (check.kind === "snapshot") return this.sendFetchPointer(from, request, null, this.log.latestSnapshot());
    if (check.kind === "diverging") return this.sendFetchPointer(from, request, check.divergingEpoch, null);
    const state = role.state;
    state.recordFetch(from, request.fetchOffset, this.log.endOffset, this.nowMs);
    this.advanceLeaderHighWatermark(state);
    if (this.role.name !== "leader") return this.sendFetchError(from, request, ErrorCode.NOT_LEADER_OR_FOLLOWER); // it removed itself and stepped down
    const progress = state.voters.get(from) ?? state.observers.get(from)!;
    const hasNews = request.fetchOffset < this.log.endOffset || progress.highWatermarkSent < this.highWatermark;
    if (hasNews || request.maxWaitMs <= 0) return this.answerFetch(state, from, request);
    // One parked fetch per replica; an older one (resent after a timeout) still gets its answer.
    const older = state.parked.get(from);
    if (older !== undefined) this.answerFetch(state, from, older.request);
    state.parked.set(from, { from, request, deadlineMs: this.nowMs + Math.min(request.maxWaitMs, this.config.timeouts.fetchMaxWaitMs) });
  }

  /** Answer a valid fetch with the entries from its offset and the current high watermark. */
  private answerFetch(state: LeaderState, from: NodeId, request: FetchRequest): void {
    state.parked.delete(from);
    const progress = state.voters.get(from) ?? state.observers.get(from);
    if (progress !== undefined) progress.highWatermarkSent = this.highWatermark;
    // A parked request may have become stale (a newer one from the same replica replaced it).
    const offset = request.fetchOffset <= this.log.endOffset ? request.fetchOffset : this.log.endOffset;
    const records = this.log.read(offset, this.config.fetchMaxEntries, Math.min(this.config.fetchMaxBytes, request.maxBytes));
    this.send(from, { ...this.fetchResponseBase(request, ErrorCode.NONE), records });
  }

  private answerParkedFetches(state: LeaderState): void {
    for (const fetch of [...state.parked.values()]) this.answerFetch(state, fetch.from, fetch.request);
  }

  private sendFetchPointer(to: NodeId, request: FetchRequest, divergingEpoch: DivergingEpoch | null, snapshotId: SnapshotId | null): void {
    assert(divergingEpoch !== null || snapshotId !== null, "a fetch below the log start needs a snapshot");
    this.send(to, { ...this.fetchResponseBase(request, ErrorCode.NONE), divergingEpoch, snapshotId });
  }

  private sendFetchError(to: NodeId, request: FetchRequest, errorCode: number): void {
    this.send(to, this.fetchResponseBase(request, errorCode));
  }

  private fetchResponseBase(request: FetchRequest, errorCode: number): FetchResponse {
    return {
      kind: "FetchResponse", errorCode, leaderId: this.advertisedLeader(), leaderEpoch: this.quorum.epoch,
      highWatermark: this.highWatermark, logStartOffset: this.log.startOffset, divergingEpoch: null, snapshotId: null,
      records: [], currentLeaderEpoch: request.currentLeaderEpoch, fetchOffset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch,
    };
  }

  /**
   * The commit rule: the high watermark is the offset a majority of voters hold durably, and it
   * moves only once this epoch's LeaderChange entry is below it — counting replicas of an older
   * epoch's entry does not make it safe (Raft's "figure 8").
   */
  private advanceLeaderHighWatermark(state: LeaderState): void {
    const bugs = this.config.bugs;
    const ownEnd = bugs?.countNonDurableLeaderEnd ? this.log.endOffset : this.durableEnd;
    const majorityEnd = state.majorityEnd(ownEnd);
    if (majorityEnd <= state.epochStartOffset && !bugs?.commitOldEpochDirectly) return;
    if (majorityEnd <= this.highWatermark) return;
    if (majorityEnd <= state.epochStartOffset) (globalThis as any).oldEpochCommits = ((globalThis as any).oldEpochCommits ?? 0) + 1;
    if (majorityEnd > this.durableEnd && state.majorityEnd(this.durableEnd) < majorityEnd) (globalThis as any).nonDurableCommits = ((globalThis as any).nonDurableCommits ?? 0) + 1;
    this.highWatermark = majorityEnd;
    this.answerParkedFetches(state);
    // KIP-853: a leader that removed itself leads until that change commits, then steps down.
    if (!this.isVoter && this.highWatermark > this.voterHistory.latestOffset) this.becomeResigned(state.preferredSuccessors());
  }

  // ── Fetch: the follower's side ───────────────────────────────────────────────────────────────

  private fetchRequest(): FetchRequest {
    return {
      kind: "FetchRequest", clusterId: this.config.clusterId, replicaId: this.self, maxWaitMs: this.config.timeouts.fetchMaxWaitMs,
      currentLeaderEpoch: this.quorum.epoch, fetchOffset: this.log.endOffset, lastFetchedEpoch: this.log.epochBefore(this.log.endOffset),
      logStartOffset: this.log.startOffset, maxBytes: this.config.fetchMaxBytes,
    };
  }

  /** Fetch again once the previous answer is handled and everything appended is durable. */
  private maybeSendFetch(): void {
    const role = this.role;
    if (role.name !== "follower" || role.fetchSentAtMs !== null || this.durableEnd !== this.log.endOffset) return;
    role.fetchSentAtMs = this.nowMs;
    if (role.snapshot === null) return this.send(role.leaderId, this.fetchRequest());
    this.send(role.leaderId, {
      kind: "FetchSnapshotRequest", clusterId: this.config.clusterId, replicaId: this.self, currentLeaderEpoch: this.quorum.epoch,
      snapshotId: role.snapshot.id, position: role.snapshot.position, maxBytes: this.config.snapshotChunkBytes,
    });
  }

  private onFetchResponse(from: NodeId, response: FetchResponse): void {
    if (this.learnFromResponse(from, response.leaderEpoch, response.leaderId)) return;
    const role = this.role;
    if (role.name !== "follower" || from !== role.leaderId || response.leaderEpoch !== this.quorum.epoch) return;
    if (response.currentLeaderEpoch !== this.quorum.epoch) return; // asked in an older epoch: says nothing of this one
    if (response.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER && response.leaderId === NO_NODE) {
      this.resigned = { epoch: this.quorum.epoch, leaderId: role.leaderId };
      return this.abandonLeader();
    }
    if (response.errorCode !== ErrorCode.NONE) return; // retried after the request timeout
    const stale = role.fetchSentAtMs === null || role.snapshot !== null || response.fetchOffset !== this.log.endOffset
      || response.lastFetchedEpoch !== this.log.epochBefore(this.log.endOffset);
    if (stale) return;
    role.fetchSentAtMs = null;
    role.lastContactMs = role.heardFromLeaderMs = this.nowMs;
    if (response.divergingEpoch !== null) this.truncateDiverging(response.divergingEpoch);
    else if (response.snapshotId !== null) role.snapshot = { id: response.snapshotId, position: 0n };
    else this.appendFetched(response);
    this.maybeSendFetch();
  }

  /** Cut the log where it diverges from the leader's; never below the high watermark (committed). */
  private truncateDiverging(diverging: DivergingEpoch): void {
    const offset = followerTruncationOffset(this.log, diverging);
    assert(offset >= this.highWatermark, () => `truncation to ${offset} below the high watermark ${this.highWatermark}`);
    assert(offset < this.log.endOffset, () => `divergence at ${offset} is not below the log end ${this.log.endOffset}`);
    this.log.truncateTo(offset);
    this.voterHistory.truncated(offset);
    if (this.durableEnd > offset) this.durableEnd = offset;
  }

  private appendFetched(response: FetchResponse): void {
    if (response.records.length > 0) {
      assert(response.records[0]!.offset === this.log.endOffset, "fetched entries start at the fetch offset");
      this.appendToLog(response.records);
    }
    const highWatermark = response.highWatermark < this.log.endOffset ? response.highWatermark : this.log.endOffset;
    if (highWatermark > this.highWatermark) this.highWatermark = highWatermark;
  }

  // ── FetchSnapshot ────────────────────────────────────────────────────────────────────────────

  private onFetchSnapshotRequest(from: NodeId, request: FetchSnapshotRequest): void {
    const role = this.role;
    const error = (errorCode: number) => this.send(from, {
      kind: "FetchSnapshotResponse", errorCode, leaderId: this.advertisedLeader(), leaderEpoch: this.quorum.epoch,
      snapshotId: request.snapshotId, size: -1n, position: request.position, unalignedRecords: new Uint8Array(0), currentLeaderEpoch: request.currentLeaderEpoch,
    } satisfies FetchSnapshotResponse);
    if (request.currentLeaderEpoch > this.quorum.epoch) return error(ErrorCode.UNKNOWN_LEADER_EPOCH);
    if (role.name !== "leader") return error(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (request.currentLeaderEpoch < this.quorum.epoch) return error(ErrorCode.FENCED_LEADER_EPOCH);
    const size = this.log.snapshotSize(request.snapshotId);
    if (size === null) return error(ErrorCode.SNAPSHOT_NOT_FOUND);
    if (request.position < 0n || request.position >= size) return error(ErrorCode.POSITION_OUT_OF_RANGE);
    role.state.recordContact(from, this.nowMs);
    const bytes = this.log.readSnapshot(request.snapshotId, request.position, Math.min(request.maxBytes, this.config.snapshotChunkBytes));
    this.send(from, {
      kind: "FetchSnapshotResponse", errorCode: ErrorCode.NONE, leaderId: this.self, leaderEpoch: this.quorum.epoch,
      snapshotId: request.snapshotId, size, position: request.position, unalignedRecords: bytes, currentLeaderEpoch: request.currentLeaderEpoch,
    });
  }

  private onFetchSnapshotResponse(from: NodeId, response: FetchSnapshotResponse): void {
    if (this.learnFromResponse(from, response.leaderEpoch, response.leaderId)) return;
    const role = this.role;
    if (role.name !== "follower" || from !== role.leaderId || response.leaderEpoch !== this.quorum.epoch) return;
    if (response.currentLeaderEpoch !== this.quorum.epoch) return;
    const expected = role.snapshot;
    if (role.fetchSentAtMs === null || expected === null || response.position !== expected.position) return; // stale
    if (response.snapshotId.endOffset !== expected.id.endOffset || response.snapshotId.epoch !== expected.id.epoch) return;
    role.fetchSentAtMs = null;
    role.lastContactMs = role.heardFromLeaderMs = this.nowMs;
    if (response.errorCode !== ErrorCode.NONE) {
      role.snapshot = null; // gone (a newer one replaced it): fetch again to learn the new one
      return this.maybeSendFetch();
    }
    assert(response.unalignedRecords.byteLength > 0, "a snapshot chunk carries bytes");
    this.log.writeSnapshotChunk(expected.id, expected.position, response.unalignedRecords);
    expected.position += BigInt(response.unalignedRecords.byteLength);
    if (expected.position >= response.size) this.installFetchedSnapshot(role, expected.id);
    this.maybeSendFetch();
  }

  /** The whole snapshot arrived: it replaces the log; fetching resumes once it is durable. */
  private installFetchedSnapshot(role: Role & { name: "follower" }, id: SnapshotId): void {
    assert(this.highWatermark <= id.endOffset, "a fetched snapshot is ahead of what this node committed");
    this.log.installSnapshot(id);
    this.voterHistory.replaced(this.log);
    role.snapshot = null;
    this.durableEnd = -1n;
    this.highWatermark = id.endOffset;
    this.committedHandedOut = id.endOffset;
    this.snapshotInstalled = id;
  }

  // ── Outputs ──────────────────────────────────────────────────────────────────────────────────

  private send(to: NodeId, message: RaftMessage): void {
    assert(to !== this.self, "a node does not message itself");
    this.outbox.push({ to, message });
  }

  private takeCommitted(): RaftEntry[] {
    const committed: RaftEntry[] = [];
    while (this.committedHandedOut < this.highWatermark) {
      assert(this.committedHandedOut >= this.log.startOffset, "committed entries still to apply were dropped from the log");
      const entries = this.log.read(this.committedHandedOut, Number(this.highWatermark - this.committedHandedOut), Number.MAX_SAFE_INTEGER);
      assert(entries.length > 0, "committed entries are in the log");
      committed.push(...entries);
      this.committedHandedOut += BigInt(entries.length);
    }
    return committed;
  }

  private takeLeaderChange(): LeaderAndEpoch | null {
    const current: LeaderAndEpoch = { leaderId: this.leaderId, epoch: this.quorum.epoch };
    if (current.leaderId === this.leaderReported.leaderId && current.epoch === this.leaderReported.epoch) return null;
    this.leaderReported = current;
    return current;
  }
}
