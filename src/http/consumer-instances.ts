// HTTP consumer instances (REST Proxy v2's /consumers/{group}/instances/{name}): a group member
// that lives in the broker on behalf of an HTTP client. It joins the group through the same
// coordinator as Kafka's JoinGroup/SyncGroup (via the backend), so it shows in DescribeGroups
// beside Kafka clients' members and rebalances with them.
//
// Membership runs on its own: JoinGroup → SyncGroup → a heartbeat every heartbeatIntervalMs; a
// heartbeat answered REBALANCE_IN_PROGRESS rejoins, UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION starts
// over with a new member id. It offers the "consumer" protocol with the assignors Kafka clients use
// (range, roundrobin, kafkajs' RoundRobinAssigner), so that a group of any of them finds a common
// one; when it is elected leader it computes the assignment itself (range per topic, or round
// robin over all partitions), encoded as Kafka's ConsumerProtocolAssignment v0.
//
// Positions: a newly assigned partition starts at the group's committed offset, else at
// auto.offset.reset (earliest/latest). With auto.commit.enable (Kafka's default), the positions
// delivered by one fetch are committed at the next fetch and before a rebalance or close, as
// Kafka's auto commit does (at least once). An instance unused for
// http.consumer.instance.timeout.ms leaves its group and is removed.

import { decodeAssignment, encodeAssignment, encodeSubscription, decodeSubscription } from "../protocol/consumer-protocol.ts";
import { ErrorCode, errorName, KafkaError } from "../protocol/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { ConsumedRecord, HttpBackend } from "./backend.ts";
import { HttpError, RestErrorCode } from "./errors.ts";
import type { ShowAs } from "./records.ts";

export const assignorNames = ["range", "roundrobin", "RoundRobinAssigner"] as const;

export interface ConsumerInstanceConfig {
  format: ShowAs;
  autoOffsetReset: "earliest" | "latest";
  autoCommit: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Assignment for the chosen protocol: range per topic, else round robin over every partition. */
export function assign(protocol: string, members: { memberId: string; topics: string[] }[], partitionCounts: Map<string, number>): Map<string, TopicPartitionRef[]> {
  const result = new Map<string, TopicPartitionRef[]>(members.map((member) => [member.memberId, []]));
  const sortedMembers = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
  const topics = [...new Set(members.flatMap((member) => member.topics))].filter((topic) => partitionCounts.has(topic)).sort();
  if (protocol === "range") {
    for (const topic of topics) {
      const subscribers = sortedMembers.filter((member) => member.topics.includes(topic));
      const count = partitionCounts.get(topic)!;
      const per = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      let next = 0;
      subscribers.forEach((member, index) => {
        const take = per + (index < extra ? 1 : 0);
        for (let partition = next; partition < next + take; partition++) result.get(member.memberId)!.push({ topic, partition });
        next += take;
      });
    }
    return result;
  }
  let turn = 0;
  for (const topic of topics) {
    for (let partition = 0; partition < partitionCounts.get(topic)!; partition++) {
      // The next member (in order) subscribed to this topic.
      for (let tries = 0; tries < sortedMembers.length; tries++) {
        const member = sortedMembers[(turn + tries) % sortedMembers.length]!;
        if (!member.topics.includes(topic)) continue;
        result.get(member.memberId)!.push({ topic, partition });
        turn = (turn + tries + 1) % sortedMembers.length;
        break;
      }
    }
  }
  return result;
}

export class ConsumerInstance {
  memberId = "";
  generationId = -1;
  subscription: string[] = [];
  assignment: TopicPartitionRef[] = [];
  lastUsedMs = Date.now();
  private readonly positions = new Map<string, bigint>();
  /** Positions delivered but not yet committed (auto commit). */
  private delivered = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private rejoinWanted = false;
  /** Woken when the membership settles (a fetch waits for an assignment). */
  private settledWaiters: (() => void)[] = [];

  constructor(
    readonly group: string,
    readonly name: string,
    readonly config: ConsumerInstanceConfig,
    private readonly backend: HttpBackend,
    private readonly log: Logger,
  ) {}

  get stable(): boolean {
    return this.generationId >= 0 && !this.rejoinWanted && this.running === null;
  }

  touch(): void {
    this.lastUsedMs = Date.now();
  }

  subscribe(topics: string[]): void {
    this.subscription = [...new Set(topics)].sort();
    this.requestRejoin();
  }

  private requestRejoin(): void {
    if (this.closed) return;
    this.rejoinWanted = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running ??= this.membershipRound()
      // Thrown (not answered): the coordinator could not be reached or kept moving past the
      // backend's retries. Start over after the backoff, as a Kafka consumer rediscovers its coordinator.
      .catch((error: unknown) => this.joinFailed(error instanceof KafkaError ? error.code : ErrorCode.COORDINATOR_NOT_AVAILABLE, error))
      .finally(() => {
        this.running = null;
        if (this.rejoinWanted && !this.closed) this.requestRejoin();
      });
  }

  private async membershipRound(): Promise<void> {
    await this.autoCommit();
    if (this.subscription.length === 0) {
      await this.leave();
      this.rejoinWanted = false;
      this.setAssignment([]);
      return;
    }
    this.rejoinWanted = false;
    const metadata = encodeSubscription(0, { topics: this.subscription, userData: null, ownedPartitions: [] });
    const joined = await this.backend.joinGroup({
      groupId: this.group,
      memberId: this.memberId,
      groupInstanceId: null,
      clientId: `runnel-http-${this.name}`,
      clientHost: "/127.0.0.1",
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      rebalanceTimeoutMs: this.config.rebalanceTimeoutMs,
      protocolType: "consumer",
      protocols: assignorNames.map((name) => ({ name, metadata })),
      requireKnownMemberId: false,
    });
    if (this.closed) return;
    if (joined.errorCode !== ErrorCode.NONE) return this.joinFailed(joined.errorCode);
    this.memberId = joined.memberId;
    this.generationId = joined.generationId;
    const assignments = joined.leader === joined.memberId ? await this.leaderAssignments(joined.protocolName ?? "range", joined.members) : [];
    const synced = await this.backend.syncGroup({
      groupId: this.group,
      generationId: joined.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocolName: joined.protocolName,
      assignments,
    });
    if (this.closed) return;
    if (synced.errorCode !== ErrorCode.NONE) return this.joinFailed(synced.errorCode);
    const assigned = synced.assignment.length === 0 ? [] : decodeAssignment(synced.assignment).value.assignedPartitions;
    this.setAssignment(assigned.flatMap((entry) => entry.partitions.map((partition) => ({ topic: entry.topic, partition }))));
    this.scheduleHeartbeat();
  }

  private joinFailed(errorCode: number, thrown?: unknown): void {
    if (this.closed) return;
    this.log.info("http consumer rejoins", { group: this.group, instance: this.name, error: errorName(errorCode), ...(thrown === undefined ? {} : { detail: String(thrown) }) });
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID || errorCode === ErrorCode.ILLEGAL_GENERATION || errorCode === ErrorCode.FENCED_INSTANCE_ID) {
      this.memberId = errorCode === ErrorCode.ILLEGAL_GENERATION ? this.memberId : "";
    }
    this.generationId = -1;
    this.setAssignment([]);
    // Back off a little before the next attempt (the coordinator may be refusing for a while).
    this.timer = setTimeout(() => this.requestRejoin(), errorCode === ErrorCode.REBALANCE_IN_PROGRESS ? 0 : 200);
  }

  private async leaderAssignments(protocol: string, members: { memberId: string; metadata: Uint8Array }[]) {
    const subscriptions = members.map((member) => {
      let topics: string[] = [];
      try {
        topics = decodeSubscription(member.metadata).value.topics;
      } catch {
        // a member whose metadata we cannot read gets nothing
      }
      return { memberId: member.memberId, topics };
    });
    const partitionCounts = new Map<string, number>();
    for (const topic of new Set(subscriptions.flatMap((entry) => entry.topics))) {
      const info = await this.backend.describeTopic(topic);
      if (info) partitionCounts.set(topic, info.partitions.length);
    }
    const plan = assign(protocol, subscriptions, partitionCounts);
    return [...plan].map(([memberId, partitions]) => {
      const byTopic = new Map<string, number[]>();
      for (const entry of partitions) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), entry.partition]);
      return {
        memberId,
        assignment: encodeAssignment(0, { assignedPartitions: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })), userData: null }),
      };
    });
  }

  private setAssignment(assignment: TopicPartitionRef[]): void {
    this.assignment = assignment;
    const keep = new Set(assignment.map((entry) => key(entry.topic, entry.partition)));
    for (const held of [...this.positions.keys()]) if (!keep.has(held)) this.positions.delete(held);
    for (const held of [...this.delivered.keys()]) if (!keep.has(held)) this.delivered.delete(held);
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const wake of waiters) wake();
  }

  private scheduleHeartbeat(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.heartbeat(), this.config.heartbeatIntervalMs);
  }

  private async heartbeat(): Promise<void> {
    this.timer = null;
    if (this.closed || this.running) return;
    let errorCode: number;
    try {
      errorCode = await this.backend.heartbeat({ groupId: this.group, generationId: this.generationId, memberId: this.memberId, groupInstanceId: null });
    } catch (error) {
      // The coordinator cannot be reached now (it died, or moves): keep the assignment and fetching,
      // and heartbeat again; its successor answers whether this member is still in the group.
      if (this.closed) return;
      this.log.info("http consumer heartbeat failed", { group: this.group, instance: this.name, error: String(error) });
      return this.scheduleHeartbeat();
    }
    if (this.closed || this.running) return;
    if (errorCode === ErrorCode.NONE) return this.scheduleHeartbeat();
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = "";
    this.requestRejoin();
  }

  /** Wait (bounded) until the membership is settled, so that a first fetch sees its assignment. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.stable || this.subscription.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.settledWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The position of an assigned partition: delivered, else committed, else auto.offset.reset. */
  private async positionOf(topic: string, partition: number): Promise<bigint> {
    const held = this.positions.get(key(topic, partition));
    if (held !== undefined) return held;
    const committed = await this.backend.fetchOffsets(this.group, [{ name: topic, partitions: [partition] }]);
    const offset = committed.topics[0]?.partitions[0]?.offset ?? -1n;
    const offsets = await this.backend.partitionOffsets(topic, partition);
    let position = offset;
    if (offset < offsets.logStartOffset || offset > offsets.highWatermark) {
      position = this.config.autoOffsetReset === "earliest" ? offsets.logStartOffset : offsets.highWatermark;
    }
    this.positions.set(key(topic, partition), position);
    return position;
  }

  /** Records from the assigned partitions, long polling up to `timeoutMs` for the first ones. */
  async fetch(maxBytes: number, timeoutMs: number, signal: AbortSignal): Promise<ConsumedRecord[]> {
    this.touch();
    await this.autoCommit();
    await this.settled(timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const records = await this.readOnce(maxBytes);
      const remaining = deadline - Date.now();
      if (records.length > 0 || remaining <= 0 || signal.aborted || this.assignment.length === 0) return records;
      await this.waitAny(remaining, signal);
    }
  }

  private async readOnce(maxBytes: number): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = [];
    let budget = maxBytes;
    for (const { topic, partition } of this.assignment) {
      if (budget <= 0) break;
      let result;
      try {
        result = await this.backend.read({ topic, partition, offset: await this.positionOf(topic, partition), maxBytes: budget, waitMs: 0 });
      } catch (error) {
        if (error instanceof KafkaError && error.code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          this.positions.delete(key(topic, partition)); // reset per auto.offset.reset on the next fetch
          continue;
        }
        throw error;
      }
      for (const record of result.records) {
        records.push(record);
        budget -= (record.key?.length ?? 0) + (record.value?.length ?? 0) + 32;
      }
      this.positions.set(key(topic, partition), result.nextOffset);
      if (result.records.length > 0) this.delivered.set(key(topic, partition), { topic, partition, offset: result.nextOffset });
    }
    return records;
  }

  private async waitAny(waitMs: number, signal: AbortSignal): Promise<void> {
    const round = new AbortController();
    const stop = () => round.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      const waits = this.assignment.map(async ({ topic, partition }) =>
        this.backend.waitForRecords(topic, partition, await this.positionOf(topic, partition), waitMs, round.signal));
      await Promise.race(waits);
    } finally {
      round.abort();
      signal.removeEventListener("abort", stop);
    }
  }

  private async autoCommit(): Promise<void> {
    if (!this.config.autoCommit || this.delivered.size === 0 || this.generationId < 0) return;
    const offsets = [...this.delivered.values()];
    this.delivered = new Map();
    await this.commit(offsets).catch((error) => this.log.info("http consumer auto commit failed", { group: this.group, error: String(error) }));
  }

  /** Commit offsets (the next offset to read, as Kafka). Without a list: every position delivered so far. */
  async commit(offsets: { topic: string; partition: number; offset: bigint }[] | null): Promise<void> {
    this.touch();
    const list = offsets ?? [...this.positions].map(([held, offset]) => {
      const [topic, partition] = held.split("\u0000");
      return { topic: topic!, partition: Number(partition), offset };
    });
    if (list.length === 0) return;
    const byTopic = new Map<string, { partition: number; offset: bigint; leaderEpoch: number; metadata: string | null }[]>();
    for (const entry of list) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), { partition: entry.partition, offset: entry.offset, leaderEpoch: -1, metadata: "" }]);
    const result = await this.backend.commitOffsets({
      groupId: this.group,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    const failed = result.topics.flatMap((topic) => topic.partitions.filter((partition) => partition.errorCode !== ErrorCode.NONE).map((partition) => `${topic.name}-${partition.partition}: ${errorName(partition.errorCode)}`));
    if (failed.length > 0) throw new HttpError(409, 409, `Commit refused: ${failed.join(", ")}`);
  }

  /** Move positions (seek); null offset: beginning or end per `to`. */
  async seek(entries: TopicPartitionRef[], to: { offset: bigint } | "beginning" | "end"): Promise<void> {
    this.touch();
    const assigned = new Set(this.assignment.map((entry) => key(entry.topic, entry.partition)));
    for (const entry of entries) {
      if (!assigned.has(key(entry.topic, entry.partition))) {
        throw new HttpError(409, 409, `${entry.topic}-${entry.partition} is not assigned to this consumer instance.`);
      }
      let offset: bigint;
      if (typeof to === "object") offset = to.offset;
      else {
        const offsets = await this.backend.partitionOffsets(entry.topic, entry.partition);
        offset = to === "beginning" ? offsets.logStartOffset : offsets.highWatermark;
      }
      this.positions.set(key(entry.topic, entry.partition), offset);
    }
  }

  private async leave(): Promise<void> {
    if (this.memberId === "") return;
    const memberId = this.memberId;
    this.memberId = "";
    this.generationId = -1;
    await this.backend.leaveGroup(this.group, [{ memberId, groupInstanceId: null }]).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.autoCommit();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.leave();
    this.setAssignment([]);
  }
}

/** Every consumer instance of the node, by group and name; bounded and expired when unused. */
export class ConsumerInstances {
  private readonly instances = new Map<string, ConsumerInstance>();
  private readonly sweeper: ReturnType<typeof setInterval>;
  private nextName = 1;

  constructor(
    private readonly backend: HttpBackend,
    private readonly limits: { instancesMax: number; idleMs: number },
    private readonly log: Logger,
  ) {
    this.sweeper = setInterval(() => this.expire(), Math.min(1000, limits.idleMs));
    this.sweeper.unref?.();
  }

  get count(): number {
    return this.instances.size;
  }

  create(group: string, name: string | null, config: ConsumerInstanceConfig): ConsumerInstance {
    const instanceName = name ?? `rest-consumer-${process.pid}-${this.nextName++}`;
    const id = `${group}\u0000${instanceName}`;
    if (this.instances.has(id)) {
      throw new HttpError(409, RestErrorCode.CONSUMER_INSTANCE_EXISTS, `Consumer instance with the specified name '${instanceName}' already exists in group '${group}'.`);
    }
    if (this.instances.size >= this.limits.instancesMax) {
      throw new HttpError(503, 503, `Too many consumer instances (http.consumer.instances.max = ${this.limits.instancesMax}).`);
    }
    const instance = new ConsumerInstance(group, instanceName, config, this.backend, this.log);
    this.instances.set(id, instance);
    return instance;
  }

  get(group: string, name: string): ConsumerInstance {
    const instance = this.instances.get(`${group}\u0000${name}`);
    if (!instance) throw new HttpError(404, RestErrorCode.CONSUMER_INSTANCE_NOT_FOUND, `Consumer instance '${name}' not found in group '${group}'.`);
    instance.touch();
    return instance;
  }

  async remove(group: string, name: string): Promise<void> {
    const instance = this.get(group, name);
    this.instances.delete(`${group}\u0000${name}`);
    await instance.close();
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, instance] of this.instances) {
      if (now - instance.lastUsedMs < this.limits.idleMs) continue;
      this.instances.delete(id);
      this.log.info("http consumer instance expired", { group: instance.group, instance: instance.name });
      void instance.close();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((instance) => instance.close()));
  }
}
