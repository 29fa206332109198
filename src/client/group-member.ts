// A member of a classic consumer group (JoinGroup / SyncGroup / Heartbeat / LeaveGroup, protocol
// type "consumer", the range assignor), as Kafka's consumer before KIP-848:
//
//   join:       JoinGroup (again with the member id the broker hands out: MEMBER_ID_REQUIRED, v4+)
//               → the leader computes every member's partitions (rangeAssign) → SyncGroup
//               → this member's partitions;
//   heartbeat:  every heartbeatIntervalMs; REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or
//               UNKNOWN_MEMBER_ID set `rejoinNeeded` (the owner commits, then joins again);
//   leave:      LeaveGroup, so the others rebalance at once instead of after the session timeout.
//
// The member talks to its coordinator on a lane of its own: JoinGroup waits there for the whole
// rebalance, and a broker answers one connection in order (Kafka's broker even reads one request
// at a time), so two members sharing a connection could wait on each other.

import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "../protocol/consumer-protocol.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { HeartbeatApi } from "../protocol/generated/heartbeat.ts";
import { JoinGroupApi, type JoinGroupResponse } from "../protocol/generated/join-group.ts";
import { LeaveGroupApi } from "../protocol/generated/leave-group.ts";
import { SyncGroupApi } from "../protocol/generated/sync-group.ts";
import { assert } from "../util/assert.ts";
import { rangeAssign } from "./assignor.ts";
import type { KafkaClient } from "./client.ts";
import { isRetriable, needsCoordinatorRefresh, responseError } from "./errors.ts";

export interface GroupMemberOptions {
  groupId: string;
  topics: readonly string[];
  /** Kafka's session.timeout.ms (default 45 s). */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin (Kafka's max.poll.interval.ms; default 60 s here). */
  rebalanceTimeoutMs?: number;
  /** Kafka's heartbeat.interval.ms (default 3 s). */
  heartbeatIntervalMs?: number;
  /** Static membership (KIP-345). */
  groupInstanceId?: string | null;
}

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

const protocolName = "range";
const subscriptionVersion = 1;
let lanes = 0;

/** Errors after which the member must join again (and, for some, with a fresh member id). */
function rejoinError(code: number): boolean {
  return code === ErrorCode.REBALANCE_IN_PROGRESS || code === ErrorCode.ILLEGAL_GENERATION
    || code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.FENCED_INSTANCE_ID;
}

export class GroupMember {
  readonly options: Readonly<Required<GroupMemberOptions>>;
  memberId = "";
  generationId = -1;
  /** Set when the group is rebalancing or dropped this member: commit, then join() again. */
  rejoinNeeded = true;
  assignment: TopicPartitions[] = [];
  private readonly lane = `group-${++lanes}`;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeating = false;

  constructor(private readonly client: KafkaClient, options: GroupMemberOptions) {
    this.options = {
      groupId: options.groupId,
      topics: [...options.topics],
      sessionTimeoutMs: options.sessionTimeoutMs ?? 45_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3000,
      groupInstanceId: options.groupInstanceId ?? null,
    };
    assert(this.options.topics.length > 0, "a group member subscribes to at least one topic");
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Joins (or rejoins) the group; resolves with this member's partitions. */
  async join(): Promise<TopicPartitions[]> {
    this.stopHeartbeats();
    const timeoutMs = this.options.rebalanceTimeoutMs + this.client.options.apiTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const joined = await this.client.retry(`JoinGroup ${this.groupId}`, () => this.joinOnce(), { group: this.groupId, timeoutMs });
      const assignment = joined === null ? null : await this.sync(joined);
      if (assignment === null) {
        if (joined !== null) await Bun.sleep(this.client.options.retryBackoffMs); // the group moved on meanwhile
        continue;
      }
      this.assignment = assignment;
      this.rejoinNeeded = false;
      this.startHeartbeats();
      return assignment;
    }
    throw new KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, `${this.groupId}: could not join within ${timeoutMs} ms`);
  }

  /** Sends LeaveGroup (best effort) and stops heartbeating. */
  async leave(reason = "the consumer is closing"): Promise<void> {
    this.stopHeartbeats();
    if (this.memberId === "") return;
    try {
      const connection = await this.client.coordinatorConnection(this.groupId);
      const version = connection.versionFor(LeaveGroupApi);
      const response = await connection.request(LeaveGroupApi, version >= 3
        ? { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: this.options.groupInstanceId, reason }] }
        : { groupId: this.groupId, memberId: this.memberId }, { version });
      if (response.errorCode !== ErrorCode.NONE && response.errorCode !== ErrorCode.UNKNOWN_MEMBER_ID) {
        throw responseError(response.errorCode, `LeaveGroup ${this.groupId}`);
      }
    } finally {
      this.memberId = "";
      this.generationId = -1;
      this.rejoinNeeded = true;
    }
  }

  /** The generation and member id to commit offsets under. */
  get commitIdentity(): { generationId: number; memberId: string; groupInstanceId: string | null } {
    return { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId };
  }

  /** Tells the member that a commit or fetch found the group moved on: join again. */
  noteError(code: number): void {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
    if (rejoinError(code)) this.rejoinNeeded = true;
  }

  stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  // ------------------------------------------------------------------------------ internals

  /** One JoinGroup; null when it must simply be sent again (new member id, rebalance). */
  private async joinOnce(): Promise<JoinGroupResponse | null> {
    const connection = await this.client.coordinatorConnection(this.groupId, this.lane);
    const version = connection.versionFor(JoinGroupApi, 1);
    const response = await connection.request(JoinGroupApi, {
      groupId: this.groupId,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      memberId: this.memberId,
      groupInstanceId: version >= 5 ? this.options.groupInstanceId : undefined,
      protocolType: "consumer",
      protocols: [{ name: protocolName, metadata: encodeSubscription(subscriptionVersion, { topics: [...this.options.topics] }) }],
    }, { version, timeoutMs: this.options.rebalanceTimeoutMs + this.client.options.requestTimeoutMs });
    switch (response.errorCode) {
      case ErrorCode.NONE:
        this.memberId = response.memberId;
        this.generationId = response.generationId;
        return response;
      case ErrorCode.MEMBER_ID_REQUIRED:
        this.memberId = response.memberId;
        return null;
      case ErrorCode.UNKNOWN_MEMBER_ID:
        this.memberId = "";
        return null;
      case ErrorCode.REBALANCE_IN_PROGRESS:
        await Bun.sleep(this.client.options.retryBackoffMs);
        return null;
      default:
        throw responseError(response.errorCode, `JoinGroup ${this.groupId}`);
    }
  }

  /** SyncGroup; the leader brings everyone's assignment. Null when the group must be joined again. */
  private async sync(joined: JoinGroupResponse): Promise<TopicPartitions[] | null> {
    const assignments = joined.leader === this.memberId ? await this.assignAsLeader(joined) : [];
    const response = await this.client.retry(`SyncGroup ${this.groupId}`, async () => {
      const connection = await this.client.coordinatorConnection(this.groupId, this.lane);
      return connection.request(SyncGroupApi, {
        groupId: this.groupId,
        generationId: this.generationId,
        memberId: this.memberId,
        groupInstanceId: this.options.groupInstanceId,
        protocolType: "consumer",
        protocolName: joined.protocolName ?? protocolName,
        assignments,
      }, { timeoutMs: this.options.rebalanceTimeoutMs + this.client.options.requestTimeoutMs });
    }, { group: this.groupId });
    if (rejoinError(response.errorCode)) {
      this.noteError(response.errorCode);
      return null;
    }
    if (response.errorCode !== ErrorCode.NONE) throw responseError(response.errorCode, `SyncGroup ${this.groupId}`);
    if (response.assignment.length === 0) return [];
    return decodeAssignment(response.assignment).value.assignedPartitions
      .map((entry) => ({ topic: entry.topic, partitions: [...entry.partitions].sort((a, b) => a - b) }));
  }

  private async assignAsLeader(joined: JoinGroupResponse): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const members = joined.members.map((member) => ({ memberId: member.memberId, topics: decodeSubscription(member.metadata).value.topics }));
    const topics = [...new Set(members.flatMap((member) => member.topics))];
    const counts = new Map<string, number>();
    for (const topic of topics) {
      try {
        counts.set(topic, (await this.client.topicMetadata(topic, { refresh: true })).partitions.length);
      } catch (error) {
        // A topic that does not exist (yet) gets no partitions, as in Kafka.
        if (!(error instanceof KafkaError) || error.code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw error;
      }
    }
    const plan = rangeAssign(members, counts);
    return [...plan].map(([memberId, partitions]) => ({
      memberId,
      assignment: encodeAssignment(0, { assignedPartitions: partitions, userData: null }),
    }));
  }

  private startHeartbeats(): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeating || this.rejoinNeeded) return;
    this.heartbeating = true;
    try {
      const connection = await this.client.coordinatorConnection(this.groupId, this.lane);
      const response = await connection.request(HeartbeatApi, {
        groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId,
      });
      if (needsCoordinatorRefresh(response.errorCode)) this.client.forgetCoordinator(this.groupId);
      else this.noteError(response.errorCode);
    } catch (error) {
      // A lost connection or a moved coordinator: the next heartbeat looks it up again.
      if (isRetriable(error)) this.client.noteRetriable(error, this.groupId);
    } finally {
      this.heartbeating = false;
    }
  }
}
