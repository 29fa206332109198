// The replica of one partition on this node (docs/replication.md §5), wrapping its PartitionLog.
// Everything a client's request needs from a partition goes through here — the Kafka handlers and
// the HTTP API decode and delegate, and never touch the log to serve a client:
//
//   - the role from the metadata image: leader (serves clients) or follower (replicates from the
//     leader; clients get NOT_LEADER_OR_FOLLOWER), with the leader epoch;
//   - epoch fencing: a client's currentLeaderEpoch older than ours is FENCED_LEADER_EPOCH, newer
//     (it saw metadata we have not applied yet) UNKNOWN_LEADER_EPOCH;
//   - acks: 1 answers after the leader's append; all (-1) needs |ISR| >= min.insync.replicas first
//     and answers once the high watermark passes the records;
//   - the high watermark: the offset below which every in-sync replica has the records, never
//     moving back; consumers read below it (read_committed: below the last stable offset);
//   - long-poll waits on the high watermark.
//
//   logStartOffset ........ highWatermark ........ logEndOffset
//                           ▲ consumers read below   ▲ the leader appends here
//
// The rules are replication/core's pure ones, shared with the simulator: the high watermark is
// leaderHighWatermark (the minimum log end offset over the maximal ISR, never moving back), the
// acks=all checks are checkBeforeAppend / ackOutcome, a follower's fetch is checked with
// checkFollowerPosition and its progress kept with progressAfterFetch. One node: the ISR is this
// broker alone, so the high watermark follows the log end offset in the same turn as the append,
// and acks=all also waits for the fdatasync that covers the records (an ISR of one means "all
// in-sync replicas" is this disk; Runnel has always answered acks=all durably).
//
// Leader role with followers: each replica fetch (fetchForFollower) is checked against the epoch
// cache (divergingEpoch when the follower's log differs), counted as the follower's log end offset
// and caught-up time, then the high watermark is recomputed and parked acks=all produces and
// consumer long polls complete. ISR changes are proposed by the IsrManager through AlterPartition;
// this replica keeps the proposal's state (isr-proposal.ts): additions count toward the high
// watermark until a registration with a newer partition epoch arrives.
// Follower role: the replica fetcher (replication/fetcher/) appends the leader's batches with
// appendAsFollower, truncates on divergingEpoch (never below the high watermark) and sets the
// follower high watermark = min(leader's, own log end). With flush.messages=1 (durability mode b)
// every replica counts only what is on its disk: the leader its durable end, a follower fsyncs
// before its next fetch.

import type { TopicConfig } from "../config/index.ts";
import type { PartitionRegistration } from "../cluster/image.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { AbortedTransaction, ActiveProducer, AppendResult, PartitionLog, ReadResult } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import {
  ackOutcome,
  checkBeforeAppend,
  checkFollowerPosition,
  followerHighWatermark,
  followerTruncationOffset,
  initialProgress,
  laggingIsrMembers,
  followersToAdd,
  leaderHighWatermark,
  progressAfterFetch,
  type Acks,
  type BrokerId,
  type EpochEndOffset,
  type FollowerProgress,
} from "./core/index.ts";
import { IsrProposal } from "./isr-proposal.ts";
import { NotLeaderOrFollowerError } from "./errors.ts";
import { offsetForTimestamp, type TimestampAndOffset } from "./offset-lookup.ts";
import { batchesFrom } from "./batch-slicing.ts";

export type ReplicaRole = "leader" | "follower" | "none";

/** Fetch isolation levels (Kafka's IsolationLevel ids). */
export const READ_UNCOMMITTED = 0;
export const READ_COMMITTED = 1;

/** currentLeaderEpoch meaning "do not check" (older clients). */
export const NO_EPOCH_CHECK = -1;

export interface LeaderAppendOptions {
  /** 0, 1 or -1 (all). */
  requiredAcks: number;
  /** How long acks=all may wait for the in-sync replicas (the request's timeoutMs). */
  timeoutMs: number;
  /** "coordinator": transaction markers and transactional offsets (storage AppendOptions.origin). */
  origin?: "client" | "coordinator";
}

/** A replica's fetch of this partition, as the leader sees it. */
export interface FollowerFetch {
  replicaId: BrokerId;
  fetchOffset: bigint;
  /** The newest epoch of the follower's epoch cache; -1 when it has none. */
  lastFetchedEpoch: number;
  currentLeaderEpoch: number;
  maxBytes: number;
  nowMs: number;
  /** False when the fetch carries a stale broker epoch (KIP-903): served, but not counted. */
  countsProgress: boolean;
}

export type FollowerFetchResult =
  | { kind: "diverging"; divergingEpoch: EpochEndOffset; highWatermark: bigint; logStartOffset: bigint }
  | { kind: "records"; read: ReadResult; highWatermark: bigint; logStartOffset: bigint };

interface HighWatermarkWaiter {
  offset: bigint;
  wake(): void;
}

const noop = () => {};

export class Partition {
  private roleValue: ReplicaRole = "none";
  private registration: PartitionRegistration;
  /** What this leader knows of each follower in its current epoch (follower-progress.ts). */
  private readonly followers = new Map<BrokerId, FollowerProgress>();
  /** The AlterPartition proposal under way, and additions not yet seen in a registration. */
  readonly isrProposal = new IsrProposal();
  private config: TopicConfig;
  private readonly waiters = new Set<HighWatermarkWaiter>();
  private readonly logger: Logger;
  /** Called after a follower's fetch was counted (the ISR manager checks for an expansion). */
  onFollowerFetched: ((replica: Partition) => void) | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly topicId: string,
    /** This node's own readers (group coordinators loading their partitions) read it directly. */
    readonly log: PartitionLog,
    private readonly nodeId: number,
    registration: PartitionRegistration,
    config: TopicConfig,
    logger?: Logger,
  ) {
    this.registration = registration;
    this.config = config;
    this.logger = logger ?? createLogger(`partition ${topic}-${partition}`);
  }

  get role(): ReplicaRole {
    return this.roleValue;
  }

  get isLeader(): boolean {
    return this.roleValue === "leader";
  }

  get leaderId(): number {
    return this.registration.leader;
  }

  get leaderEpoch(): number {
    return this.registration.leaderEpoch;
  }

  get isr(): readonly number[] {
    return this.registration.isr;
  }

  get highWatermark(): bigint {
    return this.log.highWatermark;
  }

  /**
   * Leader side of the replication throttle: `replicaId` (fetching from `fetchOffset`) counts for
   * acks=all and the high watermark — in the ISR, being added to it, or caught up to the high
   * watermark (it joins at its next fetch) — so it is never throttled, as in Kafka
   * (ReplicaManager.shouldLeaderThrottle: not when the replica is in sync). Throttling it would hold
   * every acks=all produce of the partition until the quota refills (up to a second and more).
   */
  isInSyncForThrottle(replicaId: number, fetchOffset: bigint): boolean {
    return this.isr.includes(replicaId) || this.isrProposal.pendingAdditions.includes(replicaId) || fetchOffset >= this.log.highWatermark;
  }

  get lastStableOffset(): bigint {
    return this.log.lastStableOffset;
  }

  /** Transactions aborted with data in [fromOffset, toOffset): what a read_committed consumer skips. */
  abortedTransactions(fromOffset: bigint, toOffset: bigint): readonly AbortedTransaction[] {
    return this.log.abortedTransactions(fromOffset, toOffset);
  }

  /** The producers of this partition's producer state (DescribeProducers). */
  activeProducers(): ActiveProducer[] {
    return this.log.activeProducers();
  }

  get logStartOffset(): bigint {
    return this.log.logStartOffset;
  }

  get logEndOffset(): bigint {
    return this.log.logEndOffset;
  }

  /** Waiters parked on the high watermark (tests: none may be left behind). */
  get waiterCount(): number {
    return this.waiters.size;
  }

  // ----- roles (the reconciler, from the metadata image) ---------------------------------------

  /**
   * Lead with the registration's epoch. A new epoch starts at the log end offset in the
   * leader-epoch cache before any append of it (Kafka's rule), so OffsetForLeaderEpoch can say
   * where the previous epoch ended. Returns true when this node was not leading this epoch before.
   */
  makeLeader(registration: PartitionRegistration, nowMs: number = performance.now()): boolean {
    assert(registration.leader === this.nodeId, `${this.topic}-${this.partition}: leader ${registration.leader} is not this node`);
    assert(registration.leaderEpoch >= this.registration.leaderEpoch, "leader epochs never go back");
    const newEpoch = !this.isLeader || registration.leaderEpoch !== this.registration.leaderEpoch;
    this.registration = registration;
    this.roleValue = "leader";
    if (newEpoch) {
      // A follower's progress counts only within the epoch it was reported in; ISR members get
      // the lag time from now to fetch (initialProgress).
      this.followers.clear();
      for (const id of registration.replicas) if (id !== this.nodeId) this.followers.set(id, initialProgress(registration.isr.includes(id), nowMs));
      this.isrProposal.reset();
      this.log.assignEpochStartOffset(registration.leaderEpoch, this.log.logEndOffset);
      this.logger.debug("leading", { leaderEpoch: registration.leaderEpoch, logEndOffset: String(this.log.logEndOffset) });
    } else {
      for (const id of registration.replicas) if (id !== this.nodeId && !this.followers.has(id)) this.followers.set(id, initialProgress(false, nowMs));
    }
    this.isrProposal.registrationSeen(registration.partitionEpoch);
    this.maybeIncrementHighWatermark();
    // Parked requests re-check: the epoch they were fenced against may have changed.
    this.wakeAll();
    return newEpoch;
  }

  /**
   * Follow `registration.leader` (the replica fetcher does the fetching: replication/fetcher/).
   * The high watermark stays where it was until the leader tells a newer one. Parked requests wake
   * and answer NOT_LEADER_OR_FOLLOWER. Returns true when this node led before.
   */
  makeFollower(registration: PartitionRegistration): boolean {
    assert(registration.leader !== this.nodeId, "a follower is not the leader");
    assert(registration.leaderEpoch >= this.registration.leaderEpoch, "leader epochs never go back");
    const wasLeader = this.isLeader;
    this.registration = registration;
    this.roleValue = "follower";
    this.followers.clear();
    this.isrProposal.reset();
    this.wakeAll();
    return wasLeader;
  }

  /** Stop serving (the partition is being removed or the node is closing); wakes every waiter. */
  stop(): void {
    this.roleValue = "none";
    this.followers.clear();
    this.isrProposal.reset();
    this.wakeAll();
  }

  updateConfig(config: TopicConfig): void {
    this.config = config;
    this.log.updateConfig(config);
  }

  get topicConfig(): Readonly<TopicConfig> {
    return this.config;
  }

  // ----- checks ----------------------------------------------------------------------------

  /** Throws unless this node leads with `currentLeaderEpoch` (-1: any epoch). */
  checkLeader(currentLeaderEpoch: number = NO_EPOCH_CHECK): void {
    if (currentLeaderEpoch !== NO_EPOCH_CHECK) {
      if (currentLeaderEpoch < this.leaderEpoch) {
        throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH, `${this.topic}-${this.partition}: epoch ${currentLeaderEpoch} is older than ${this.leaderEpoch}`);
      }
      if (currentLeaderEpoch > this.leaderEpoch) {
        throw new KafkaError(ErrorCode.UNKNOWN_LEADER_EPOCH, `${this.topic}-${this.partition}: epoch ${currentLeaderEpoch} is newer than ${this.leaderEpoch}`);
      }
    }
    if (!this.isLeader) throw new NotLeaderOrFollowerError(this.topic, this.partition, this.leaderId, this.leaderEpoch);
  }

  // ----- the leader's append ---------------------------------------------------------------

  /**
   * Append a client's (or a coordinator's) batches as the leader and answer per `requiredAcks`.
   * The append itself is issued synchronously, before this returns its promise, so appends keep
   * the order of the requests that make them. Throws KafkaError NOT_LEADER_OR_FOLLOWER,
   * NOT_ENOUGH_REPLICAS (nothing appended), NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT,
   * and the log's own errors.
   */
  appendRecordsToLeader(batches: Uint8Array, options: LeaderAppendOptions): Promise<AppendResult> {
    try {
      this.checkLeader();
      const refused = checkBeforeAppend(options.requiredAcks as Acks, this.isr.length, this.config["min.insync.replicas"]);
      if (refused !== ErrorCode.NONE) throw this.minInsyncError(refused);
    } catch (error) {
      return Promise.reject(error);
    }
    const epoch = this.leaderEpoch;
    const appending = this.log.append(batches, { leaderEpoch: epoch, origin: options.origin });
    // The log applies an append at once when nothing is queued before it: the high watermark
    // follows in the same turn, so a request behind this one already sees the records.
    this.maybeIncrementHighWatermark();
    // One promise hop for acks 0 and 1 (the produce path's common case).
    return appending.then((result) => {
      // Mode (b): the leader counts only its durable end, so the high watermark moves again once
      // the fdatasync covering this append is done.
      if (this.countsDurableEndOnly) result.durable.then(() => this.maybeIncrementHighWatermark(), noop);
      this.maybeIncrementHighWatermark();
      return options.requiredAcks === -1 ? this.acknowledgeAll(result, epoch, options) : result;
    });
  }

  /** acks=all: the high watermark past the batch (and, with an ISR of one, the fdatasync), within timeoutMs. */
  private async acknowledgeAll(result: AppendResult, epoch: number, options: LeaderAppendOptions): Promise<AppendResult> {
    const deadline = performance.now() + Math.max(0, options.timeoutMs);
    const pending = { requiredOffset: result.lastOffset + 1n, leaderEpoch: epoch };
    await this.waitForHighWatermark(pending.requiredOffset, options.timeoutMs);
    // An ISR of this broker alone: "every in-sync replica has it" means "on this disk".
    if (this.isr.length === 1 && this.isr[0] === this.nodeId) await this.beforeDeadline(this.log.flush(), deadline);
    const outcome = ackOutcome(pending, {
      isLeader: this.isLeader,
      leaderEpoch: this.leaderEpoch,
      highWatermark: this.log.highWatermark,
      isrSize: this.isr.length,
      minInsyncReplicas: this.config["min.insync.replicas"],
    });
    assert(outcome !== "wait", "the high watermark passed the batch");
    if (outcome === ErrorCode.NOT_LEADER_OR_FOLLOWER) throw new NotLeaderOrFollowerError(this.topic, this.partition, this.leaderId, this.leaderEpoch);
    if (outcome !== ErrorCode.NONE) throw this.minInsyncError(outcome);
    return result;
  }

  /** `work`, or REQUEST_TIMED_OUT once `deadline` (performance.now) passes first (the work goes on). */
  private beforeDeadline(work: Promise<void>, deadline: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT,
        `${this.topic}-${this.partition}: not on stable storage within the request's timeout`)), Math.max(0, deadline - performance.now()));
    });
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  }

  private minInsyncError(code: number): KafkaError {
    return new KafkaError(code, `${this.topic}-${this.partition}: ${this.isr.length} in-sync replicas, min.insync.replicas is ${this.config["min.insync.replicas"]}`);
  }

  /** flush.messages=1 (durability mode b): replicas count only what is on their disk. */
  private get countsDurableEndOnly(): boolean {
    return this.config["flush.messages"] === 1;
  }

  /** The leader's own log end as counted toward the high watermark (its durable end in mode b). */
  private get countedLeaderEnd(): bigint {
    // An ISR of this node alone keeps the one-node behaviour: acks=all waits for the fdatasync itself.
    const alone = this.isr.length === 1 && this.isrProposal.pendingAdditions.length === 0;
    return this.countsDurableEndOnly && !alone ? this.log.recoveryPoint : this.log.logEndOffset;
  }

  /**
   * The high watermark: the largest offset every member of the maximal ISR (the ISR plus additions
   * proposed and not yet seen in a registration) holds — replication/core's leaderHighWatermark;
   * with an ISR of this node alone, the log end offset. Never moves back.
   */
  private maybeIncrementHighWatermark(): void {
    if (!this.isLeader) return;
    const current = this.log.highWatermark;
    const followerEnds = new Map<BrokerId, bigint>();
    for (const [id, progress] of this.followers) followerEnds.set(id, progress.logEndOffset);
    const candidate = leaderHighWatermark({
      leaderId: this.nodeId,
      current,
      leaderEndOffset: this.countedLeaderEnd,
      isr: this.isr,
      pendingAdditions: this.isrProposal.pendingAdditions,
      followerEnds,
    });
    if (candidate <= current) return;
    const updated = this.log.updateHighWatermark(candidate);
    assert(updated === candidate, "the high watermark stays within the log");
    this.wakeWaiters();
  }

  /** Resolves once the high watermark reaches `offset`; NOT_LEADER_OR_FOLLOWER if leadership goes first. */
  private waitForHighWatermark(offset: bigint, timeoutMs: number): Promise<void> {
    if (this.log.highWatermark >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let cancel = noop;
      let settled = false;
      const settle = (error?: KafkaError) => {
        settled = true;
        clearTimeout(timer);
        cancel();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => settle(new KafkaError(ErrorCode.REQUEST_TIMED_OUT,
        `${this.topic}-${this.partition}: the in-sync replicas did not reach offset ${offset} within ${timeoutMs} ms`)), Math.max(0, timeoutMs));
      const check = () => {
        if (settled) return;
        if (this.log.highWatermark >= offset) settle();
        else if (!this.isLeader) settle(new NotLeaderOrFollowerError(this.topic, this.partition, this.leaderId, this.leaderEpoch));
        else cancel = this.onHighWatermark(offset - 1n, check);
      };
      check();
    });
  }

  // ----- reads ---------------------------------------------------------------------------------

  /**
   * A consumer's read as the leader: whole batches from `offset`, below the high watermark (below
   * the last stable offset for read_committed). Empty between the high watermark and the log end;
   * OFFSET_OUT_OF_RANGE outside [log start, log end]. The caller releases the result.
   */
  readRecords(offset: bigint, maxBytes: number, isolation: number, currentLeaderEpoch = NO_EPOCH_CHECK): ReadResult {
    this.checkLeader(currentLeaderEpoch);
    const bound = isolation === READ_COMMITTED ? this.log.lastStableOffset : this.log.highWatermark;
    return this.log.read(offset, maxBytes, bound);
  }

  // ----- the leader's side of a replica fetch ---------------------------------------------------

  /**
   * A follower's fetch at `fetchOffset` (its log end offset) whose last epoch is `lastFetchedEpoch`
   * (-1: none). Checks leadership and epoch (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
   * NOT_LEADER_OR_FOLLOWER), that `replicaId` is a replica of the partition (else
   * NOT_LEADER_OR_FOLLOWER, as Kafka answers a fetch from an unassigned replica), and the follower's
   * position (KIP-320): a log that differs from this one gets `divergingEpoch` and no records. A
   * valid position counts as the follower's log end offset (when `countsProgress`: its broker
   * epoch is current), moves the high watermark and completes what waits on it. Records are read
   * up to the log end (not the high watermark). The caller releases the read.
   */
  fetchForFollower(request: FollowerFetch): FollowerFetchResult {
    this.checkLeader(request.currentLeaderEpoch);
    if (!this.registration.replicas.includes(request.replicaId) || request.replicaId === this.nodeId) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topic}-${this.partition}: broker ${request.replicaId} is not a follower of it (replicas ${this.registration.replicas.join(",")})`);
    }
    const logEndOffset = this.log.logEndOffset;
    if (request.lastFetchedEpoch >= 0) {
      const position = checkFollowerPosition(this.log.epochEntries(), logEndOffset, request.fetchOffset, request.lastFetchedEpoch);
      if (position.kind === "diverging") {
        return { kind: "diverging", divergingEpoch: position.divergingEpoch, highWatermark: this.log.highWatermark, logStartOffset: this.log.logStartOffset };
      }
    }
    if (request.fetchOffset < this.log.logStartOffset || request.fetchOffset > logEndOffset) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `${this.topic}-${this.partition}: fetch offset ${request.fetchOffset} of replica ${request.replicaId} is outside [${this.log.logStartOffset}, ${logEndOffset}]`);
    }
    if (request.countsProgress) this.recordFollowerFetch(request.replicaId, request.fetchOffset, request.nowMs);
    const read = this.log.read(request.fetchOffset, request.maxBytes);
    return { kind: "records", read, highWatermark: this.log.highWatermark, logStartOffset: this.log.logStartOffset };
  }

  /** Progress of a valid follower fetch: its log end offset and caught-up time, then the high watermark. */
  private recordFollowerFetch(replicaId: BrokerId, fetchOffset: bigint, nowMs: number): void {
    const previous = this.followers.get(replicaId) ?? initialProgress(this.isr.includes(replicaId), nowMs);
    // In mode (b) the follower's fetch offset is its durable end (it fsyncs before fetching); the
    // leader's end it is measured against is the leader's own log end either way.
    this.followers.set(replicaId, progressAfterFetch(previous, fetchOffset, this.log.logEndOffset, nowMs));
    this.maybeIncrementHighWatermark();
    this.onFollowerFetched?.(this);
  }

  /**
   * Calls `wake` once the log end moves past `offset` (a follower's parked fetch: followers read up
   * to the log end, not the high watermark), or at once if it has. Returns a cancel function.
   */
  onLogEnd(offset: bigint, wake: () => void): () => void {
    return this.log.onAppend(offset, wake);
  }

  /** What the leader knows of a follower (tests, diagnostics). */
  followerProgress(replicaId: BrokerId): FollowerProgress | undefined {
    return this.followers.get(replicaId);
  }

  /**
   * The ISR change this leader would propose now, or null: members not caught up for
   * `lagTimeMaxMs` out (never the leader), eligible followers that reached the high watermark in
   * this epoch in (isr.ts). Null while another proposal waits for its registration.
   */
  isrChangeToPropose(nowMs: number, lagTimeMaxMs: number, isEligible: (id: BrokerId) => boolean, retryAfterMs: number): BrokerId[] | null {
    if (!this.isLeader || !this.isrProposal.mayPropose(nowMs, retryAfterMs)) return null;
    const lagging = laggingIsrMembers(this.nodeId, this.isr, this.followers, nowMs, lagTimeMaxMs);
    const joining = followersToAdd({
      leaderId: this.nodeId,
      replicas: this.registration.replicas,
      isr: this.isr,
      progress: this.followers,
      highWatermark: this.log.highWatermark,
      leaderEpochStartOffset: this.leaderEpochStartOffset(),
      isEligible,
    });
    if (lagging.length === 0 && joining.length === 0) return null;
    const next = [...this.isr.filter((id) => !lagging.includes(id)), ...joining];
    assert(next.includes(this.nodeId), "the leader stays in its ISR");
    return next;
  }

  /** The offset the current leader epoch started at (from the epoch cache). */
  private leaderEpochStartOffset(): bigint {
    const entries = this.log.epochEntries();
    const own = entries.find((entry) => entry.epoch === this.leaderEpoch);
    return own?.startOffset ?? this.log.logEndOffset;
  }

  /** The registration this replica acts on (the IsrManager builds AlterPartition from it). */
  get partitionRegistration(): PartitionRegistration {
    return this.registration;
  }

  // ----- the follower role ------------------------------------------------------------------------

  /** Where the replica fetcher fetches from: the log end, with the newest epoch of the cache (§5). */
  followerFetchPosition(): { fetchOffset: bigint; lastFetchedEpoch: number; currentLeaderEpoch: number; logStartOffset: bigint } {
    return { fetchOffset: this.log.logEndOffset, lastFetchedEpoch: this.log.latestEpoch, currentLeaderEpoch: this.leaderEpoch, logStartOffset: this.log.logStartOffset };
  }

  /**
   * Append the leader's batches (offsets and epochs as it wrote them), skipping whole batches below
   * the log end (a read starts at the batch holding the fetch offset), then take the leader's high
   * watermark as far as this log reaches. Returns the bytes appended.
   */
  async appendAsFollower(records: Uint8Array, leaderHighWatermarkValue: bigint): Promise<number> {
    assert(this.roleValue === "follower", `${this.topic}-${this.partition}: appendAsFollower on a ${this.roleValue}`);
    const fresh = batchesFrom(records, this.log.logEndOffset);
    if (fresh.length > 0) await this.log.appendAsFollower(fresh);
    this.updateFollowerHighWatermark(leaderHighWatermarkValue);
    return fresh.length;
  }

  /** Follower high watermark = min(leader's, own log end); never moves back. */
  updateFollowerHighWatermark(leaderHighWatermarkValue: bigint): void {
    const current = this.log.highWatermark;
    const next = followerHighWatermark(current, leaderHighWatermarkValue, this.log.logEndOffset);
    if (next > current) this.log.updateHighWatermark(next);
  }

  /**
   * The leader said this log diverges from its own (`divergingEpoch`): truncate to where they
   * agree — min(leader's end of that epoch, own end of it), the high watermark when the leader
   * knows no epoch that old — never below the high watermark (asserted), unless the topic allows
   * unclean leader election (then committed records may be lost, with a warning). Returns the offset.
   */
  async truncateOnDivergence(diverging: EpochEndOffset): Promise<bigint> {
    assert(this.roleValue === "follower", `${this.topic}-${this.partition}: truncation on a ${this.roleValue}`);
    const highWatermark = this.log.highWatermark;
    const unclean = this.config["unclean.leader.election.enable"];
    const offset = followerTruncationOffset(this.log.epochEntries(), this.log.logEndOffset, diverging, highWatermark, unclean);
    if (offset < highWatermark) {
      this.logger.warn("truncating below the high watermark: an unclean leader election lost committed records", { offset: String(offset), highWatermark: String(highWatermark) });
    }
    if (offset < this.log.logEndOffset) {
      this.logger.info("truncating to the leader's log", { offset: String(offset), logEndOffset: String(this.log.logEndOffset), divergingEpoch: diverging.epoch, leaderEndOffset: String(diverging.endOffset) });
      await this.log.truncateTo(offset);
      // Truncation cuts whole batches; the high watermark is always at a batch boundary.
      assert(unclean || this.log.logEndOffset >= highWatermark, () => `${this.topic}-${this.partition}: truncated to ${this.log.logEndOffset}, below the high watermark ${highWatermark}`);
    }
    return offset;
  }

  /**
   * The leader answered OFFSET_OUT_OF_RANGE. Below its log start (it deleted what this follower
   * lacks): start empty at the leader's log start. Past its log end (it never had what this log
   * holds past the high watermark): truncate to the high watermark, all that is known shared.
   */
  async resetAfterOutOfRange(leaderLogStartOffset: bigint): Promise<void> {
    const fetchOffset = this.log.logEndOffset;
    if (leaderLogStartOffset >= 0n && fetchOffset < leaderLogStartOffset) {
      this.logger.warn("behind the leader's log start: starting empty there", { logEndOffset: String(fetchOffset), leaderLogStartOffset: String(leaderLogStartOffset) });
      await this.log.truncateFullyAndStartAt(leaderLogStartOffset);
      return;
    }
    const highWatermark = this.log.highWatermark;
    if (highWatermark < fetchOffset) {
      this.logger.warn("ahead of the leader's log end: truncating to the high watermark", { logEndOffset: String(fetchOffset), highWatermark: String(highWatermark) });
      await this.log.truncateTo(highWatermark);
    }
  }

  /**
   * Calls `wake` once, when the high watermark moves past `offset`, the role changes or the
   * partition stops — at once if already so. Returns a cancel function (idempotent). One plain
   * callback per partition, no promise: a long poll over 1,000 partitions parks 1,000 of these.
   */
  onHighWatermark(offset: bigint, wake: () => void): () => void {
    if (this.log.highWatermark > offset || !this.isLeader) {
      wake();
      return noop;
    }
    const waiter: HighWatermarkWaiter = {
      offset,
      wake: () => {
        this.waiters.delete(waiter);
        wake();
      },
    };
    this.waiters.add(waiter);
    return () => void this.waiters.delete(waiter);
  }

  /**
   * Calls `wake` once the last stable offset passes `offset` (read_committed long polls), or at once
   * when it has or this replica no longer leads. The LSO only moves with the high watermark (it is
   * the HW or an open transaction's first offset below it), so this re-parks on each HW move that
   * left it where it was — appends inside an open transaction wake nobody.
   */
  onLastStableOffset(offset: bigint, wake: () => void): () => void {
    let cancel = noop;
    let finished = false;
    const check = () => {
      if (finished) return;
      if (this.log.lastStableOffset > offset || !this.isLeader) {
        finished = true;
        wake();
        return;
      }
      cancel = this.onHighWatermark(this.log.highWatermark, check);
    };
    check();
    return () => {
      finished = true;
      cancel();
    };
  }

  private wakeWaiters(): void {
    if (this.waiters.size === 0) return;
    const highWatermark = this.log.highWatermark;
    for (const waiter of [...this.waiters]) if (highWatermark > waiter.offset) waiter.wake();
  }

  private wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter.wake();
  }

  // ----- offsets -------------------------------------------------------------------------------

  /** ListOffsets on the leader; see offset-lookup.ts. */
  fetchOffsetForTimestamp(timestamp: bigint, isolation: number, currentLeaderEpoch = NO_EPOCH_CHECK): TimestampAndOffset {
    this.checkLeader(currentLeaderEpoch);
    const bound = isolation === READ_COMMITTED ? this.log.lastStableOffset : this.log.highWatermark;
    return offsetForTimestamp(this.log, timestamp, bound);
  }

  /** OffsetForLeaderEpoch on the leader: where `leaderEpoch` ended in this log. */
  lastOffsetForLeaderEpoch(currentLeaderEpoch: number, leaderEpoch: number): { epoch: number; endOffset: bigint } {
    this.checkLeader(currentLeaderEpoch);
    return this.log.endOffsetForEpoch(leaderEpoch);
  }

  /**
   * DeleteRecords on the leader: move the log start offset to `offset` (-1: the high watermark).
   * Throws OFFSET_OUT_OF_RANGE past the high watermark, POLICY_VIOLATION on a topic that does not
   * delete (cleanup.policy without "delete"). Returns the new log start offset.
   */
  async deleteRecordsOnLeader(offset: bigint): Promise<bigint> {
    this.checkLeader();
    if (!this.config["cleanup.policy"].includes("delete")) {
      throw new KafkaError(ErrorCode.POLICY_VIOLATION, `Records of partition ${this.topic}-${this.partition} can not be deleted due to the configured policy`);
    }
    const highWatermark = this.log.highWatermark;
    const target = offset === -1n ? highWatermark : offset;
    if (target < 0n || target > highWatermark) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE,
        `cannot delete records of ${this.topic}-${this.partition} before ${offset}: high watermark is ${highWatermark}`);
    }
    if (target <= this.log.logStartOffset) return this.log.logStartOffset;
    return await this.log.deleteRecordsBefore(target);
  }
}
