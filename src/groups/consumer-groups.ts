// KIP-848 consumer groups (the "consumer" group protocol, ConsumerGroupHeartbeat): the broker
// assigns partitions itself and hands them out incrementally; no JoinGroup/SyncGroup rounds.
//
//   groupEpoch       bumped by every membership or subscription change
//   assignmentEpoch  the groupEpoch the target assignment was computed for
//   memberEpoch      a member's epoch; it reaches assignmentEpoch once it released what it must
//
// Reconciliation of one member on each heartbeat (Kafka's rules, simplified):
//   1. owned − target non-empty: the member must first revoke; it is answered with owned ∩ target
//      and keeps its epoch until it reports (topicPartitions) that it no longer owns them.
//   2. then it gets target partitions no other member still owns (a partition moves only after its
//      previous owner released it: never two owners), and its epoch becomes the assignment epoch.
// Server-side assignor: round-robin of each subscribed topic's partitions over the members that
// subscribe to it, sorted by member id (both "uniform" and "range" names are accepted).
// Deliberately not done: regex subscriptions, rack-aware assignment, sticky placement, the
// rebalance timeout for a member that never revokes (its session timeout still applies),
// persisting consumer-group membership (members rejoin with epoch 0 after a restart; committed
// offsets are stored like classic ones and do survive), static-member temporary leave (-2 is a leave).

import { ErrorCode } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";
import type { Scheduler, TimerHandle } from "./scheduler.ts";

export interface TopicLookup {
  byName(name: string): { id: string; partitions: number } | undefined;
  byId(id: string): { name: string; partitions: number } | undefined;
}

export interface TopicPartitions {
  topicId: string;
  partitions: number[];
}

export interface ConsumerHeartbeatInput {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  serverAssignor: string | null;
  topicPartitions: TopicPartitions[] | null;
  clientId: string;
  clientHost: string;
}

export interface ConsumerHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: TopicPartitions[] | null;
}

export interface ConsumerGroupsConfig {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  groupMaxSize: number;
}

type Assignment = Map<string, Set<number>>;

class ConsumerMember {
  epoch = 0;
  subscribed: string[] = [];
  assigned: Assignment = new Map();
  /** The assignment last sent to the member, serialized (null: send it on the next heartbeat). */
  lastSent: string | null = null;
  /** What the member last reported owning (ConsumerGroupHeartbeat topicPartitions). */
  reported: Assignment | null = null;
  /** While it must revoke: the part of its assignment it may keep. */
  revoking: Assignment | null = null;
  deadlineMs = 0;
  timer: TimerHandle | null = null;
  constructor(
    readonly memberId: string,
    public instanceId: string | null,
    public rackId: string | null,
    public clientId: string,
    public clientHost: string,
  ) {}
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  target = new Map<string, Assignment>();
  /** Partition counts of the subscribed topics the target was computed with. */
  metadataSignature = "";
  constructor(readonly groupId: string) {}

  get state(): "Empty" | "Assigning" | "Reconciling" | "Stable" {
    if (this.members.size === 0) return "Empty";
    if (this.assignmentEpoch !== this.groupEpoch) return "Assigning";
    for (const member of this.members.values()) if (member.epoch !== this.assignmentEpoch) return "Reconciling";
    return "Stable";
  }
}

function count(assignment: Assignment): number {
  let total = 0;
  for (const partitions of assignment.values()) total += partitions.size;
  return total;
}

function serialize(assignment: Assignment): string {
  return [...assignment.entries()]
    .filter(([, partitions]) => partitions.size > 0)
    .map(([topicId, partitions]) => `${topicId}:${[...partitions].sort((a, b) => a - b).join(",")}`)
    .sort()
    .join(";");
}

function toList(assignment: Assignment): TopicPartitions[] {
  return [...assignment.entries()]
    .filter(([, partitions]) => partitions.size > 0)
    .map(([topicId, partitions]) => ({ topicId, partitions: [...partitions].sort((a, b) => a - b) }));
}

function fromList(list: TopicPartitions[]): Assignment {
  const assignment: Assignment = new Map();
  for (const entry of list) assignment.set(entry.topicId, new Set(entry.partitions));
  return assignment;
}

function has(assignment: Assignment, topicId: string, partition: number): boolean {
  return assignment.get(topicId)?.has(partition) ?? false;
}

export class ConsumerGroups {
  private readonly groups = new Map<string, ConsumerGroup>();

  constructor(
    private readonly config: ConsumerGroupsConfig,
    private readonly scheduler: Scheduler,
    private readonly topics: TopicLookup,
    /** True when a classic group with members holds this id (the protocols cannot mix). */
    private readonly classicGroupActive: (groupId: string) => boolean,
  ) {
    assert(config.heartbeatIntervalMs > 0 && config.sessionTimeoutMs > config.heartbeatIntervalMs, "consumer group timeouts");
  }

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  all(): Iterable<ConsumerGroup> {
    return this.groups.values();
  }

  close(): void {
    for (const group of this.groups.values()) for (const member of group.members.values()) member.timer?.cancel();
  }

  /** Drop the groups this node no longer coordinates (their members rejoin at the new coordinator). */
  unloadGroups(unloaded: (groupId: string) => boolean): void {
    for (const [groupId, group] of [...this.groups]) {
      if (!unloaded(groupId)) continue;
      for (const member of group.members.values()) member.timer?.cancel();
      this.groups.delete(groupId);
    }
  }

  private error(input: ConsumerHeartbeatInput, errorCode: number, errorMessage: string): ConsumerHeartbeatResult {
    return { errorCode, errorMessage, memberId: input.memberId || null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
  }

  heartbeat(input: ConsumerHeartbeatInput): ConsumerHeartbeatResult {
    if (input.groupId === "") return this.error(input, ErrorCode.INVALID_REQUEST, "GroupId can't be empty.");
    if (this.classicGroupActive(input.groupId)) {
      return this.error(input, ErrorCode.GROUP_ID_NOT_FOUND, `Group ${input.groupId} is not a consumer group.`);
    }
    if (input.serverAssignor !== null && input.serverAssignor !== "uniform" && input.serverAssignor !== "range") {
      return this.error(input, ErrorCode.UNSUPPORTED_ASSIGNOR, `Assignor ${input.serverAssignor} is not supported.`);
    }
    let group = this.groups.get(input.groupId);
    if (input.memberEpoch < 0) return this.leave(group, input);
    if (input.memberEpoch === 0) {
      if (input.subscribedTopicNames === null) return this.error(input, ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request.");
      if (!group) {
        group = new ConsumerGroup(input.groupId);
        this.groups.set(input.groupId, group);
      }
      return this.join(group, input);
    }
    const member = group?.members.get(input.memberId);
    if (!group || !member) return this.error(input, ErrorCode.UNKNOWN_MEMBER_ID, `Member ${input.memberId} is not a member of group ${input.groupId}.`);
    if (input.memberEpoch !== member.epoch) {
      return this.error(input, ErrorCode.FENCED_MEMBER_EPOCH, `The member epoch ${input.memberEpoch} does not match the expected epoch ${member.epoch}.`);
    }
    if (input.subscribedTopicNames !== null && input.subscribedTopicNames.join("\u0000") !== member.subscribed.join("\u0000")) {
      member.subscribed = [...input.subscribedTopicNames];
      this.bumpEpoch(group);
    }
    return this.respond(group, member, input.topicPartitions);
  }

  private join(group: ConsumerGroup, input: ConsumerHeartbeatInput): ConsumerHeartbeatResult {
    const memberId = input.memberId !== "" ? input.memberId : crypto.randomUUID();
    let member = group.members.get(memberId);
    if (input.instanceId !== null) {
      // A static member coming back replaces the previous incarnation of its instance id.
      for (const other of group.members.values()) {
        if (other.instanceId === input.instanceId && other.memberId !== memberId) this.removeMember(group, other);
      }
    }
    if (!member) {
      if (group.members.size >= this.config.groupMaxSize) return this.error(input, ErrorCode.GROUP_MAX_SIZE_REACHED, "The group is full.");
      member = new ConsumerMember(memberId, input.instanceId, input.rackId, input.clientId, input.clientHost);
      group.members.set(memberId, member);
    } else {
      // Rejoining (after being fenced): it owns nothing any more.
      member.assigned = new Map();
      member.revoking = null;
    }
    member.epoch = 0;
    member.lastSent = null;
    member.reported = null;
    member.subscribed = [...(input.subscribedTopicNames ?? [])];
    this.bumpEpoch(group);
    return this.respond(group, member, null);
  }

  private leave(group: ConsumerGroup | undefined, input: ConsumerHeartbeatInput): ConsumerHeartbeatResult {
    const member = group?.members.get(input.memberId);
    if (group && member) this.removeMember(group, member);
    return { errorCode: 0, errorMessage: null, memberId: input.memberId, memberEpoch: input.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  private removeMember(group: ConsumerGroup, member: ConsumerMember): void {
    member.timer?.cancel();
    member.timer = null;
    group.members.delete(member.memberId);
    group.target.delete(member.memberId);
    this.bumpEpoch(group);
  }

  private bumpEpoch(group: ConsumerGroup): void {
    group.groupEpoch += 1;
    this.computeTarget(group);
  }

  /** Round-robin of each subscribed topic's partitions over its subscribers, by member id. */
  private computeTarget(group: ConsumerGroup): void {
    const target = new Map<string, Assignment>();
    const subscribers = new Map<string, string[]>();
    for (const member of group.members.values()) {
      target.set(member.memberId, new Map());
      for (const topic of member.subscribed) {
        const list = subscribers.get(topic) ?? [];
        list.push(member.memberId);
        subscribers.set(topic, list);
      }
    }
    const signature: string[] = [];
    for (const [topic, memberIds] of [...subscribers.entries()].sort()) {
      const metadata = this.topics.byName(topic);
      if (!metadata) continue;
      signature.push(`${topic}:${metadata.partitions}`);
      memberIds.sort();
      for (let partition = 0; partition < metadata.partitions; partition++) {
        const owner = target.get(memberIds[partition % memberIds.length]!)!;
        let partitions = owner.get(metadata.id);
        if (!partitions) {
          partitions = new Set();
          owner.set(metadata.id, partitions);
        }
        partitions.add(partition);
      }
    }
    group.target = target;
    group.assignmentEpoch = group.groupEpoch;
    group.metadataSignature = signature.join(";");
  }

  /** A subscribed topic appeared or grew: recompute (Kafka bumps the group epoch too). */
  private refreshMetadata(group: ConsumerGroup): void {
    const signature: string[] = [];
    const topics = new Set<string>();
    for (const member of group.members.values()) for (const topic of member.subscribed) topics.add(topic);
    for (const topic of [...topics].sort()) {
      const metadata = this.topics.byName(topic);
      if (metadata) signature.push(`${topic}:${metadata.partitions}`);
    }
    if (signature.join(";") !== group.metadataSignature) this.bumpEpoch(group);
  }

  private respond(group: ConsumerGroup, member: ConsumerMember, owned: TopicPartitions[] | null): ConsumerHeartbeatResult {
    this.refreshMetadata(group);
    this.touch(group, member);
    // A null topicPartitions means "unchanged since my last report" (Kafka's clients send it only
    // when it changed).
    if (owned !== null) member.reported = fromList(owned);
    const view = this.reconcile(group, member);
    const current = serialize(view);
    // Sent when it changed, or when the member's report disagrees with it (as Kafka: a response
    // the client did not act on is repeated).
    const disagrees = owned !== null && serialize(fromList(owned)) !== current;
    const assignment = member.lastSent === current && !disagrees ? null : toList(view);
    member.lastSent = current;
    return {
      errorCode: 0,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.epoch,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignment,
    };
  }

  /** Moves the member towards its target; returns the assignment it is to hold now. */
  private reconcile(group: ConsumerGroup, member: ConsumerMember): Assignment {
    const target = group.target.get(member.memberId) ?? new Map<string, Set<number>>();
    const kept: Assignment = new Map();
    let mustRevoke = false;
    for (const [topicId, partitions] of member.assigned) {
      const stay = new Set<number>();
      for (const partition of partitions) {
        if (has(target, topicId, partition)) stay.add(partition);
        else mustRevoke = true;
      }
      if (stay.size > 0) kept.set(topicId, stay);
    }
    if (mustRevoke) {
      // Released once the member reports owning nothing outside its target; until then it still
      // owns the revoked partitions (nobody else gets them) and keeps its epoch.
      const reported = member.reported;
      const released = reported !== null && [...reported].every(([topicId, partitions]) => [...partitions].every((partition) => has(target, topicId, partition)));
      if (!released) {
        member.revoking = kept;
        return kept;
      }
      member.assigned = kept;
    }
    member.revoking = null;
    for (const [topicId, partitions] of target) {
      for (const partition of partitions) {
        if (has(member.assigned, topicId, partition) || this.ownedByOther(group, member, topicId, partition)) continue;
        let mine = member.assigned.get(topicId);
        if (!mine) {
          mine = new Set();
          member.assigned.set(topicId, mine);
        }
        mine.add(partition);
      }
    }
    member.epoch = group.assignmentEpoch;
    return member.assigned;
  }

  private ownedByOther(group: ConsumerGroup, member: ConsumerMember, topicId: string, partition: number): boolean {
    for (const other of group.members.values()) {
      if (other !== member && has(other.assigned, topicId, partition)) return true;
    }
    return false;
  }

  private touch(group: ConsumerGroup, member: ConsumerMember): void {
    member.deadlineMs = this.scheduler.monotonicMs() + this.config.sessionTimeoutMs;
    if (member.timer) return;
    const arm = (delayMs: number) => {
      member.timer = this.scheduler.setTimer(delayMs, () => {
        member.timer = null;
        if (group.members.get(member.memberId) !== member) return;
        const remaining = member.deadlineMs - this.scheduler.monotonicMs();
        if (remaining > 0) {
          arm(remaining);
          return;
        }
        this.removeMember(group, member);
      });
    };
    arm(this.config.sessionTimeoutMs);
  }

  /** OffsetCommit/OffsetFetch validation of a consumer group member's epoch; 0 when valid. */
  commitError(groupId: string, memberId: string, memberEpoch: number): number {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (memberEpoch < 0 && memberId === "") return group.members.size === 0 ? 0 : ErrorCode.UNKNOWN_MEMBER_ID;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch > member.epoch) return ErrorCode.FENCED_MEMBER_EPOCH;
    if (memberEpoch < member.epoch) return ErrorCode.STALE_MEMBER_EPOCH;
    return 0;
  }

  /** The assignment the member was last told, for ConsumerGroupDescribe. */
  describeAssignment(member: ConsumerMember): TopicPartitions[] {
    return toList(member.revoking ?? member.assigned);
  }

  targetOf(group: ConsumerGroup, member: ConsumerMember): TopicPartitions[] {
    return toList(group.target.get(member.memberId) ?? new Map());
  }

  memberCount(groupId: string): number {
    return this.groups.get(groupId)?.members.size ?? 0;
  }

  totalAssigned(groupId: string): number {
    let total = 0;
    for (const member of this.groups.get(groupId)?.members.values() ?? []) total += count(member.assigned);
    return total;
  }
}
