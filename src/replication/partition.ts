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
// acks=all checks are checkBeforeAppend / ackOutcome. One node: the ISR is this broker alone, so
// the high watermark follows the log end offset in the same turn as the append, and acks=all also
// waits for the fdatasync that covers the records (an ISR of one means "all in-sync replicas" is
// this disk; Runnel has always answered acks=all durably). Followers' log end offsets are not
// tracked yet (`followerEnds` stays empty until the replica fetcher reports them), so with other
// ISR members the high watermark does not move. The follower role is a stub until the replica
// fetcher lands (next step of issue 9): a follower partition holds its log and answers
// NOT_LEADER_OR_FOLLOWER, nothing more.

import type { TopicConfig } from "../config/index.ts";
import type { PartitionRegistration } from "../cluster/image.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { AbortedTransaction, AppendResult, PartitionLog, ReadResult } from "../storage/types.ts";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { ackOutcome, checkBeforeAppend, leaderHighWatermark, type Acks, type BrokerId } from "./core/index.ts";
import { NotLeaderOrFollowerError } from "./errors.ts";
import { offsetForTimestamp, type TimestampAndOffset } from "./offset-lookup.ts";

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

interface HighWatermarkWaiter {
  offset: bigint;
  wake(): void;
}

const noop = () => {};

export class Partition {
  private roleValue: ReplicaRole = "none";
  private registration: PartitionRegistration;
  /**
   * Each follower's log end offset in this leader epoch, as its fetches report it. EMPTY UNTIL THE
   * REPLICA FETCHER EXISTS: an ISR member without an entry counts as -1 (holds nothing known).
   */
  private readonly followerEnds = new Map<BrokerId, bigint>();
  private config: TopicConfig;
  private readonly waiters = new Set<HighWatermarkWaiter>();
  private readonly logger: Logger;

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

  get lastStableOffset(): bigint {
    return this.log.lastStableOffset;
  }

  /** Transactions aborted with data in [fromOffset, toOffset): what a read_committed consumer skips. */
  abortedTransactions(fromOffset: bigint, toOffset: bigint): readonly AbortedTransaction[] {
    return this.log.abortedTransactions(fromOffset, toOffset);
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
  makeLeader(registration: PartitionRegistration): boolean {
    assert(registration.leader === this.nodeId, `${this.topic}-${this.partition}: leader ${registration.leader} is not this node`);
    assert(registration.leaderEpoch >= this.registration.leaderEpoch, "leader epochs never go back");
    const newEpoch = !this.isLeader || registration.leaderEpoch !== this.registration.leaderEpoch;
    this.registration = registration;
    this.roleValue = "leader";
    if (newEpoch) {
      // A follower's progress counts only within the epoch it was reported in.
      this.followerEnds.clear();
      this.log.assignEpochStartOffset(registration.leaderEpoch, this.log.logEndOffset);
      this.logger.debug("leading", { leaderEpoch: registration.leaderEpoch, logEndOffset: String(this.log.logEndOffset) });
    }
    this.maybeIncrementHighWatermark();
    // Parked requests re-check: the epoch they were fenced against may have changed.
    this.wakeAll();
    return newEpoch;
  }

  /**
   * Follow `registration.leader`. FOLLOWER ROLE NOT IMPLEMENTED YET (issue 9, next step): no replica
   * fetcher runs, no truncation to the leader's log happens and the high watermark stays where it
   * was. The partition only stops serving clients (NOT_LEADER_OR_FOLLOWER with the leader's id).
   * Returns true when this node led before.
   */
  makeFollower(registration: PartitionRegistration): boolean {
    assert(registration.leader !== this.nodeId, "a follower is not the leader");
    const wasLeader = this.isLeader;
    this.registration = registration;
    this.roleValue = "follower";
    this.wakeAll();
    return wasLeader;
  }

  /** Stop serving (the partition is being removed or the node is closing); wakes every waiter. */
  stop(): void {
    this.roleValue = "none";
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

  /**
   * The high watermark: the largest offset every member of the maximal ISR holds
   * (replication/core's leaderHighWatermark; with an ISR of this node alone, the log end offset).
   * Never moves back. Pending ISR additions (AlterPartition) come with the fetcher: none yet.
   */
  private maybeIncrementHighWatermark(): void {
    if (!this.isLeader) return;
    const current = this.log.highWatermark;
    const candidate = leaderHighWatermark({
      leaderId: this.nodeId,
      current,
      leaderEndOffset: this.log.logEndOffset,
      isr: this.isr,
      pendingAdditions: [],
      followerEnds: this.followerEnds,
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
