// The classic group coordinator (Kafka's GroupCoordinator, broker side): membership, rebalances,
// generation fencing, static membership (KIP-345), member ids required on first join (KIP-394).
// Committed offsets live in committed-offsets.ts; this class answers their membership checks and
// delegates the offset calls to it. No sockets and no wire versions: the Kafka handlers translate requests into
// these calls; time comes from an injected Scheduler so tests drive it by hand.
//
// Single writer per group: every state transition happens inside one synchronous call (the event
// loop runs one at a time), so no interleaving `await` can observe half a transition. Log writes
// (offsets, group metadata) go through a per-group promise chain, so they are applied in the order
// they were accepted; their effect on the in-memory state is applied only after the write succeeded.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import { createLogger } from "../util/logger.ts";
import type { ConsumerGroups } from "./consumer-groups.ts";
import { subscribedTopics } from "./consumer-protocol.ts";
import { CommittedOffsets, setCommittedOffset } from "./committed-offsets.ts";
import { EMPTY_BYTES, Group, Member } from "./group.ts";
import type { GroupMetadataSnapshot, GroupRecord, GroupStore, ProducerIdentity } from "./group-store.ts";
import type { Scheduler } from "./scheduler.ts";
import {
  GROUP_STATES,
  type DescribedGroup,
  type GroupState,
  type HeartbeatInput,
  type JoinGroupInput,
  type JoinGroupResult,
  type LeaveGroupResult,
  type LeaveMemberInput,
  type ListedGroup,
  type OffsetCommitInput,
  type OffsetFetchResult,
  type PartitionErrors,
  type PartitionLag,
  type SyncGroupInput,
  type SyncGroupResult,
} from "./types.ts";

const log = createLogger("groups");

export interface GroupCoordinatorConfig {
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMaxSize: number;
  offsetMetadataMaxBytes: number;
  offsetsRetentionMs: number;
  offsetsRetentionCheckIntervalMs: number;
}

/** The coordinator's settings from the broker configuration (Kafka key names). */
export function coordinatorConfigFrom(config: {
  "group.min.session.timeout.ms": number;
  "group.max.session.timeout.ms": number;
  "group.initial.rebalance.delay.ms": number;
  "group.max.size": number;
  "offset.metadata.max.bytes": number;
  "offsets.retention.minutes": number;
  "offsets.retention.check.interval.ms": number;
}): GroupCoordinatorConfig {
  return {
    groupMinSessionTimeoutMs: config["group.min.session.timeout.ms"],
    groupMaxSessionTimeoutMs: config["group.max.session.timeout.ms"],
    groupInitialRebalanceDelayMs: config["group.initial.rebalance.delay.ms"],
    groupMaxSize: config["group.max.size"],
    offsetMetadataMaxBytes: config["offset.metadata.max.bytes"],
    offsetsRetentionMs: config["offsets.retention.minutes"] * 60_000,
    offsetsRetentionCheckIntervalMs: config["offsets.retention.check.interval.ms"],
  };
}

function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: "", memberId, members: [] };
}

function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private expiryTimer: { cancel(): void } | null = null;
  private closed = false;
  /** KIP-848 consumer groups sharing this coordinator's offsets (optional). */
  private consumerGroups: ConsumerGroups | null = null;
  /** Whether this node coordinates a group now (its offsets partition is loaded here). */
  private owns: (groupId: string) => boolean = () => true;
  private readonly offsets: CommittedOffsets;

  constructor(
    private readonly config: GroupCoordinatorConfig,
    private readonly scheduler: Scheduler,
    private readonly store: GroupStore,
  ) {
    assert(config.groupMinSessionTimeoutMs <= config.groupMaxSessionTimeoutMs, "group.min.session.timeout.ms > max");
    const groups = this.groups;
    this.offsets = new CommittedOffsets(config, {
      groups,
      nowMs: () => this.scheduler.nowMs(),
      commitGroupError: (input) => this.commitGroupError(input),
      touchCommitter: (group, memberId) => {
        const member = group.members.get(memberId);
        if (member) this.touchMember(group, member);
      },
      subscribedTopics: (group) => this.subscribedTopics(group),
      owns: (groupId) => this.owns(groupId),
      consumerGroupMemberCount: (groupId) => this.consumerGroups?.memberCount(groupId) ?? 0,
      enqueueWrite: (group, records, transaction) => this.enqueueWrite(group, records, transaction),
    });
  }

  /** Consumer groups (KIP-848) whose offsets this coordinator stores and whose commits it checks. */
  attachConsumerGroups(consumerGroups: ConsumerGroups): void {
    this.consumerGroups = consumerGroups;
  }

  /** True while a classic group with members holds `groupId`. */
  hasMembers(groupId: string): boolean {
    return (this.groups.get(groupId)?.members.size ?? 0) > 0;
  }

  /** Starts the periodic expiry of committed offsets (offsets.retention.minutes). */
  start(): void {
    const tick = () => {
      if (this.closed) return;
      this.expireOffsets();
      this.expiryTimer = this.scheduler.setTimer(this.config.offsetsRetentionCheckIntervalMs, tick);
    };
    this.expiryTimer = this.scheduler.setTimer(this.config.offsetsRetentionCheckIntervalMs, tick);
  }

  /** Stops every timer; pending joins and syncs are answered COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.closed = true;
    this.expiryTimer?.cancel();
    for (const group of this.groups.values()) {
      group.rebalanceTimer?.cancel();
      group.syncTimer?.cancel();
      for (const timer of group.pendingMembers.values()) timer.cancel();
      for (const member of group.members.values()) {
        member.sessionTimer?.cancel();
        this.answerJoin(member, joinError(member.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
        this.answerSync(member, syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
      }
    }
  }

  // ── Loading ───────────────────────────────────────────────────────────────────────────────

  /**
   * Applies records replayed from __consumer_offsets, in log order (the log is the source of
   * truth). Call before serving requests; afterwards `finishLoading` makes restored groups live.
   */
  loadRecord(record: GroupRecord, producerId: bigint | null = null): void {
    const now = this.scheduler.nowMs();
    if (producerId !== null) {
      // A TxnOffsetCommit's record: pending until its transaction's marker is replayed.
      if (record.kind === "offset" && record.value !== null) {
        this.offsets.pending.add(producerId, [{ groupId: record.groupId, topic: record.topic, partition: record.partition, value: record.value }]);
      }
      return;
    }
    if (record.kind === "offset") {
      let group = this.groups.get(record.groupId);
      if (record.value === null) {
        group?.offsets.get(record.topic)?.delete(record.partition);
        return;
      }
      if (!group) {
        group = new Group(record.groupId, now);
        this.groups.set(record.groupId, group);
      }
      setCommittedOffset(group, record.topic, record.partition, record.value);
      return;
    }
    if (record.value === null) {
      this.groups.delete(record.groupId);
      return;
    }
    const group = this.groups.get(record.groupId) ?? new Group(record.groupId, now);
    this.groups.set(record.groupId, group);
    this.restoreSnapshot(group, record.value);
  }

  private restoreSnapshot(group: Group, snapshot: GroupMetadataSnapshot): void {
    group.members.clear();
    group.staticMembers.clear();
    group.protocolType = snapshot.protocolType;
    group.generationId = snapshot.generationId;
    group.protocolName = snapshot.protocolName;
    group.leaderId = snapshot.leader;
    for (const stored of snapshot.members) {
      const member = new Member({
        memberId: stored.memberId,
        groupInstanceId: stored.groupInstanceId,
        clientId: stored.clientId,
        clientHost: stored.clientHost,
        sessionTimeoutMs: stored.sessionTimeoutMs,
        rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
        protocolType: snapshot.protocolType,
        protocols: snapshot.protocolName ? [{ name: snapshot.protocolName, metadata: stored.subscription }] : [],
      });
      member.assignment = stored.assignment;
      group.members.set(member.memberId, member);
      if (member.groupInstanceId) group.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    group.setState(group.members.size > 0 ? "Stable" : "Empty", snapshot.stateTimestampMs);
  }

  /**
   * After loading: restored members get a full session to heartbeat again (Kafka does the same).
   * `groupIds`: the groups just loaded (one offsets partition's); default every group.
   */
  finishLoading(groupIds: Iterable<string> = [...this.groups.keys()]): void {
    for (const groupId of groupIds) {
      const group = this.groups.get(groupId);
      if (!group) continue;
      if (group.members.size === 0 && group.offsetCount() === 0 && group.protocolType === null) {
        this.groups.delete(group.groupId);
        continue;
      }
      for (const member of group.members.values()) this.touchMember(group, member);
    }
  }

  /**
   * This node stopped coordinating the groups `owned` rejects (their offsets partition moved): drop
   * them from memory — the log keeps them for the next coordinator — cancel their timers and answer
   * their parked joins and syncs NOT_COORDINATOR, so the members find the new coordinator.
   */
  unloadGroups(unloaded: (groupId: string) => boolean): number {
    let count = 0;
    this.offsets.pending.unload(unloaded);
    for (const group of [...this.groups.values()]) {
      if (!unloaded(group.groupId)) continue;
      group.rebalanceTimer?.cancel();
      group.syncTimer?.cancel();
      for (const timer of group.pendingMembers.values()) timer.cancel();
      for (const member of group.members.values()) {
        member.sessionTimer?.cancel();
        this.answerJoin(member, joinError(member.memberId, ErrorCode.NOT_COORDINATOR));
        this.answerSync(member, syncError(ErrorCode.NOT_COORDINATOR));
      }
      this.groups.delete(group.groupId);
      count++;
    }
    return count;
  }

  /** Groups whose offsets partition this node coordinates (loaded); the rest wait (expiry skips them). */
  setOwnership(owns: (groupId: string) => boolean): void {
    this.owns = owns;
  }

  // ── JoinGroup ─────────────────────────────────────────────────────────────────────────────

  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    if (this.closed) return Promise.resolve(joinError(input.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (input.groupId === "") return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_GROUP_ID));
    if (
      input.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs ||
      input.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs
    ) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INVALID_SESSION_TIMEOUT));
    }
    const request = { ...input, rebalanceTimeoutMs: input.rebalanceTimeoutMs < 0 ? input.sessionTimeoutMs : input.rebalanceTimeoutMs };
    let group = this.groups.get(input.groupId);
    if (!group && input.memberId !== "") return Promise.resolve(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    if (group?.state === "Dead") return Promise.resolve(joinError(input.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if ((this.consumerGroups?.memberCount(input.groupId) ?? 0) > 0) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    // A refused first join leaves no empty group behind.
    if (!this.acceptsProtocols(group, request)) {
      return Promise.resolve(joinError(input.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    if (!group) {
      group = new Group(input.groupId, this.scheduler.nowMs());
      this.groups.set(input.groupId, group);
    }
    return request.memberId === "" ? this.joinUnknownMember(group, request) : this.joinKnownMember(group, request);
  }

  private acceptsProtocols(group: Group | undefined, input: JoinGroupInput): boolean {
    if (input.protocolType === "" || input.protocols.length === 0) return false;
    if (!group || group.members.size === 0) return true;
    if (group.protocolType !== input.protocolType) return false;
    const names = input.protocols.map((protocol) => protocol.name);
    return group.candidateProtocols().some((name) => names.includes(name));
  }

  private newMemberId(clientId: string): string {
    return `${clientId}-${crypto.randomUUID()}`;
  }

  private joinUnknownMember(group: Group, input: JoinGroupInput): Promise<JoinGroupResult> {
    if (group.members.size >= this.config.groupMaxSize) {
      return Promise.resolve(joinError("", ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    const memberId = this.newMemberId(input.clientId);
    if (input.groupInstanceId !== null) {
      const existing = group.staticMembers.get(input.groupInstanceId);
      if (existing !== undefined) return this.replaceStaticMember(group, existing, memberId, input);
      return this.addMemberAndRebalance(group, memberId, input);
    }
    if (input.requireKnownMemberId) {
      // KIP-394: hand out the id first, so a client that never comes back leaves no member behind.
      const timer = this.scheduler.setTimer(input.sessionTimeoutMs, () => this.expirePendingMember(group, memberId));
      group.pendingMembers.set(memberId, timer);
      return Promise.resolve(joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED));
    }
    return this.addMemberAndRebalance(group, memberId, input);
  }

  private expirePendingMember(group: Group, memberId: string): void {
    if (!group.pendingMembers.delete(memberId)) return;
    if (group.state === "PreparingRebalance") this.maybeCompleteJoin(group);
  }

  private joinKnownMember(group: Group, input: JoinGroupInput): Promise<JoinGroupResult> {
    const pending = group.pendingMembers.get(input.memberId);
    if (pending) {
      pending.cancel();
      group.pendingMembers.delete(input.memberId);
      if (group.members.size >= this.config.groupMaxSize) {
        if (group.state === "PreparingRebalance") this.maybeCompleteJoin(group);
        return Promise.resolve(joinError(input.memberId, ErrorCode.GROUP_MAX_SIZE_REACHED));
      }
      return this.addMemberAndRebalance(group, input.memberId, input);
    }
    const fenced = this.fencedInstance(group, input.memberId, input.groupInstanceId);
    if (fenced) return Promise.resolve(joinError(input.memberId, fenced));
    const member = group.members.get(input.memberId);
    if (!member) return Promise.resolve(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    switch (group.state) {
      case "PreparingRebalance":
        return this.updateMemberAndRebalance(group, member, input);
      case "CompletingRebalance":
        if (member.sameProtocols(input.protocols)) return Promise.resolve(this.currentJoinResult(group, member));
        return this.updateMemberAndRebalance(group, member, input);
      case "Stable":
        if (member.memberId !== group.leaderId && member.sameProtocols(input.protocols)) {
          return Promise.resolve(this.currentJoinResult(group, member));
        }
        return this.updateMemberAndRebalance(group, member, input);
      case "Empty":
      case "Dead":
        return Promise.resolve(joinError(input.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  /** FENCED_INSTANCE_ID when `groupInstanceId` belongs to another member id, else 0. */
  private fencedInstance(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId === null) return 0;
    const registered = group.staticMembers.get(groupInstanceId);
    if (registered !== undefined && registered !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    return 0;
  }

  private currentJoinResult(group: Group, member: Member): JoinGroupResult {
    assert(group.protocolName !== null, "a group past its first rebalance has a protocol");
    const isLeader = member.memberId === group.leaderId;
    return {
      errorCode: 0,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? "",
      memberId: member.memberId,
      members: isLeader ? this.joinMembers(group) : [],
    };
  }

  private joinMembers(group: Group) {
    const protocolName = group.protocolName!;
    return [...group.members.values()].map((member) => ({
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      metadata: member.metadataFor(protocolName),
    }));
  }

  private awaitJoin(member: Member): Promise<JoinGroupResult> {
    // A second JoinGroup from the same member replaces the first, which is told to rejoin.
    this.answerJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    return new Promise((resolve) => {
      member.joinWaiter = resolve;
    });
  }

  private addMemberAndRebalance(group: Group, memberId: string, input: JoinGroupInput): Promise<JoinGroupResult> {
    const member = new Member({ ...input, memberId });
    const joined = this.awaitJoin(member);
    group.members.set(memberId, member);
    if (member.groupInstanceId !== null) group.staticMembers.set(member.groupInstanceId, memberId);
    if (group.leaderId === null) group.leaderId = memberId;
    if (group.members.size === 1) group.protocolType = input.protocolType;
    if (group.initialDelay) group.initialDelay.newMembersAdded = true;
    this.touchMember(group, member);
    this.rebalanceOrCheck(group, "member joined");
    return joined;
  }

  private updateMemberAndRebalance(group: Group, member: Member, input: JoinGroupInput): Promise<JoinGroupResult> {
    member.protocols = input.protocols;
    member.sessionTimeoutMs = input.sessionTimeoutMs;
    member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    const joined = this.awaitJoin(member);
    this.touchMember(group, member);
    this.rebalanceOrCheck(group, "member rejoined");
    return joined;
  }

  private replaceStaticMember(group: Group, oldId: string, newId: string, input: JoinGroupInput): Promise<JoinGroupResult> {
    const old = group.members.get(oldId);
    assert(old, "a static member id points at a member");
    old.sessionTimer?.cancel();
    this.answerJoin(old, joinError(oldId, ErrorCode.FENCED_INSTANCE_ID));
    this.answerSync(old, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const protocolsUnchanged = old.sameProtocols(input.protocols);
    const member = new Member({ ...input, memberId: newId });
    member.assignment = old.assignment;
    group.members.delete(oldId);
    group.members.set(newId, member);
    group.staticMembers.set(input.groupInstanceId!, newId);
    if (group.leaderId === oldId) group.leaderId = newId;
    this.touchMember(group, member);
    if (group.state === "Stable" && protocolsUnchanged) {
      // KIP-345: a restarted static member takes its old place without a rebalance.
      return Promise.resolve({ ...this.currentJoinResult(group, member), members: [] });
    }
    const joined = this.awaitJoin(member);
    this.rebalanceOrCheck(group, "static member replaced");
    return joined;
  }

  private rebalanceOrCheck(group: Group, reason: string): void {
    if (group.state === "PreparingRebalance") this.maybeCompleteJoin(group);
    else this.prepareRebalance(group, reason);
  }

  private prepareRebalance(group: Group, reason: string): void {
    assert(group.state !== "Dead", "a dead group does not rebalance");
    if (group.state === "CompletingRebalance") this.failPendingSyncs(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.syncTimer?.cancel();
    group.syncTimer = null;
    const wasEmpty = group.state === "Empty";
    group.setState("PreparingRebalance", this.scheduler.nowMs());
    log.debug("preparing rebalance", { group: group.groupId, reason, members: group.members.size });
    const rebalanceTimeoutMs = group.rebalanceTimeoutMs();
    if (wasEmpty && this.config.groupInitialRebalanceDelayMs > 0) {
      // Kafka's InitialDelayedJoin: wait a little so that members starting together land in one
      // generation instead of one rebalance each.
      const delay = Math.min(this.config.groupInitialRebalanceDelayMs, rebalanceTimeoutMs);
      group.initialDelay = { remainingMs: Math.max(rebalanceTimeoutMs - delay, 0), newMembersAdded: false };
      this.armRebalanceTimer(group, delay);
      return;
    }
    this.armRebalanceTimer(group, rebalanceTimeoutMs);
    this.maybeCompleteJoin(group);
  }

  private armRebalanceTimer(group: Group, delayMs: number): void {
    group.rebalanceTimer?.cancel();
    const generation = group.generationId;
    group.rebalanceTimer = this.scheduler.setTimer(delayMs, () => {
      if (group.state !== "PreparingRebalance" || group.generationId !== generation) return;
      group.rebalanceTimer = null;
      const initial = group.initialDelay;
      if (initial && initial.newMembersAdded && initial.remainingMs > 0) {
        const delay = Math.min(this.config.groupInitialRebalanceDelayMs, initial.remainingMs);
        group.initialDelay = { remainingMs: Math.max(initial.remainingMs - delay, 0), newMembersAdded: false };
        this.armRebalanceTimer(group, delay);
        return;
      }
      this.completeJoin(group);
    });
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== "PreparingRebalance" || group.initialDelay) return;
    if (group.allMembersJoined()) this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    assert(group.state === "PreparingRebalance", "completeJoin outside PreparingRebalance");
    group.rebalanceTimer?.cancel();
    group.rebalanceTimer = null;
    group.initialDelay = null;
    for (const member of [...group.members.values()]) {
      if (!member.joinWaiter) this.removeMember(group, member);
    }
    const now = this.scheduler.nowMs();
    group.generationId += 1;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.leaderId = null;
      group.setState("Empty", now);
      this.writeGroupMetadata(group).catch(() => {});
      return;
    }
    group.protocolName = group.selectProtocol();
    if (group.leaderId === null || !group.members.has(group.leaderId)) group.leaderId = group.members.keys().next().value!;
    group.setState("CompletingRebalance", now);
    for (const member of group.members.values()) {
      const result = this.currentJoinResult(group, member);
      this.touchMember(group, member);
      this.answerJoin(member, result);
    }
    this.armSyncTimer(group);
  }

  /** A leader that never sends its SyncGroup: drop the members that did not sync, rebalance. */
  private armSyncTimer(group: Group): void {
    const generation = group.generationId;
    group.syncTimer = this.scheduler.setTimer(group.rebalanceTimeoutMs(), () => {
      group.syncTimer = null;
      if (group.state !== "CompletingRebalance" || group.generationId !== generation) return;
      for (const member of [...group.members.values()]) {
        if (!member.syncWaiter) this.removeMember(group, member);
      }
      this.prepareRebalance(group, "sync timeout");
    });
  }

  // ── SyncGroup ─────────────────────────────────────────────────────────────────────────────

  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    const group = this.groups.get(input.groupId);
    if (!group) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (group.state === "Dead") return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const fenced = this.fencedInstance(group, input.memberId, input.groupInstanceId);
    if (fenced) return Promise.resolve(syncError(fenced));
    const member = group.members.get(input.memberId);
    if (!member) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (input.generationId !== group.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (
      (input.protocolType !== null && input.protocolType !== group.protocolType) ||
      (input.protocolName !== null && input.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (group.state) {
      case "Empty":
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case "PreparingRebalance":
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case "Stable":
        this.touchMember(group, member);
        return Promise.resolve(this.syncResult(group, member.assignment));
      case "CompletingRebalance":
        return this.awaitSync(group, member, input);
    }
  }

  private syncResult(group: Group, assignment: Uint8Array): SyncGroupResult {
    return { errorCode: 0, protocolType: group.protocolType, protocolName: group.protocolName, assignment };
  }

  private awaitSync(group: Group, member: Member, input: SyncGroupInput): Promise<SyncGroupResult> {
    this.answerSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    const synced = new Promise<SyncGroupResult>((resolve) => {
      member.syncWaiter = resolve;
    });
    this.touchMember(group, member);
    if (member.memberId !== group.leaderId) return synced;
    const assignments = new Map<string, Uint8Array>();
    for (const entry of input.assignments) {
      if (group.members.has(entry.memberId)) assignments.set(entry.memberId, entry.assignment);
    }
    const generation = group.generationId;
    const snapshot = this.snapshot(group, assignments);
    this.enqueueWrite(group, [{ kind: "group", groupId: group.groupId, value: snapshot }]).then(
      () => {
        if (group.state !== "CompletingRebalance" || group.generationId !== generation) return;
        for (const current of group.members.values()) current.assignment = assignments.get(current.memberId) ?? EMPTY_BYTES;
        group.syncTimer?.cancel();
        group.syncTimer = null;
        group.setState("Stable", this.scheduler.nowMs());
        for (const current of group.members.values()) this.answerSync(current, this.syncResult(group, current.assignment));
      },
      (error: unknown) => {
        log.warn("group metadata write failed", { group: group.groupId, error: String(error) });
        if (group.state !== "CompletingRebalance" || group.generationId !== generation) return;
        this.failPendingSyncs(group, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        this.prepareRebalance(group, "metadata write failed");
      },
    );
    return synced;
  }

  private failPendingSyncs(group: Group, errorCode: number): void {
    for (const member of group.members.values()) this.answerSync(member, syncError(errorCode));
  }

  // ── Heartbeat, LeaveGroup, session expiry ─────────────────────────────────────────────────

  heartbeat(input: HeartbeatInput): number {
    const group = this.groups.get(input.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const fenced = this.fencedInstance(group, input.memberId, input.groupInstanceId);
    if (fenced) return fenced;
    const member = group.members.get(input.memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case "Empty":
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case "PreparingRebalance":
        this.touchMember(group, member);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      case "CompletingRebalance":
      case "Stable":
        this.touchMember(group, member);
        return ErrorCode.NONE;
    }
  }

  leaveGroup(groupId: string, leaving: LeaveMemberInput[]): LeaveGroupResult {
    const group = this.groups.get(groupId);
    if (!group) {
      return { errorCode: 0, members: leaving.map((entry) => ({ ...entry, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    }
    if (group.state === "Dead") return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((entry) => ({ ...entry, errorCode: this.leaveOne(group, entry) }));
    return { errorCode: 0, members };
  }

  private leaveOne(group: Group, entry: LeaveMemberInput): number {
    let memberId = entry.memberId;
    if (entry.groupInstanceId !== null) {
      const registered = group.staticMembers.get(entry.groupInstanceId);
      if (registered === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== "" && memberId !== registered) return ErrorCode.FENCED_INSTANCE_ID;
      memberId = registered;
    }
    const pending = group.pendingMembers.get(memberId);
    if (pending) {
      pending.cancel();
      group.pendingMembers.delete(memberId);
      this.maybeCompleteJoin(group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMemberAndUpdateGroup(group, member, "member left");
    return ErrorCode.NONE;
  }

  /** Restarts the member's session: it is dead if nothing is heard for sessionTimeoutMs. */
  private touchMember(group: Group, member: Member): void {
    member.deadlineMs = this.scheduler.monotonicMs() + member.sessionTimeoutMs;
    if (member.sessionTimer) return;
    this.armSessionTimer(group, member, member.sessionTimeoutMs);
  }

  private armSessionTimer(group: Group, member: Member, delayMs: number): void {
    member.sessionTimer = this.scheduler.setTimer(delayMs, () => {
      member.sessionTimer = null;
      if (group.members.get(member.memberId) !== member) return;
      const remaining = member.deadlineMs - this.scheduler.monotonicMs();
      // Members waiting on a join or sync are kept alive (Kafka's shouldKeepAlive).
      if (remaining > 0 || member.joinWaiter || member.syncWaiter) {
        this.armSessionTimer(group, member, Math.max(remaining, 1));
        return;
      }
      log.debug("member session expired", { group: group.groupId, member: member.memberId });
      this.removeMemberAndUpdateGroup(group, member, "session expired");
    });
  }

  private removeMember(group: Group, member: Member): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = null;
    this.answerJoin(member, joinError(member.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    this.answerSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  private removeMemberAndUpdateGroup(group: Group, member: Member, reason: string): void {
    this.removeMember(group, member);
    switch (group.state) {
      case "Stable":
      case "CompletingRebalance":
        this.prepareRebalance(group, reason);
        break;
      case "PreparingRebalance":
        this.maybeCompleteJoin(group);
        break;
      case "Empty":
      case "Dead":
        break;
    }
  }

  private answerJoin(member: Member, result: JoinGroupResult): void {
    const waiter = member.joinWaiter;
    member.joinWaiter = null;
    waiter?.(result);
  }

  private answerSync(member: Member, result: SyncGroupResult): void {
    const waiter = member.syncWaiter;
    member.syncWaiter = null;
    waiter?.(result);
  }

  // ── Offsets (committed-offsets.ts) ────────────────────────────────────────────────────────

  /** OffsetCommit. Resolves after the records are in __consumer_offsets (then they are visible). */
  commitOffsets(input: OffsetCommitInput): Promise<PartitionErrors> {
    return this.offsets.commit(input);
  }

  /** TxnOffsetCommit: offsets pending until the producer's transaction ends (completeTransaction). */
  commitTransactionalOffsets(input: OffsetCommitInput, producer: ProducerIdentity): Promise<PartitionErrors> {
    return this.offsets.commit(input, producer);
  }

  /** A transaction marker reached (or was replayed on) the offsets partition whose groups `inPartition` accepts. */
  completeTransaction(producerId: bigint, committed: boolean, inPartition: (groupId: string) => boolean = () => true): number {
    return this.offsets.completeTransaction(producerId, committed, inPartition);
  }

  /** OffsetFetch for one group; `topics` null means every committed offset of the group; requireStable: KIP-447. */
  fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null, requireStable = false): OffsetFetchResult {
    return this.offsets.fetch(groupId, topics, requireStable);
  }

  /** OffsetDelete: refuses topics the (non-empty) consumer group is still subscribed to. */
  deleteOffsets(
    groupId: string,
    topics: { name: string; partitions: number[] }[],
  ): Promise<{ errorCode: number; topics: { name: string; partitions: { partition: number; errorCode: number }[] }[] }> {
    return this.offsets.delete(groupId, topics);
  }

  /** Expires committed offsets older than offsets.retention.minutes. */
  expireOffsets(): number {
    return this.offsets.expire();
  }

  private commitGroupError(input: OffsetCommitInput): number {
    if (this.closed) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (input.groupId === "") return ErrorCode.INVALID_GROUP_ID;
    if (this.consumerGroups?.has(input.groupId) && !this.hasMembers(input.groupId)) {
      // A KIP-848 group: the commit carries the member epoch.
      return this.consumerGroups.commitError(input.groupId, input.memberId, input.generationId);
    }
    const group = this.groups.get(input.groupId);
    if (!group) return input.generationId < 0 ? 0 : ErrorCode.ILLEGAL_GENERATION;
    if (group.state === "Dead") return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const fenced = this.fencedInstance(group, input.memberId, input.groupInstanceId);
    if (fenced) return fenced;
    if (input.generationId < 0 && group.state === "Empty") return 0;
    if (group.state === "CompletingRebalance") return ErrorCode.REBALANCE_IN_PROGRESS;
    if (!group.members.has(input.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (input.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return 0;
  }

  private subscribedTopics(group: Group): Set<string> {
    const topics = new Set<string>();
    for (const member of group.members.values()) {
      const metadata = group.protocolName ? member.metadataFor(group.protocolName) : member.protocols[0]?.metadata;
      for (const topic of (metadata && subscribedTopics(metadata)) ?? []) topics.add(topic);
    }
    return topics;
  }

  // ── Admin: describe, list, delete, lag ────────────────────────────────────────────────────

  describeGroup(groupId: string): DescribedGroup {
    const group = this.groups.get(groupId);
    if (groupId === "") return { errorCode: ErrorCode.INVALID_GROUP_ID, groupId, state: "Dead", protocolType: "", protocolName: "", members: [] };
    if (!group) return { errorCode: 0, groupId, state: "Dead", protocolType: "", protocolName: "", members: [] };
    const stable = group.state === "Stable";
    return {
      errorCode: 0,
      groupId,
      state: group.state,
      protocolType: group.protocolType ?? "",
      protocolName: stable ? (group.protocolName ?? "") : "",
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        metadata: stable && group.protocolName ? member.metadataFor(group.protocolName) : EMPTY_BYTES,
        assignment: stable ? member.assignment : EMPTY_BYTES,
      })),
    };
  }

  /** ListGroups; `states` filters case-insensitively (ListGroups v4+), empty means all. */
  listGroups(states: string[] = []): ListedGroup[] {
    const wanted = new Set(states.map((state) => state.toLowerCase()));
    const listed: ListedGroup[] = [];
    for (const group of this.groups.values()) {
      if (group.state === "Dead" || !this.owns(group.groupId) || (group.members.size === 0 && this.consumerGroups?.has(group.groupId))) continue;
      if (wanted.size > 0 && !wanted.has(group.state.toLowerCase())) continue;
      listed.push({ groupId: group.groupId, protocolType: group.protocolType ?? "", state: group.state });
    }
    return listed;
  }

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    return Promise.all(groupIds.map(async (groupId) => ({ groupId, errorCode: await this.deleteGroup(groupId) })));
  }

  private async deleteGroup(groupId: string): Promise<number> {
    if (groupId === "") return ErrorCode.INVALID_GROUP_ID;
    const group = this.groups.get(groupId);
    if (!group || group.state === "Dead") return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group.state !== "Empty") return ErrorCode.NON_EMPTY_GROUP;
    const records: GroupRecord[] = [];
    for (const [topic, partitions] of group.offsets) {
      for (const partition of partitions.keys()) records.push({ kind: "offset", groupId, topic, partition, value: null });
    }
    records.push({ kind: "group", groupId, value: null });
    group.setState("Dead", this.scheduler.nowMs());
    try {
      await this.enqueueWrite(group, records);
    } catch (error) {
      group.setState("Empty", this.scheduler.nowMs());
      return error instanceof KafkaError ? error.code : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (this.groups.get(groupId) === group) this.groups.delete(groupId);
    return 0;
  }

  /** Committed offset, log end and lag for each partition the group committed. */
  groupLag(groupId: string, logEndOffset: (topic: string, partition: number) => bigint | undefined): PartitionLag[] {
    return this.offsets.lag(groupId, logEndOffset);
  }

  state(groupId: string): GroupState | undefined {
    return this.groups.get(groupId)?.state;
  }

  generation(groupId: string): number | undefined {
    return this.groups.get(groupId)?.generationId;
  }

  // ── Persistence ───────────────────────────────────────────────────────────────────────────

  private snapshot(group: Group, assignments: Map<string, Uint8Array>): GroupMetadataSnapshot {
    return {
      protocolType: group.protocolType ?? "",
      generationId: group.generationId,
      protocolName: group.protocolName,
      leader: group.leaderId,
      stateTimestampMs: this.scheduler.nowMs(),
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: group.protocolName ? member.metadataFor(group.protocolName) : EMPTY_BYTES,
        assignment: assignments.get(member.memberId) ?? EMPTY_BYTES,
      })),
    };
  }

  private writeGroupMetadata(group: Group): Promise<void> {
    return this.enqueueWrite(group, [{ kind: "group", groupId: group.groupId, value: this.snapshot(group, new Map()) }]);
  }

  private enqueueWrite(group: Group, records: GroupRecord[], transaction?: ProducerIdentity): Promise<void> {
    const write = group.writeChain.then(() => this.store.write(group.groupId, records, transaction));
    group.writeChain = write.catch(() => {});
    return write;
  }
}

export { GROUP_STATES };
