// A replication throttle (Kafka's leader/follower.replication.throttled.rate, bytes per second),
// pure with an injected clock: a token bucket holding a tenth of a second of the rate. Bytes are
// recorded after they moved (a fetch's size is known only then), so the bucket may go below zero;
// while it is, throttled partitions are left out of fetches (Kafka's ReplicationQuotaManager does
// the same with its sampled rate) until it refills — on average the rate is kept.
//
// Why a small bucket, and `available()`: with a second's worth in the bucket and fetches sized by
// replica.fetch.max.bytes alone, a join began with several MiB copied at once (every leader's
// first answer, then the follower's deficit), 1.5× the rate over a short move, and that burst of
// copying and appending stalled every partition's acks=all produce for over a second on a small
// machine (bench/elastic.ts). Fetches of throttled partitions are now sized by what is available.

export class ReplicationQuota {
  private tokens: number;
  private lastMs: number;
  /** The most the bucket holds: what may go at once after an idle time. */
  readonly burstBytes: number;

  /** `bytesPerSecond` ≥ Number.MAX_SAFE_INTEGER means unthrottled. */
  constructor(readonly bytesPerSecond: number, private readonly nowMs: () => number, burstMs = 100) {
    this.burstBytes = Math.max(1, (bytesPerSecond * burstMs) / 1000);
    this.tokens = this.burstBytes;
    this.lastMs = nowMs();
  }

  get unlimited(): boolean {
    return this.bytesPerSecond >= Number.MAX_SAFE_INTEGER;
  }

  private refill(): void {
    const now = this.nowMs();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.lastMs) * this.bytesPerSecond) / 1000);
    this.lastMs = now;
  }

  /** Whether throttled traffic must wait now. */
  isExceeded(): boolean {
    if (this.unlimited) return false;
    this.refill();
    return this.tokens < 0;
  }

  /** Bytes throttled traffic may move now (Infinity when unthrottled); a fetch asks no more. */
  available(): number {
    if (this.unlimited) return Infinity;
    this.refill();
    return Math.max(0, Math.floor(this.tokens));
  }

  /** Milliseconds until throttled traffic may go again (0 when it may now). */
  waitMs(): number {
    if (!this.isExceeded()) return 0;
    return Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }

  record(bytes: number): void {
    if (this.unlimited || bytes <= 0) return;
    this.refill();
    this.tokens -= bytes;
  }
}
