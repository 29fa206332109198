// The last minutes of the Overview's graphs kept by the broker, so that a console opened during an
// incident shows what happened before it was opened. Started by the first request for the
// console (a broker nobody looks at pays nothing), it renders this node's metrics every
// `intervalMs` and keeps the rates and p99s between consecutive renders for `keepMs` — the same
// computation the browser makes from /metrics (client/metrics.ts, shared). Group lag is not kept
// (it is gathered when /metrics is scraped); the browser samples it.
//
// Time and the metrics source are injected: tests drive tick() without timers.

import { assert } from "../../util/assert.ts";
import { parsePrometheus, pointBetween, snapshotOf, type Point, type Snapshot } from "./client/metrics.ts";

export interface MetricsHistoryOptions {
  /** This node's metrics in Prometheus text (the registry's render). */
  render: () => string;
  now: () => number;
  intervalMs: number;
  keepMs: number;
}

export class MetricsHistory {
  private readonly points: Point[] = [];
  private previous: Snapshot | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopped = false;

  constructor(private readonly options: MetricsHistoryOptions) {
    assert(options.intervalMs > 0 && options.keepMs >= options.intervalMs, "metrics history: interval within what is kept");
  }

  /** Begin sampling (idempotent; nothing after stop()). */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One sample: the point since the previous one, and points older than keepMs dropped. */
  tick(): void {
    const snapshot = snapshotOf(parsePrometheus(this.options.render()), this.options.now());
    if (this.previous) {
      assert(snapshot.timeMs >= this.previous.timeMs, "metrics history: time goes forward");
      this.points.push(pointBetween(this.previous, snapshot));
    }
    this.previous = snapshot;
    const oldest = snapshot.timeMs - this.options.keepMs;
    while (this.points.length > 0 && this.points[0]!.timeMs < oldest) this.points.shift();
  }

  history(): readonly Point[] {
    return this.points;
  }
}
