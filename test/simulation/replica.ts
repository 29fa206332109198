// One partition replica on a simulated broker: the leader and follower roles of docs/replication.md
// §5, built on the pure rules of src/replication/core (high watermark, ISR proposals, acks,
// divergence) the way the real Partition layer will be. Its log is in memory; its disk keeps what
// a flush (fsync mode) or every write (page-cache mode: a killed process keeps the page cache)
// made durable.

import type { PartitionRegistration } from "../../src/cluster/controller/partition-change.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import type { Acks, EpochEndOffset, EpochEntry, FollowerProgress } from "../../src/replication/core/index.ts";
import {
  ackOutcome, assignEpoch, checkBeforeAppend, checkFollowerPosition, followerHighWatermark, followersToAdd, followerTruncationOffset,
  initialProgress, laggingIsrMembers, latestEpoch, leaderHighWatermark, NO_BROKER, progressAfterFetch, truncateEpochsFromEnd,
} from "../../src/replication/core/index.ts";
import type { PartitionEntry } from "./checker.ts";
import type { SimContext } from "./context.ts";

export interface PartitionDisk {
  entries: PartitionEntry[];
  /** replication-offset-checkpoint: the high watermark as last written. */
  highWatermarkCheckpoint: bigint;
}

export type ReplicaWire =
  | { type: "replicaFetch"; partition: number; replicaId: number; leaderEpoch: number; fetchOffset: bigint; lastFetchedEpoch: number }
  | { type: "replicaFetchResponse"; partition: number; errorCode: number; leaderEpoch: number; highWatermark: bigint; diverging: EpochEndOffset | null; records: PartitionEntry[]; fetchOffset: bigint; lastFetchedEpoch: number }
  | { type: "produce"; partition: number; acks: Acks; value: string; requestId: number }
  | { type: "produceResponse"; partition: number; requestId: number; errorCode: number; offset: bigint };

/**
 * An AlterPartition in flight. Its additions count toward the high watermark (the maximal ISR) until
 * a registration newer than `basePartitionEpoch` arrives — not merely until it times out or is
 * refused: a proposal that looked lost may have been committed, and a refusal may only mean the
 * controller already moved on (possibly with the addition in).
 */
interface PendingIsrChange {
  readonly newIsr: readonly number[];
  readonly additions: readonly number[];
  readonly basePartitionEpoch: number;
  readonly sentAtMs: number;
  /** Refused or timed out: may be proposed again, but its additions still count. */
  settled: boolean;
}

interface PendingProduce {
  readonly from: number;
  readonly requestId: number;
  readonly offset: bigint;
  readonly value: string;
  readonly leaderEpoch: number;
  readonly deadlineMs: number;
}

interface LeaderRole {
  readonly kind: "leader";
  readonly epoch: number;
  readonly epochStartOffset: bigint;
  readonly progress: Map<number, FollowerProgress>;
  readonly highWatermarkSent: Map<number, bigint>;
  readonly parked: Map<number, { request: ReplicaWire & { type: "replicaFetch" }; deadlineMs: number }>;
  pendingIsr: PendingIsrChange | null;
  acks: PendingProduce[];
}

interface FollowerRole {
  readonly kind: "follower";
  readonly epoch: number;
  readonly leader: number;
  fetchSentAtMs: number | null;
  retryAtMs: number;
}

export class SimReplica {
  private entries: PartitionEntry[];
  private cache: EpochEntry[] = [];
  private highWatermark: bigint;
  private durableEnd: bigint;
  private registration: PartitionRegistration | null = null;
  private role: LeaderRole | FollowerRole | null = null;
  private flushing = false;
  private flushAgain = false;
  private alive = true;

  constructor(private readonly context: SimContext, private readonly broker: number, readonly partition: number, private readonly disk: PartitionDisk) {
    // Page-cache mode: the process's writes are the page cache's, which a kill -9 does not lose.
    this.entries = context.config.partitionMode === "pageCache" ? disk.entries : disk.entries.slice();
    for (const entry of this.entries) if (entry.epoch > latestEpoch(this.cache)) this.cache = assignEpoch(this.cache, entry.epoch, entry.offset);
    this.durableEnd = this.logEnd;
    this.highWatermark = disk.highWatermarkCheckpoint < this.logEnd ? disk.highWatermarkCheckpoint : this.logEnd;
  }

  get logEnd(): bigint {
    return BigInt(this.entries.length);
  }

  get log(): readonly PartitionEntry[] {
    return this.entries;
  }

  get isLeader(): boolean {
    return this.role?.kind === "leader";
  }

  get roleEpoch(): number {
    return this.role?.epoch ?? -1;
  }

  get currentHighWatermark(): bigint {
    return this.highWatermark;
  }

  /** The process died: every pending callback of this replica becomes a no-op. */
  stop(): void {
    this.alive = false;
  }

  /** Graceful shutdown: everything written reaches the disk, with the high watermark. */
  flushAllForShutdown(): void {
    this.disk.entries = this.entries.slice();
    this.disk.highWatermarkCheckpoint = this.highWatermark;
  }

  // ── Roles from the metadata image ───────────────────────────────────────────────────────────

  onRegistration(registration: PartitionRegistration): void {
    const previous = this.registration;
    this.registration = registration;
    const role = this.role;
    if (registration.leader === this.broker) {
      if (role?.kind === "leader" && role.epoch === registration.leaderEpoch) return this.onIsrChanged(role, registration);
      return this.becomeLeader(registration);
    }
    if (registration.leader !== NO_BROKER && registration.replicas.includes(this.broker)) {
      if (role?.kind === "follower" && role.epoch === registration.leaderEpoch) return;
      return this.becomeFollower(registration);
    }
    if (previous !== null && role !== null) this.resign();
  }

  private becomeLeader(registration: PartitionRegistration): void {
    this.resign();
    this.context.coverage.partitionLeaderChanges++;
    this.cache = assignEpoch(this.cache, registration.leaderEpoch, this.logEnd);
    const progress = new Map<number, FollowerProgress>();
    for (const id of registration.replicas) if (id !== this.broker) progress.set(id, initialProgress(registration.isr.includes(id), this.context.now()));
    this.role = { kind: "leader", epoch: registration.leaderEpoch, epochStartOffset: this.logEnd, progress, highWatermarkSent: new Map(), parked: new Map(), pendingIsr: null, acks: [] };
    this.trace(`p${this.partition} leader epoch ${registration.leaderEpoch} isr [${registration.isr}] leo ${this.logEnd} hw ${this.highWatermark}`);
    this.context.checker.onPartitionLeader(this.partition, this.broker, registration, this.entries);
    this.updateLeaderHighWatermark();
  }

  private becomeFollower(registration: PartitionRegistration): void {
    this.resign();
    this.role = { kind: "follower", epoch: registration.leaderEpoch, leader: registration.leader, fetchSentAtMs: null, retryAtMs: 0 };
    this.trace(`p${this.partition} follows b${registration.leader} epoch ${registration.leaderEpoch} leo ${this.logEnd} hw ${this.highWatermark}`);
    this.maybeFetch();
  }

  /** Leaving the leader role: every waiting acks=all produce learns it was not committed here. */
  private resign(): void {
    const role = this.role;
    this.role = null;
    if (role?.kind !== "leader") return;
    for (const pending of role.acks) this.answerProduce(pending.from, pending.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n);
    for (const [from, parked] of role.parked) this.fetchError(from, parked.request, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  }

  private onIsrChanged(role: LeaderRole, registration: PartitionRegistration): void {
    if (role.pendingIsr !== null && registration.partitionEpoch > role.pendingIsr.basePartitionEpoch) role.pendingIsr = null;
    // Changes the controller made on its own (fencing) only shrink the ISR: no pending state to clear.
    this.updateLeaderHighWatermark();
    this.settleAcks(role);
  }

  // ── Leader: produce, high watermark, acks, ISR ─────────────────────────────────────────────

  onProduce(from: number, request: ReplicaWire & { type: "produce" }): void {
    const role = this.role;
    const registration = this.registration;
    if (role?.kind !== "leader" || registration === null) return this.answerProduce(from, request.requestId, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n);
    const refused = checkBeforeAppend(request.acks, registration.isr.length, this.context.config.minInsyncReplicas);
    if (refused !== ErrorCode.NONE) {
      this.context.coverage.notEnoughReplicas++;
      return this.answerProduce(from, request.requestId, refused, -1n);
    }
    const offset = this.logEnd;
    this.entries.push({ offset, epoch: role.epoch, value: request.value });
    this.afterWrite();
    this.answerParked(role);
    if (request.acks !== -1) {
      this.context.coverage.acksOne++;
      return this.answerProduce(from, request.requestId, ErrorCode.NONE, offset);
    }
    role.acks.push({ from, requestId: request.requestId, offset, value: request.value, leaderEpoch: role.epoch, deadlineMs: this.context.now() + this.context.config.produceTimeoutMs });
    this.settleAcks(role);
  }

  /** The leader's own end as it counts: only what is fsynced in fsync mode (flush.messages=1). */
  private countedLeaderEnd(): bigint {
    return this.context.config.partitionMode === "fsync" ? this.durableEnd : this.logEnd;
  }

  private updateLeaderHighWatermark(): void {
    const role = this.role;
    const registration = this.registration;
    if (role?.kind !== "leader" || registration === null) return;
    const followerEnds = new Map<number, bigint>();
    for (const [id, progress] of role.progress) followerEnds.set(id, progress.logEndOffset);
    const next = leaderHighWatermark({
      leaderId: this.broker, current: this.highWatermark, leaderEndOffset: this.countedLeaderEnd(), isr: registration.isr,
      pendingAdditions: role.pendingIsr?.additions ?? [], followerEnds, bugs: this.context.config.replicationBugs,
    });
    if (next > this.highWatermark) {
      const members = new Map<number, readonly PartitionEntry[]>();
      for (const id of new Set([...registration.isr, ...(role.pendingIsr?.additions ?? [])])) members.set(id, id === this.broker ? this.entries : this.context.partitionLog(id, this.partition));
      const previous = this.highWatermark;
      this.setHighWatermark(next);
      this.context.checker.onLeaderHighWatermark(this.partition, this.broker, previous, next, members);
      this.settleAcks(role);
      this.answerParked(role);
    }
  }

  private setHighWatermark(next: bigint): void {
    this.context.checker.onPartitionHighWatermark(this.partition, this.broker, this.role?.epoch ?? -1, this.highWatermark, next, this.entries);
    this.highWatermark = next;
    if (this.context.config.partitionMode === "pageCache") this.disk.highWatermarkCheckpoint = next;
  }

  private settleAcks(role: LeaderRole): void {
    if (role.acks.length === 0) return;
    const registration = this.registration!;
    const now = { isLeader: this.role === role, leaderEpoch: role.epoch, highWatermark: this.highWatermark, isrSize: registration.isr.length, minInsyncReplicas: this.context.config.minInsyncReplicas };
    role.acks = role.acks.filter((pending) => {
      const outcome = ackOutcome({ requiredOffset: pending.offset + 1n, leaderEpoch: pending.leaderEpoch }, now, this.context.config.replicationBugs);
      if (outcome === "wait") {
        if (this.context.now() < pending.deadlineMs) return true;
        this.answerProduce(pending.from, pending.requestId, ErrorCode.REQUEST_TIMED_OUT, -1n);
        return false;
      }
      if (outcome === ErrorCode.NONE) {
        this.context.checker.onAck(this.partition, pending.offset, pending.value, pending.leaderEpoch);
        this.context.coverage.acksAll++;
      }
      this.answerProduce(pending.from, pending.requestId, outcome, pending.offset);
      return false;
    });
  }

  private answerProduce(to: number, requestId: number, errorCode: number, offset: bigint): void {
    this.context.send(this.broker, to, { type: "produceResponse", partition: this.partition, requestId, errorCode, offset });
  }

  /** Periodic: expire waits, retry fetches, and propose ISR changes to the controller. */
  tick(isEligible: (broker: number) => boolean, sendToController: (message: unknown) => void): void {
    const role = this.role;
    const now = this.context.now();
    if (role?.kind === "follower") {
      if (role.fetchSentAtMs !== null && now - role.fetchSentAtMs >= this.context.config.replicaRequestTimeoutMs) role.fetchSentAtMs = null;
      return this.maybeFetch();
    }
    if (role?.kind !== "leader") return;
    for (const [from, parked] of [...role.parked]) if (now >= parked.deadlineMs) this.answerFetch(role, from, parked.request);
    this.settleAcks(role);
    this.maybeProposeIsrChange(role, isEligible, sendToController);
  }

  private maybeProposeIsrChange(role: LeaderRole, isEligible: (broker: number) => boolean, sendToController: (message: unknown) => void): void {
    const registration = this.registration!;
    const now = this.context.now();
    const config = this.context.config;
    const pending = role.pendingIsr;
    if (pending !== null && !pending.settled && now - pending.sentAtMs < config.alterPartitionRetryMs) return;
    const lagging = laggingIsrMembers(this.broker, registration.isr, role.progress, now, config.replicaLagTimeMaxMs);
    const additions = followersToAdd({
      leaderId: this.broker, replicas: registration.replicas, isr: registration.isr, progress: role.progress, highWatermark: this.highWatermark,
      leaderEpochStartOffset: role.epochStartOffset, isEligible, bugs: config.replicationBugs,
    });
    if (lagging.length === 0 && additions.length === 0) return;
    const newIsr = [...registration.isr.filter((id) => !lagging.includes(id)), ...additions];
    const stillCounted = pending?.additions.filter((id) => !additions.includes(id)) ?? [];
    role.pendingIsr = { newIsr, additions: [...additions, ...stillCounted], basePartitionEpoch: registration.partitionEpoch, sentAtMs: now, settled: false };
    this.trace(`p${this.partition} proposes isr [${newIsr}] (was [${registration.isr}], partition epoch ${registration.partitionEpoch})`);
    sendToController({ type: "alterPartition", partition: this.partition, broker: this.broker, leaderEpoch: role.epoch, partitionEpoch: registration.partitionEpoch, newIsr });
  }

  /** The controller refused an AlterPartition: it may be proposed again (the image tells what is true). */
  onAlterPartitionRefused(): void {
    if (this.role?.kind === "leader" && this.role.pendingIsr !== null) this.role.pendingIsr.settled = true;
  }

  // ── Leader: serving follower fetches ───────────────────────────────────────────────────────

  onReplicaFetch(from: number, request: ReplicaWire & { type: "replicaFetch" }): void {
    const role = this.role;
    if (role?.kind !== "leader") return this.fetchError(from, request, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (request.leaderEpoch !== role.epoch) return this.fetchError(from, request, request.leaderEpoch < role.epoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH);
    const check = checkFollowerPosition(this.cache, this.logEnd, request.fetchOffset, request.lastFetchedEpoch);
    if (check.kind === "diverging") return this.sendFetchResponse(from, request, ErrorCode.NONE, check.divergingEpoch, []);
    const previous = role.progress.get(from) ?? initialProgress(false, this.context.now());
    role.progress.set(from, progressAfterFetch(previous, request.fetchOffset, this.logEnd, this.context.now()));
    this.updateLeaderHighWatermark();
    const news = request.fetchOffset < this.logEnd || (role.highWatermarkSent.get(from) ?? -1n) < this.highWatermark;
    if (news) return this.answerFetch(role, from, request);
    role.parked.set(from, { request, deadlineMs: this.context.now() + this.context.config.replicaFetchMaxWaitMs });
  }

  private answerFetch(role: LeaderRole, from: number, request: ReplicaWire & { type: "replicaFetch" }): void {
    role.parked.delete(from);
    role.highWatermarkSent.set(from, this.highWatermark);
    const start = Number(request.fetchOffset);
    this.sendFetchResponse(from, request, ErrorCode.NONE, null, this.entries.slice(start, start + this.context.config.replicaFetchMaxRecords));
  }

  private answerParked(role: LeaderRole): void {
    for (const [from, parked] of [...role.parked]) this.answerFetch(role, from, parked.request);
  }

  private fetchError(to: number, request: ReplicaWire & { type: "replicaFetch" }, errorCode: number): void {
    this.sendFetchResponse(to, request, errorCode, null, []);
  }

  private sendFetchResponse(to: number, request: ReplicaWire & { type: "replicaFetch" }, errorCode: number, diverging: EpochEndOffset | null, records: PartitionEntry[]): void {
    this.context.send(this.broker, to, {
      type: "replicaFetchResponse", partition: this.partition, errorCode, leaderEpoch: this.role?.epoch ?? this.registration?.leaderEpoch ?? -1,
      highWatermark: this.highWatermark, diverging, records, fetchOffset: request.fetchOffset, lastFetchedEpoch: request.lastFetchedEpoch,
    });
  }

  // ── Follower ───────────────────────────────────────────────────────────────────────────────

  /** The epoch of the last record (what a flush's position is named by). */
  private lastEpoch(): number {
    return this.entries.length === 0 ? -1 : this.entries[this.entries.length - 1]!.epoch;
  }

  /**
   * The epoch a follower fetches with: the latest of its leader-epoch cache, as Kafka does — not
   * its last record's. A replica that took an epoch as leader and wrote nothing in it has that
   * epoch in its cache at its log end; fetching with it makes the new leader answer a divergence,
   * and the truncation drops the empty epoch. Fetching with the last record's epoch would leave it,
   * and the cache would then place older records in it (found by the simulator, seed 15762).
   */
  private lastFetchedEpoch(): number {
    return latestEpoch(this.cache);
  }

  /** Fetch from the leader once the previous answer is handled and (fsync mode) made durable. */
  private maybeFetch(): void {
    const role = this.role;
    if (role?.kind !== "follower" || role.fetchSentAtMs !== null || this.context.now() < role.retryAtMs) return;
    if (this.context.config.partitionMode === "fsync" && this.durableEnd !== this.logEnd) return;
    role.fetchSentAtMs = this.context.now();
    this.context.send(this.broker, role.leader, { type: "replicaFetch", partition: this.partition, replicaId: this.broker, leaderEpoch: role.epoch, fetchOffset: this.logEnd, lastFetchedEpoch: this.lastFetchedEpoch() });
  }

  onReplicaFetchResponse(from: number, response: ReplicaWire & { type: "replicaFetchResponse" }): void {
    const role = this.role;
    if (role?.kind !== "follower" || from !== role.leader || role.fetchSentAtMs === null) return;
    if (response.fetchOffset !== this.logEnd || response.lastFetchedEpoch !== this.lastFetchedEpoch()) return; // stale or duplicated
    role.fetchSentAtMs = null;
    if (response.errorCode !== ErrorCode.NONE || response.leaderEpoch !== role.epoch) {
      role.retryAtMs = this.context.now() + this.context.config.replicaFetchBackoffMs; // the image will bring the new leader
      return;
    }
    if (response.diverging !== null) this.truncate(followerTruncationOffset(this.cache, this.logEnd, response.diverging, this.highWatermark));
    else this.appendFetched(response.records, response.highWatermark);
    this.maybeFetch();
  }

  private truncate(offset: bigint): void {
    this.context.coverage.partitionTruncations++;
    this.context.checker.onPartitionTruncate(this.partition, this.broker, offset, this.highWatermark, this.entries);
    this.trace(`p${this.partition} truncates to ${offset} (leo ${this.logEnd}, hw ${this.highWatermark})`);
    this.entries.length = Number(offset);
    this.cache = truncateEpochsFromEnd(this.cache, offset);
    if (this.durableEnd > offset) this.durableEnd = offset;
  }

  private appendFetched(records: readonly PartitionEntry[], leaderHighWatermark: bigint): void {
    for (const record of records) {
      if (record.offset !== this.logEnd) this.context.checker.fail(`p${this.partition} b${this.broker}: fetched record at ${record.offset}, log end ${this.logEnd}`);
      if (record.epoch > latestEpoch(this.cache)) this.cache = assignEpoch(this.cache, record.epoch, record.offset);
      this.entries.push(record);
    }
    if (records.length > 0) this.afterWrite();
    const next = followerHighWatermark(this.highWatermark, leaderHighWatermark, this.logEnd);
    if (next > this.highWatermark) this.setHighWatermark(next);
  }

  // ── Durability ─────────────────────────────────────────────────────────────────────────────

  private afterWrite(): void {
    if (this.context.config.partitionMode === "pageCache") this.durableEnd = this.logEnd;
    else this.requestFlush();
  }

  /** One flush at a time (group commit); what it covers is named by offset and epoch. */
  private requestFlush(): void {
    if (this.flushing) return void (this.flushAgain = true);
    this.flushing = true;
    const offset = this.logEnd;
    const epoch = this.lastEpoch();
    const copy = this.entries.slice();
    const highWatermark = this.highWatermark;
    this.context.afterDiskDelay(this.broker, () => {
      if (!this.alive) return;
      this.disk.entries = copy;
      this.disk.highWatermarkCheckpoint = highWatermark < offset ? highWatermark : offset;
      this.flushing = false;
      this.markDurable(offset, epoch);
      if (this.flushAgain) {
        this.flushAgain = false;
        this.requestFlush();
      }
    });
  }

  private markDurable(offset: bigint, epoch: number): void {
    if (offset > this.logEnd || offset <= this.durableEnd) return;
    if (offset > 0n && this.entries[Number(offset) - 1]!.epoch !== epoch) return; // the log changed since
    this.durableEnd = offset;
    if (this.role?.kind === "leader") this.updateLeaderHighWatermark();
    else this.maybeFetch();
  }

  private trace(text: string): void {
    this.context.trace.add(this.context.now(), this.broker, text);
  }
}
