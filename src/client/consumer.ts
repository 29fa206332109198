// A Kafka consumer of explicitly assigned partitions: start positions from an offset, a timestamp,
// the beginning or the end; one Fetch in flight per leader (on the "fetch" lane, since it
// long-polls), records decoded from RecordBatch v2 and handed out by poll() in offset order per
// partition. Group membership (who reads which partition) is group-member.ts's job; this class
// only reads what it is told to.
//
//   const consumer = new Consumer(client, { maxWaitMs: 500 });
//   await consumer.assign([{ topic: "orders", partition: 0, from: "earliest" }]);
//   for (;;) for (const record of await consumer.poll(1000)) handle(record);
//
// Positions: `position` is the next offset poll() will hand out; fetched records wait in a
// per-partition buffer, and a partition with buffered records is not fetched again until they
// are taken (bounded memory: at most one fetch response per partition is held).
//
// Fetch v13+ names topics by id (from Metadata v10+); older versions by name. No fetch sessions
// (KIP-227): every Fetch is a full one (session id 0, epoch -1), which every broker accepts.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { FetchApi, type FetchResponse, type FetchResponsePartitionData } from "../protocol/generated/fetch.ts";
import { ZERO_UUID } from "../protocol/primitives.ts";
import { decodeRecords, isControl, isLogAppendTime, splitBatches, type RecordHeader } from "../protocol/record-batch.ts";
import { assert } from "../util/assert.ts";
import type { KafkaClient } from "./client.ts";
import { isRetriable, isRetriableCode, needsMetadataRefresh, responseError } from "./errors.ts";
import { listOffsets, OffsetSpec, type OffsetQuery } from "./offsets.ts";

export type StartPosition = "earliest" | "latest" | { offset: bigint } | { timestamp: number | bigint };

export interface ConsumerOptions {
  /** Kafka's fetch.max.wait.ms (default 500). */
  maxWaitMs?: number;
  /** Kafka's fetch.min.bytes (default 1). */
  minBytes?: number;
  /** Kafka's fetch.max.bytes (default 50 MiB). */
  maxBytes?: number;
  /** Kafka's max.partition.fetch.bytes (default 1 MiB). */
  partitionMaxBytes?: number;
  /** 0 read_uncommitted (default), 1 read_committed. */
  isolationLevel?: number;
  /** Where to go when a position is out of range (Kafka's auto.offset.reset, default "latest"). */
  autoOffsetReset?: "earliest" | "latest" | "none";
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestamp: bigint;
  timestampType: "CreateTime" | "LogAppendTime";
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  leaderEpoch: number;
}

export interface Assignment {
  topic: string;
  partition: number;
  from: StartPosition;
}

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Next offset poll() hands out. */
  position: bigint;
  /** Next offset to fetch (ahead of position by the buffered records). */
  fetchPosition: bigint;
  highWatermark: bigint;
  logStartOffset: bigint;
  buffered: ConsumedRecord[];
  /** Do not fetch before this (backoff after an error). */
  retryAt: number;
  /** Set while a position must be found again (reset after OFFSET_OUT_OF_RANGE). */
  resetting: boolean;
}

function stateKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class Consumer {
  readonly options: Readonly<Required<ConsumerOptions>>;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly fetching = new Map<number, Promise<void>>();
  private waiters: (() => void)[] = [];
  private failure: Error | null = null;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly client: KafkaClient, options: ConsumerOptions = {}) {
    this.options = {
      maxWaitMs: options.maxWaitMs ?? 500,
      minBytes: options.minBytes ?? 1,
      maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
      partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
      isolationLevel: options.isolationLevel ?? 0,
      autoOffsetReset: options.autoOffsetReset ?? "latest",
    };
  }

  /** Adds partitions (replacing the position of ones already assigned). */
  async assign(assignments: readonly Assignment[]): Promise<void> {
    const positions = await this.resolvePositions(assignments);
    assignments.forEach((assignment, index) => {
      const position = positions[index]!;
      this.partitions.set(stateKey(assignment.topic, assignment.partition), {
        topic: assignment.topic,
        partition: assignment.partition,
        position,
        fetchPosition: position,
        highWatermark: -1n,
        logStartOffset: -1n,
        buffered: [],
        retryAt: 0,
        resetting: false,
      });
    });
  }

  /** Removes partitions (all when none given); their buffered records are dropped. */
  unassign(partitions?: readonly { topic: string; partition: number }[]): void {
    if (!partitions) this.partitions.clear();
    else for (const entry of partitions) this.partitions.delete(stateKey(entry.topic, entry.partition));
  }

  assignment(): { topic: string; partition: number }[] {
    return [...this.partitions.values()].map((state) => ({ topic: state.topic, partition: state.partition }));
  }

  /** The next offset poll() returns for a partition (what a group commits). */
  position(topic: string, partition: number): bigint | undefined {
    return this.partitions.get(stateKey(topic, partition))?.position;
  }

  /** The high watermark seen in the last fetch of a partition (-1 before the first). */
  highWatermark(topic: string, partition: number): bigint {
    return this.partitions.get(stateKey(topic, partition))?.highWatermark ?? -1n;
  }

  /** Moves a partition to `offset` (buffered records are dropped). */
  seek(topic: string, partition: number, offset: bigint): void {
    const state = this.partitions.get(stateKey(topic, partition));
    assert(state !== undefined, `seek on an unassigned partition ${topic}-${partition}`);
    state.position = offset;
    state.fetchPosition = offset;
    state.buffered = [];
  }

  /**
   * Records fetched since the last call, waiting up to `timeoutMs` for some; [] when none came.
   * Throws the error that stopped a partition (OFFSET_OUT_OF_RANGE with autoOffsetReset "none",
   * a non-retriable fetch error).
   */
  async poll(timeoutMs: number, maxRecords = 10_000): Promise<ConsumedRecord[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.failure) {
        const failure = this.failure;
        this.failure = null;
        throw failure;
      }
      const records = this.takeBuffered(maxRecords);
      if (records.length > 0 || this.closed) return records;
      this.startFetches();
      const left = deadline - performance.now();
      if (left <= 0) return [];
      await this.waitForData(left);
    }
  }

  /** Stops fetching; in-flight fetches finish in the background and are dropped. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wake();
  }

  // ------------------------------------------------------------------------------ positions

  private async resolvePositions(assignments: readonly Assignment[]): Promise<bigint[]> {
    const queries: OffsetQuery[] = [];
    const slots: number[] = [];
    const positions = assignments.map((assignment, index) => {
      const from = assignment.from;
      if (typeof from === "object" && "offset" in from) return from.offset;
      const timestamp = from === "earliest" ? OffsetSpec.earliest : from === "latest" ? OffsetSpec.latest : BigInt(from.timestamp);
      queries.push({ topic: assignment.topic, partition: assignment.partition, timestamp });
      slots.push(index);
      return -1n;
    });
    if (queries.length > 0) {
      const answers = await listOffsets(this.client, queries, { isolationLevel: this.options.isolationLevel });
      // A timestamp after every record answers -1: start at the end, as Kafka's seek does.
      const latestNeeded = answers.map((answer, index) => (answer.offset < 0n ? index : -1)).filter((index) => index >= 0);
      const ends = latestNeeded.length === 0 ? [] : await listOffsets(this.client, latestNeeded.map((index) => ({ ...queries[index]!, timestamp: OffsetSpec.latest })));
      latestNeeded.forEach((answerIndex, index) => (answers[answerIndex] = ends[index]!));
      answers.forEach((answer, index) => (positions[slots[index]!] = answer.offset));
    }
    return positions;
  }

  private takeBuffered(maxRecords: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = [];
    for (const state of this.partitions.values()) {
      if (state.buffered.length === 0) continue;
      const taken = state.buffered.splice(0, maxRecords - out.length);
      for (const record of taken) out.push(record);
      state.position = taken.at(-1)!.offset + 1n;
      if (state.buffered.length === 0) state.position = state.fetchPosition > state.position ? state.fetchPosition : state.position;
      if (out.length >= maxRecords) break;
    }
    return out;
  }

  // ------------------------------------------------------------------------------- fetching

  private waitForData(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** One Fetch per leader that has none in flight, for its partitions with nothing buffered. */
  private startFetches(): void {
    if (this.closed) return;
    const now = performance.now();
    const byLeader = new Map<number, PartitionState[]>();
    let nextRetry = Infinity;
    for (const state of this.partitions.values()) {
      if (state.buffered.length > 0 || state.resetting) continue;
      if (state.retryAt > now) {
        nextRetry = Math.min(nextRetry, state.retryAt);
        continue;
      }
      const leader = this.client.metadata.leaderOf(state.topic, state.partition);
      if (this.fetching.has(leader)) continue;
      const list = byLeader.get(leader) ?? [];
      list.push(state);
      byLeader.set(leader, list);
    }
    if (nextRetry < Infinity && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.wake();
      }, Math.max(1, nextRetry - now));
    }
    for (const [leader, states] of byLeader) {
      const fetching = this.fetchFrom(leader, states).catch((error: unknown) => this.onFetchError(states, error)).finally(() => {
        this.fetching.delete(leader);
        this.wake();
        // Keep one fetch per leader going for partitions with nothing buffered (prefetch).
        this.startFetches();
      });
      this.fetching.set(leader, fetching);
    }
  }

  private async fetchFrom(leader: number, states: PartitionState[]): Promise<void> {
    if (leader < 0) {
      // Not in the cache yet (assigned by offset) or no leader now: ask, then try again.
      await Promise.all([...new Set(states.map((state) => state.topic))].map((topic) => this.client.topicMetadata(topic, { refresh: true })));
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, "no leader known");
    }
    const connection = await this.client.connectionToNode(leader, "fetch");
    const byTopic = new Map<string, PartitionState[]>();
    for (const state of states) byTopic.set(state.topic, [...(byTopic.get(state.topic) ?? []), state]);
    const idsKnown = [...byTopic.keys()].every((topic) => (this.client.metadata.topic(topic)?.id ?? ZERO_UUID) !== ZERO_UUID);
    const version = connection.versionFor(FetchApi, 4, idsKnown ? FetchApi.maxVersion : 12);
    const positions = new Map(states.map((state) => [state, state.fetchPosition]));
    const response = await connection.request(FetchApi, {
      replicaId: -1,
      maxWaitMs: this.options.maxWaitMs,
      minBytes: this.options.minBytes,
      maxBytes: this.options.maxBytes,
      isolationLevel: this.options.isolationLevel,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        topicId: this.client.metadata.topic(topic)?.id ?? ZERO_UUID,
        partitions: list.map((state) => ({ partition: state.partition, fetchOffset: state.fetchPosition, partitionMaxBytes: this.options.partitionMaxBytes })),
      })),
    }, { version, timeoutMs: this.options.maxWaitMs + this.client.options.requestTimeoutMs });
    this.onFetchResponse(response, version, positions);
  }

  private onFetchResponse(response: FetchResponse, version: number, positions: Map<PartitionState, bigint>): void {
    if (response.errorCode !== ErrorCode.NONE) throw responseError(response.errorCode, "Fetch");
    for (const topic of response.responses) {
      const name = version >= 13 ? this.client.metadata.topicById(topic.topicId)?.name : topic.topic;
      if (name === undefined) continue;
      for (const data of topic.partitions) {
        const state = this.partitions.get(stateKey(name, data.partitionIndex));
        // Dropped while fetching, or moved by seek(): this answer is for an old position.
        if (!state || positions.get(state) !== state.fetchPosition) continue;
        this.onPartitionData(state, data);
      }
    }
  }

  private onPartitionData(state: PartitionState, data: FetchResponsePartitionData): void {
    if (data.errorCode !== ErrorCode.NONE) {
      this.onPartitionError(state, data.errorCode);
      return;
    }
    state.highWatermark = data.highWatermark;
    state.logStartOffset = data.logStartOffset;
    if (!data.records || data.records.length === 0) return;
    for (const batch of splitBatches(data.records, { allowTruncatedTail: true })) {
      const header = batch.header;
      const next = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
      if (next <= state.fetchPosition) continue;
      if (!isControl(header.attributes)) {
        const appendTime = isLogAppendTime(header.attributes);
        for (const record of decodeRecords(batch)) {
          if (record.offset < state.fetchPosition) continue;
          state.buffered.push({
            topic: state.topic, partition: state.partition, offset: record.offset, timestamp: record.timestamp,
            timestampType: appendTime ? "LogAppendTime" : "CreateTime",
            key: record.key, value: record.value, headers: record.headers, leaderEpoch: header.partitionLeaderEpoch,
          });
        }
      }
      state.fetchPosition = next;
    }
    if (state.buffered.length === 0) state.position = state.fetchPosition;
  }

  private onPartitionError(state: PartitionState, code: number): void {
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      this.reset(state);
      return;
    }
    if (isRetriableCode(code)) {
      if (needsMetadataRefresh(code)) this.client.invalidateMetadata();
      state.retryAt = performance.now() + this.client.options.retryBackoffMs;
      void this.client.ensureMetadata().catch(() => {});
      return;
    }
    this.failure ??= responseError(code, `Fetch ${state.topic}-${state.partition}`);
  }

  private reset(state: PartitionState): void {
    const policy = this.options.autoOffsetReset;
    if (policy === "none") {
      this.failure ??= responseError(ErrorCode.OFFSET_OUT_OF_RANGE, `Fetch ${state.topic}-${state.partition} at offset ${state.fetchPosition}`);
      return;
    }
    state.resetting = true;
    const query = { topic: state.topic, partition: state.partition, timestamp: policy === "earliest" ? OffsetSpec.earliest : OffsetSpec.latest };
    void listOffsets(this.client, [query]).then(
      ([answer]) => {
        state.position = answer!.offset;
        state.fetchPosition = answer!.offset;
        state.buffered = [];
      },
      (error: Error) => {
        this.failure ??= error;
      },
    ).finally(() => {
      state.resetting = false;
      this.wake();
    });
  }

  private onFetchError(states: PartitionState[], error: unknown): void {
    if (!isRetriable(error)) {
      this.failure ??= error as Error;
      return;
    }
    this.client.noteRetriable(error);
    const retryAt = performance.now() + this.client.options.retryBackoffMs;
    for (const state of states) state.retryAt = retryAt;
  }
}
