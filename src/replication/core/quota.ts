// A replication throttle (Kafka's leader/follower.replication.throttled.rate, bytes per second),
// pure with an injected clock: a token bucket holding up to one second of the rate. Bytes are
// recorded after they moved (a fetch's size is known only then), so the bucket may go below zero;
// while it is, throttled partitions are left out of fetches (Kafka's ReplicationQuotaManager does
// the same with its sampled rate) until it refills — on average the rate is kept.

export class ReplicationQuota {
  private tokens: number;
  private lastMs: number;

  /** `bytesPerSecond` ≥ Number.MAX_SAFE_INTEGER means unthrottled. */
  constructor(readonly bytesPerSecond: number, private readonly nowMs: () => number) {
    this.tokens = bytesPerSecond;
    this.lastMs = nowMs();
  }

  get unlimited(): boolean {
    return this.bytesPerSecond >= Number.MAX_SAFE_INTEGER;
  }

  private refill(): void {
    const now = this.nowMs();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.lastMs) * this.bytesPerSecond) / 1000);
    this.lastMs = now;
  }

  /** Whether throttled traffic must wait now. */
  isExceeded(): boolean {
    if (this.unlimited) return false;
    this.refill();
    return this.tokens < 0;
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
