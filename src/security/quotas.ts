// Client quotas as Kafka applies them: byte-rate quotas (producer_byte_rate, consumer_byte_rate)
// and the request quota (request_percentage, KIP-124: broker time as a percentage of one thread)
// per user and client id, resolved in Kafka's order, measured over quota.window.num samples of
// quota.window.size.seconds, and answered with a throttle time (KIP-219: the response goes out at
// once with throttle_time_ms and the broker reads nothing more from that connection meanwhile).
//
// Resolution, most specific first (a default is written <default>, Kafka's name for a null entity
// name), the first entity that sets the key wins:
//   user=U,client-id=C  user=U,client-id=<default>  user=U
//   user=<default>,client-id=C  user=<default>,client-id=<default>  user=<default>
//   client-id=C  client-id=<default>
// The rate is measured per quota entity with defaults replaced by the client's own user / client
// id (a default quota applies to each user separately, as in Kafka).
//
// Throttle time (Kafka's ClientQuotaManager): (rate - quota) / quota × the measured window,
// capped at the full window. Time and the store of quotas are injected: this file is pure.

import { assert } from "../util/assert.ts";

export const quotaKeys = ["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate", "connection_creation_rate"] as const;
/** The keys Runnel enforces; the others are stored and described but not applied. */
export const enforcedQuotaKeys = ["producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"] as const;
export type EnforcedQuotaKey = (typeof enforcedQuotaKeys)[number];

export interface QuotaEntity {
  /** "user" or "client-id" (Kafka also has "ip", for connection_creation_rate: stored, not applied). */
  entityType: string;
  /** null: the default entity of that type. */
  entityName: string | null;
}

/** Canonical text of an entity: its parts sorted by type, "<default>" for null names. */
export function entityKey(entity: readonly QuotaEntity[]): string {
  return [...entity].sort((left, right) => left.entityType.localeCompare(right.entityType))
    .map((part) => `${part.entityType}=${part.entityName ?? "<default>"}`).join(",");
}

export interface StoredQuota {
  readonly entity: readonly QuotaEntity[];
  readonly values: Readonly<Record<string, number>>;
}

/** The candidates for a client, most specific first, as entity keys (with the measured key). */
function candidates(user: string, clientId: string): { key: string; measured: string }[] {
  const u = `user=${user}`;
  const c = `client-id=${clientId}`;
  return [
    { key: `client-id=${clientId},user=${user}`, measured: `${c},${u}` },
    { key: `client-id=<default>,user=${user}`, measured: `${c},${u}` },
    { key: u, measured: u },
    { key: `client-id=${clientId},user=<default>`, measured: `${c},${u}` },
    { key: "client-id=<default>,user=<default>", measured: `${c},${u}` },
    { key: "user=<default>", measured: u },
    { key: c, measured: c },
    { key: "client-id=<default>", measured: c },
  ];
}

export interface QuotaWindow {
  /** quota.window.num */
  samples: number;
  /** quota.window.size.seconds, in ms */
  sampleMs: number;
}

/** Bytes per sample over the last `samples` samples: Kafka's Rate with its minimum window. */
class RateSensor {
  private readonly starts: number[] = [];
  private readonly bytes: number[] = [];

  constructor(private readonly window: QuotaWindow) {}

  record(value: number, nowMs: number): void {
    const last = this.starts.length - 1;
    if (last < 0 || nowMs - this.starts[last]! >= this.window.sampleMs) {
      this.starts.push(nowMs);
      this.bytes.push(0);
      while (this.starts.length > this.window.samples) {
        this.starts.shift();
        this.bytes.shift();
      }
    }
    this.bytes[this.bytes.length - 1]! += value;
  }

  /** Bytes per second, and the window (ms) it was measured over. */
  measure(nowMs: number): { rate: number; windowMs: number } {
    // Samples older than the whole window no longer count.
    while (this.starts.length > 0 && nowMs - this.starts[0]! >= this.window.samples * this.window.sampleMs) {
      this.starts.shift();
      this.bytes.shift();
    }
    if (this.starts.length === 0) return { rate: 0, windowMs: this.window.sampleMs };
    let elapsed = nowMs - this.starts[0]!;
    // Kafka's minimum: at least samples-1 full windows, so that one burst is not a huge rate.
    const minimum = (this.window.samples - 1) * this.window.sampleMs;
    if (elapsed < minimum) elapsed = minimum;
    elapsed = Math.max(elapsed, this.window.sampleMs);
    const total = this.bytes.reduce((sum, value) => sum + value, 0);
    return { rate: (total * 1000) / elapsed, windowMs: elapsed };
  }
}

/** What `record` found: the throttle (ms, 0: none) and the entity the rate is measured under. */
export interface QuotaVerdict {
  readonly throttleMs: number;
  /** The measured entity, defaults replaced by the client's own names ("user=alice"). */
  readonly entity: string;
}

type Resolution = { bound: number; measured: string; entity: string } | null;

/** Resolutions remembered per quota table; dropped past this many (client ids are the client's to choose). */
const resolutionCacheMax = 10_000;

/**
 * The request quota's unit: request_percentage is broker time as a percentage of one thread, so a
 * millisecond of it is recorded as 0.1 (percent·seconds) and the sensor's per-second rate is then
 * the percentage itself (1000 ms busy in one second = 100).
 */
export function requestTimeValue(milliseconds: number): number {
  return milliseconds / 10;
}

/**
 * controller_mutation_rate (KIP-599) is a token bucket, not a rate over samples: it holds up to
 * quota × the whole window (the burst), refills at the quota per second, and may go negative by
 * the mutations of the request that emptied it (they were admitted).
 */
class MutationBucket {
  private tokens: number;
  private atMs: number;

  constructor(private readonly burstSeconds: number, rate: number, nowMs: number) {
    this.tokens = rate * burstSeconds;
    this.atMs = nowMs;
  }

  /** Tokens now, for this rate (the quota may have changed since the last call). */
  level(rate: number, nowMs: number): number {
    this.tokens = Math.min(rate * this.burstSeconds, this.tokens + (rate * Math.max(0, nowMs - this.atMs)) / 1000);
    this.atMs = nowMs;
    return this.tokens;
  }

  take(count: number): void {
    this.tokens -= count;
  }
}

export class QuotaManager {
  private readonly sensors = new Map<string, RateSensor>();
  private readonly buckets = new Map<string, MutationBucket>();
  /** resolve() answers for the quota table they were computed from (a new table per change). */
  private cachedFor: ReadonlyMap<string, StoredQuota> | null = null;
  private readonly cache = new Map<string, Resolution>();

  constructor(
    private readonly window: QuotaWindow,
    /** The stored quotas by entity key (the published image's). */
    private readonly quotas: () => ReadonlyMap<string, StoredQuota>,
    private readonly nowMs: () => number,
  ) {
    assert(window.samples >= 1 && window.sampleMs >= 1, "a quota window has samples of some length");
  }

  /** Whether any quota is set at all (the request path asks this first, on every request). */
  get anySet(): boolean {
    return this.quotas().size > 0;
  }

  /** The quota that applies (bytes/s) and the key its rate is measured under, or null when none. */
  resolve(key: EnforcedQuotaKey, user: string, clientId: string): Resolution {
    const stored = this.quotas();
    if (stored.size === 0) return null;
    // Every request asks (the request quota), so the eight lookups are remembered per table.
    if (this.cachedFor !== stored || this.cache.size >= resolutionCacheMax) {
      this.cachedFor = stored;
      this.cache.clear();
    }
    const cacheKey = `${key}\u0000${user}\u0000${clientId}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    let found: Resolution = null;
    for (const candidate of candidates(user, clientId)) {
      const value = stored.get(candidate.key)?.values[key];
      if (value !== undefined) {
        found = { bound: value, measured: `${key}:${candidate.measured}`, entity: candidate.measured };
        break;
      }
    }
    this.cache.set(cacheKey, found);
    return found;
  }

  /**
   * Record `value` (bytes, or requestTimeValue(ms) for request_percentage) for this client and say
   * how long it must now be throttled. Clients without a quota are not measured at all (null).
   */
  record(key: EnforcedQuotaKey, user: string, clientId: string, value: number): QuotaVerdict | null {
    const quota = this.resolve(key, user, clientId);
    if (quota === null) return null;
    let sensor = this.sensors.get(quota.measured);
    if (!sensor) this.sensors.set(quota.measured, (sensor = new RateSensor(this.window)));
    const now = this.nowMs();
    sensor.record(value, now);
    const { rate, windowMs } = sensor.measure(now);
    if (rate <= quota.bound) return { throttleMs: 0, entity: quota.entity };
    if (quota.bound <= 0) return { throttleMs: windowMs, entity: quota.entity };
    return { throttleMs: Math.min(windowMs, Math.round(((rate - quota.bound) / quota.bound) * windowMs)), entity: quota.entity };
  }

  /**
   * The controller mutation quota's state for this client: null when it has none, otherwise the
   * throttle (ms) its mutations so far call for — the time until the bucket is back to zero — and
   * whether it is exceeded (a strict request then refuses further mutations).
   */
  mutationState(user: string, clientId: string): { exceeded: boolean; throttleMs: number; entity: string } | null {
    const found = this.bucketOf(user, clientId);
    if (found === null) return null;
    const tokens = found.bucket.level(found.rate, this.nowMs());
    const throttleMs = tokens >= 0 ? 0 : found.rate <= 0 ? this.window.samples * this.window.sampleMs : Math.ceil((-tokens / found.rate) * 1000);
    return { exceeded: tokens < 0 || found.rate <= 0, throttleMs, entity: found.entity };
  }

  /** Take `partitions` mutations (partitions created, added or deleted) from this client's bucket. */
  recordMutations(user: string, clientId: string, partitions: number): void {
    assert(partitions >= 0, "mutations are counted in partitions");
    const found = this.bucketOf(user, clientId);
    if (found === null) return;
    found.bucket.level(found.rate, this.nowMs());
    found.bucket.take(partitions);
  }

  private bucketOf(user: string, clientId: string): { bucket: MutationBucket; rate: number; entity: string } | null {
    const quota = this.resolve("controller_mutation_rate", user, clientId);
    if (quota === null) return null;
    let bucket = this.buckets.get(quota.measured);
    if (!bucket) this.buckets.set(quota.measured, (bucket = new MutationBucket((this.window.samples * this.window.sampleMs) / 1000, quota.bound, this.nowMs())));
    return { bucket, rate: quota.bound, entity: quota.entity };
  }

}

/** "User:alice" → "alice" (Kafka's quota user is the principal's name). */
export function quotaUserOf(principal: string): string {
  const colon = principal.indexOf(":");
  return colon < 0 ? principal : principal.slice(colon + 1);
}
