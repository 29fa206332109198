// Fetch sessions (KIP-227, incremental fetch): a fetcher of many partitions sends the full list once,
// then only what changed (partitions whose fetch offset or limits moved, partitions it stops
// fetching), and the broker answers only the partitions that have something new (records, an
// error, a moved high watermark, last stable offset or log start offset). A consumer of 1,000
// partitions then costs decoding, encoding and sending in proportion to what changed.
//
// This module is the session cache only — no wire versions, no reads — so that both the Fetch
// handler (consumers) and the replica fetcher (followers) can use it. The caller resolves each
// request against the cache (resolve), reads the partitions the answer names, and asks for each
// one whether it goes into the response (FetchContext.include), which also remembers what was sent.
//
// Epochs, as Kafka: a request with session id 0 and epoch -1 (FINAL) is sessionless (answered in
// full, session id 0). Epoch 0 (INITIAL) asks for a new session: the old one named by the id, if
// any, is closed, and a new one is created when the cache has a free slot or can evict one (else the
// answer is sessionless). Epoch > 0 is an incremental request: the session must exist
// (FETCH_SESSION_ID_NOT_FOUND) and expect exactly this epoch (INVALID_FETCH_SESSION_EPOCH); its
// next epoch is then epoch + 1 (wrapping past 2^31-1 to 1). A nonzero id with epoch -1 closes the
// session and is answered sessionless.
//
// Eviction, as Kafka's cache: at most max.incremental.fetch.session.cache.slots sessions; when full,
// a new session may take the slot of the least recently used one idle for at least
// evictionIdleMs (Kafka: 120 s), follower sessions being preferred over consumer ones.

import { ErrorCode } from "../protocol/errors.ts";
import { assert } from "../util/assert.ts";

export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;
/** Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS. */
export const evictionIdleMsDefault = 120_000;
const int32Max = 0x7fffffff;

/** One partition as a fetch request names it (its topic by name, or by id from v13). */
export interface FetchPartitionRequest {
  /** Topic name, or the topic id's text for v13+ requests. */
  readonly topic: string;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
  readonly currentLeaderEpoch: number;
  readonly logStartOffset: bigint;
  readonly lastFetchedEpoch: number;
}

export interface ForgottenPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface FetchSessionRequest {
  readonly sessionId: number;
  readonly sessionEpoch: number;
  /** Full requests: every partition; incremental ones: the partitions added or changed. */
  readonly partitions: readonly FetchPartitionRequest[];
  /** Incremental requests: partitions the fetcher no longer wants. */
  readonly forgotten: readonly ForgottenPartition[];
  /** Follower sessions are kept in preference to consumer ones when the cache is full. */
  readonly fromFollower: boolean;
}

/** What a partition's answer carried, to decide whether an incremental response includes it. */
export interface PartitionAnswer {
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  readonly logStartOffset: bigint;
  readonly recordsBytes: number;
}

interface CachedPartition extends FetchPartitionRequest {
  /** What the last response carried for it (-2n: never sent). */
  sentHighWatermark: bigint;
  sentLastStableOffset: bigint;
  sentLogStartOffset: bigint;
}

const neverSent = -2n;

export class FetchSession {
  /** The epoch the next incremental request must carry. */
  nextEpoch = 1;
  lastUsedMs: number;
  readonly partitions = new Map<string, CachedPartition>();

  constructor(readonly id: number, readonly fromFollower: boolean, nowMs: number) {
    this.lastUsedMs = nowMs;
  }

  get size(): number {
    return this.partitions.size;
  }

  /** Adds or updates partitions (their fetch state), keeping what was last sent for known ones. */
  update(partitions: readonly FetchPartitionRequest[]): void {
    for (const request of partitions) {
      const key = partitionKey(request.topic, request.partition);
      const cached = this.partitions.get(key);
      if (cached === undefined) {
        this.partitions.set(key, { ...request, sentHighWatermark: neverSent, sentLastStableOffset: neverSent, sentLogStartOffset: neverSent });
      } else {
        this.partitions.set(key, { ...request, sentHighWatermark: cached.sentHighWatermark, sentLastStableOffset: cached.sentLastStableOffset, sentLogStartOffset: cached.sentLogStartOffset });
      }
    }
  }

  forget(partitions: readonly ForgottenPartition[]): void {
    for (const partition of partitions) this.partitions.delete(partitionKey(partition.topic, partition.partition));
  }

  advanceEpoch(): void {
    this.nextEpoch = this.nextEpoch >= int32Max ? 1 : this.nextEpoch + 1;
  }
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The outcome of resolving one request against the cache. */
export interface FetchContext {
  /** The session id to answer with (0: sessionless). */
  readonly sessionId: number;
  /** An error for the whole request (the response then has no partitions), else NONE. */
  readonly errorCode: number;
  /** Whether the response lists only partitions with something new. */
  readonly incremental: boolean;
  /** The partitions to read, in session order (or request order for full requests). */
  readonly partitions: readonly FetchPartitionRequest[];
  /** Whether this partition's answer goes into the response; remembers what was sent when it does. */
  include(partition: FetchPartitionRequest, answer: PartitionAnswer): boolean;
}

const alwaysInclude = () => true;

function errorContext(errorCode: number): FetchContext {
  return { sessionId: 0, errorCode, incremental: false, partitions: [], include: alwaysInclude };
}

export interface FetchSessionCacheOptions {
  /** max.incremental.fetch.session.cache.slots (0 disables sessions). */
  readonly slotsMax: number;
  readonly evictionIdleMs?: number;
  readonly nowMs: () => number;
  /** Source of new session ids (default Math.random); ids are nonzero int32s not in use. */
  readonly random?: () => number;
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private readonly evictionIdleMs: number;
  private readonly random: () => number;
  /** Sessions created and evicted so far (metrics, tests). */
  created = 0;
  evicted = 0;

  constructor(private readonly options: FetchSessionCacheOptions) {
    assert(options.slotsMax >= 0, "fetch session slots must be >= 0");
    this.evictionIdleMs = options.evictionIdleMs ?? evictionIdleMsDefault;
    this.random = options.random ?? Math.random;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  /** Resolve a request: which partitions to read, and how to answer (see the file comment). */
  resolve(request: FetchSessionRequest): FetchContext {
    const now = this.options.nowMs();
    if (request.sessionEpoch === FINAL_EPOCH) {
      if (request.sessionId !== 0) this.sessions.delete(request.sessionId);
      return this.full(request, null);
    }
    if (request.sessionEpoch === INITIAL_EPOCH) {
      if (request.sessionId !== 0) this.sessions.delete(request.sessionId);
      const session = this.create(request.fromFollower, now);
      if (session !== null) session.update(request.partitions);
      return this.full(request, session);
    }
    const session = this.sessions.get(request.sessionId);
    if (session === undefined) return errorContext(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    if (session.nextEpoch !== request.sessionEpoch) return errorContext(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    session.update(request.partitions);
    session.forget(request.forgotten);
    session.advanceEpoch();
    session.lastUsedMs = now;
    return {
      sessionId: session.id,
      errorCode: ErrorCode.NONE,
      incremental: true,
      partitions: [...session.partitions.values()],
      include: (partition, answer) => {
        // The partitions handed out above are the session's own entries: no lookup for them.
        const cached = isCached(partition) ? partition : session.partitions.get(partitionKey(partition.topic, partition.partition));
        if (cached === undefined) return true;
        const changed = answer.recordsBytes > 0 || answer.errorCode !== ErrorCode.NONE ||
          answer.highWatermark !== cached.sentHighWatermark || answer.lastStableOffset !== cached.sentLastStableOffset ||
          answer.logStartOffset !== cached.sentLogStartOffset;
        if (changed) remember(cached, answer);
        return changed;
      },
    };
  }

  /** A full answer; with a session, every partition's answer is remembered as sent. */
  private full(request: FetchSessionRequest, session: FetchSession | null): FetchContext {
    return {
      sessionId: session?.id ?? 0,
      errorCode: ErrorCode.NONE,
      incremental: false,
      partitions: request.partitions,
      include: session === null ? alwaysInclude : (partition, answer) => {
        const cached = session.partitions.get(partitionKey(partition.topic, partition.partition));
        if (cached !== undefined) remember(cached, answer);
        return true;
      },
    };
  }

  /** A new session in a free slot, or in an evictable one; null when the cache is full. */
  private create(fromFollower: boolean, now: number): FetchSession | null {
    if (this.options.slotsMax === 0) return null;
    if (this.sessions.size >= this.options.slotsMax && !this.evictOne(fromFollower, now)) return null;
    let id = 0;
    while (id === 0 || this.sessions.has(id)) id = 1 + Math.floor(this.random() * (int32Max - 1));
    const session = new FetchSession(id, fromFollower, now);
    this.sessions.set(id, session);
    this.created++;
    return session;
  }

  /**
   * Frees one slot for a new session: the least recently used session idle for evictionIdleMs, a
   * consumer's before a follower's (a follower's may only make way for another follower's).
   */
  private evictOne(forFollower: boolean, now: number): boolean {
    let victim: FetchSession | null = null;
    for (const session of this.sessions.values()) {
      if (now - session.lastUsedMs < this.evictionIdleMs) continue;
      if (session.fromFollower && !forFollower) continue;
      const better = victim === null || (victim.fromFollower && !session.fromFollower) ||
        (victim.fromFollower === session.fromFollower && session.lastUsedMs < victim.lastUsedMs);
      if (better) victim = session;
    }
    if (victim === null) return false;
    this.sessions.delete(victim.id);
    this.evicted++;
    return true;
  }
}

function isCached(partition: FetchPartitionRequest): partition is CachedPartition {
  return (partition as Partial<CachedPartition>).sentHighWatermark !== undefined;
}

function remember(cached: CachedPartition, answer: PartitionAnswer): void {
  cached.sentHighWatermark = answer.highWatermark;
  cached.sentLastStableOffset = answer.lastStableOffset;
  cached.sentLogStartOffset = answer.logStartOffset;
}
