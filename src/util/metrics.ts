// A small Prometheus registry: counters and histograms with labels, gauges read on demand, and the
// text exposition format (version 0.0.4) that `GET /metrics` serves. Lives in util so that every
// layer can count into it (the Kafka dispatcher, the produce path, the HTTP routes) without
// importing the HTTP layer. No dependency: the format is a few lines of text per series.
//
//   # HELP runnel_http_requests_total HTTP requests by route, method and status.
//   # TYPE runnel_http_requests_total counter
//   runnel_http_requests_total{route="/healthz",method="GET",status="200"} 3
//
// Label values are escaped as the format asks (backslash, double quote, newline). The number of
// series is bounded by the callers' label sets (routes are patterns, never raw paths; topics and
// groups exist on the node), never by what a client sends.

import { assert } from "./assert.ts";

type Labels = Readonly<Record<string, string>>;

/** Default latency buckets in seconds: 100 µs to 10 s (Prometheus' defaults start at 5 ms, too coarse for a broker). */
export const latencyBucketsSeconds: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatLabels(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((name, index) => `${name}="${escapeLabelValue(values[index]!)}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function formatNumber(value: number | bigint): string {
  if (typeof value === "bigint") return value.toString();
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

interface Family {
  readonly name: string;
  readonly help: string;
  render(lines: string[]): void;
}

/** A counter family: one monotonically increasing value per label set. */
export class Counter implements Family {
  private readonly series = new Map<string, { values: string[]; value: number }>();
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}

  inc(labels: Labels = {}, amount = 1): void {
    this.child(labels).inc(amount);
  }

  /** The series of one label set, to count into without looking it up again (hot paths). */
  child(labels: Labels = {}): { inc(amount?: number): void } {
    const values = this.labelNames.map((name) => labels[name] ?? "");
    const key = values.join("\u0000");
    let entry = this.series.get(key);
    if (!entry) {
      entry = { values, value: 0 };
      this.series.set(key, entry);
    }
    const series = entry;
    const name = this.name;
    return {
      inc(amount = 1) {
        assert(amount >= 0, `${name}: a counter only goes up`);
        series.value += amount;
      },
    };
  }

  /** Forget the series of a label value (a deleted topic's counters). */
  removeWhere(label: string, value: string): void {
    const index = this.labelNames.indexOf(label);
    assert(index >= 0, `${this.name} has no label ${label}`);
    for (const [key, entry] of this.series) if (entry.values[index] === value) this.series.delete(key);
  }

  get(labels: Labels = {}): number {
    const key = this.labelNames.map((name) => labels[name] ?? "").join("\u0000");
    return this.series.get(key)?.value ?? 0;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const { values, value } of this.series.values()) lines.push(`${this.name}${formatLabels(this.labelNames, values)} ${formatNumber(value)}`);
  }
}

interface HistogramSeries {
  values: string[];
  /** Count per bucket (not cumulative; summed when rendered). */
  buckets: number[];
  count: number;
  sum: number;
}

/** A histogram family: bucket counts, sum and count per label set. */
export class Histogram implements Family {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[] = latencyBucketsSeconds,
  ) {
    for (let index = 1; index < buckets.length; index++) assert(buckets[index]! > buckets[index - 1]!, `${name}: buckets must increase`);
  }

  observe(labels: Labels, value: number): void {
    this.child(labels).observe(value);
  }

  /** The series of one label set, to observe into without looking it up again (hot paths). */
  child(labels: Labels): { observe(value: number): void } {
    const values = this.labelNames.map((name) => labels[name] ?? "");
    const key = values.join("\u0000");
    let entry = this.series.get(key);
    if (!entry) {
      entry = { values, buckets: new Array(this.buckets.length).fill(0), count: 0, sum: 0 };
      this.series.set(key, entry);
    }
    const series = entry;
    const bounds = this.buckets;
    return {
      observe(value: number) {
        // Buckets are few (16): a linear scan beats a binary search at this size.
        let bucket = 0;
        while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
        if (bucket < bounds.length) series.buckets[bucket]! += 1;
        series.count += 1;
        series.sum += value;
      },
    };
  }

  count(labels: Labels = {}): number {
    const key = this.labelNames.map((name) => labels[name] ?? "").join("\u0000");
    return this.series.get(key)?.count ?? 0;
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const entry of this.series.values()) {
      let cumulative = 0;
      for (let index = 0; index < this.buckets.length; index++) {
        cumulative += entry.buckets[index]!;
        lines.push(`${this.name}_bucket${formatLabels(this.labelNames, entry.values, `le="${formatNumber(this.buckets[index]!)}"`)} ${cumulative}`);
      }
      lines.push(`${this.name}_bucket${formatLabels(this.labelNames, entry.values, 'le="+Inf"')} ${entry.count}`);
      lines.push(`${this.name}_sum${formatLabels(this.labelNames, entry.values)} ${formatNumber(entry.sum)}`);
      lines.push(`${this.name}_count${formatLabels(this.labelNames, entry.values)} ${entry.count}`);
    }
  }
}

export interface GaugeSample {
  labels: Labels;
  value: number | bigint;
}

/** A gauge family whose samples are read when /metrics is scraped (log end offsets, lag, connections). */
export class CallbackGauge implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly collect: () => Iterable<GaugeSample>,
  ) {}

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    for (const sample of this.collect()) {
      const values = this.labelNames.map((name) => sample.labels[name] ?? "");
      lines.push(`${this.name}${formatLabels(this.labelNames, values)} ${formatNumber(sample.value)}`);
    }
  }
}

/** Every metric family of one node, rendered in registration order. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>();

  private add<F extends Family>(family: F): F {
    assert(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(family.name), `bad metric name ${family.name}`);
    assert(!this.families.has(family.name), `metric ${family.name} registered twice`);
    this.families.set(family.name, family);
    return family;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  gauge(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<GaugeSample>): CallbackGauge {
    return this.add(new CallbackGauge(name, help, labelNames, collect));
  }

  /** The text exposition format (Content-Type: text/plain; version=0.0.4). */
  render(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) family.render(lines);
    return lines.join("\n") + "\n";
  }
}

/**
 * The broker-wide families the Kafka listener, the shared produce path and the HTTP API count
 * into. One instance per node (node.ts), carried in the broker context.
 */
export class BrokerMetrics {
  readonly registry = new MetricsRegistry();
  readonly kafkaRequests = this.registry.counter("runnel_kafka_requests_total", "Kafka protocol requests answered, by API.", ["api"]);
  readonly kafkaRequestSeconds = this.registry.histogram(
    "runnel_kafka_request_duration_seconds", "Time from a Kafka request's arrival to its response being ready, by API.", ["api"]);
  readonly httpRequests = this.registry.counter("runnel_http_requests_total", "HTTP requests answered, by route pattern, method and status.", ["route", "method", "status"]);
  readonly httpRequestSeconds = this.registry.histogram(
    "runnel_http_request_duration_seconds", "Time from an HTTP request's arrival to its response head, by route pattern and method.", ["route", "method"]);
  readonly topicBytesIn = this.registry.counter("runnel_topic_bytes_in_total", "Record batch bytes appended to a topic (Kafka and HTTP produce).", ["topic"]);
  readonly topicRecordsIn = this.registry.counter("runnel_topic_records_in_total", "Records appended to a topic (Kafka and HTTP produce).", ["topic"]);
  readonly topicBytesOut = this.registry.counter("runnel_topic_bytes_out_total", "Record batch bytes read from a topic by consumers (Kafka Fetch and HTTP reads).", ["topic"]);
  /** Client quotas (docs/security.md §10): only entities that have a quota are measured. */
  readonly quotaRequestSeconds = this.registry.counter(
    "runnel_quota_request_time_seconds_total", "Broker time charged to an entity under a request_percentage quota (decode, handler's synchronous part, encode).", ["entity"]);
  readonly quotaThrottledResponses = this.registry.counter(
    "runnel_quota_throttled_responses_total", "Responses that carried a quota throttle (the connection then muted), by quota and entity.", ["quota", "entity"]);
  readonly quotaThrottleSeconds = this.registry.counter(
    "runnel_quota_throttle_seconds_total", "Throttle time handed out by quota and entity (throttle_time_ms summed).", ["quota", "entity"]);
  readonly failedAuthentications = this.registry.counter("runnel_failed_authentications_total", "Failed SASL authentications and refused HTTP credentials, by listener.", ["listener"]);

  /** A deleted topic's series go with it. */
  forgetTopic(topic: string): void {
    this.topicBytesIn.removeWhere("topic", topic);
    this.topicRecordsIn.removeWhere("topic", topic);
    this.topicBytesOut.removeWhere("topic", topic);
  }
}
