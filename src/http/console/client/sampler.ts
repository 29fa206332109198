// Scrapes the broker's /metrics every few seconds while the console is open and keeps the last
// minutes as points (rates, p99s) and per-group lag history, for the live graphs. The throughput
// and latency graphs start from what the broker kept before (/ui/metrics-history, since the
// console was first opened on it); group lag history starts when this console is opened.

import { parsePrometheus, pointBetween, snapshotOf, type Point, type Snapshot } from "./metrics.ts";

export const sampleIntervalMs = 2000;
const historyMs = 5 * 60 * 1000;

export interface LagPoint {
  timeMs: number;
  lag: number;
}

export class MetricsSampler {
  readonly points: Point[] = [];
  readonly lagHistory = new Map<string, LagPoint[]>();
  lastError: string | null = null;
  private previous: Snapshot | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private readonly listeners = new Set<() => void>();

  start(): void {
    if (this.timer !== undefined) return;
    void this.seed();
    void this.sample();
    this.timer = setInterval(() => void this.sample(), sampleIntervalMs);
  }

  /** The minutes before the console was opened, as the broker kept them (since its first visit). */
  private async seed(): Promise<void> {
    try {
      const response = await fetch("/ui/metrics-history");
      if (!response.ok) return;
      const kept = ((await response.json()) as { points: Point[] }).points;
      const firstOwn = this.points[0]?.timeMs ?? Infinity;
      this.points.unshift(...kept.filter((point) => point.timeMs < firstOwn));
      for (const listener of this.listeners) listener();
    } catch {
      // no history: the graphs start now
    }
  }

  /** Called after every scrape; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async sample(): Promise<void> {
    if (this.busy) return; // a slow scrape is not stacked on
    if (document.visibilityState === "hidden") return; // a background tab costs the broker nothing
    this.busy = true;
    try {
      const response = await fetch("/metrics");
      if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
      const snapshot = snapshotOf(parsePrometheus(await response.text()), Date.now());
      this.record(snapshot);
      this.lastError = null;
    } catch (error) {
      this.lastError = String((error as Error).message ?? error);
    } finally {
      this.busy = false;
    }
    for (const listener of this.listeners) listener();
  }

  private record(snapshot: Snapshot): void {
    const oldest = snapshot.timeMs - historyMs;
    if (this.previous) this.points.push(pointBetween(this.previous, snapshot));
    this.previous = snapshot;
    while (this.points.length > 0 && this.points[0]!.timeMs < oldest) this.points.shift();
    for (const [group, lag] of snapshot.groupLag) {
      const history = this.lagHistory.get(group) ?? [];
      history.push({ timeMs: snapshot.timeMs, lag });
      while (history.length > 0 && history[0]!.timeMs < oldest) history.shift();
      this.lagHistory.set(group, history);
    }
  }
}

export const sampler = new MetricsSampler();
