// The broker's own metrics (GET /metrics, Prometheus text format 0.0.4) turned into what the
// Overview and group pages plot: bytes in/out per second, produce and fetch p99, lag per group.
// Pure functions (no DOM): test/http/console-client.test.ts runs them under Bun.
//
// p99 over an interval comes from the difference of two scrapes' cumulative histogram buckets,
// interpolated inside the bucket that holds the 99th percentile, as Prometheus' histogram_quantile
// does.

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const samplePattern = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_match, character: string) => (character === "n" ? "\n" : character));
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

export function parsePrometheus(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = samplePattern.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(labelPattern)) labels[label[1]!] = unescapeLabel(label[2]!);
    samples.push({ name: match[1]!, labels, value: parseValue(match[3]!) });
  }
  return samples;
}

/** Cumulative bucket counts by upper bound (+Inf last). */
export type Buckets = Map<number, number>;

export interface Snapshot {
  timeMs: number;
  bytesIn: number;
  bytesOut: number;
  recordsIn: number;
  produce: Buckets;
  fetch: Buckets;
  /** Total lag per group (sum over its partitions). */
  groupLag: Map<string, number>;
}

const produceRoute = "/v3/clusters/{cluster_id}/topics/{topic_name}/records";
const readRoute = "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}/records";

/** Which latency a histogram sample counts into: Kafka Produce and HTTP produce; Kafka Fetch and HTTP reads. */
function latencyKind(sample: MetricSample): "produce" | "fetch" | null {
  if (sample.name === "runnel_kafka_request_duration_seconds_bucket") {
    if (sample.labels.api === "Produce") return "produce";
    if (sample.labels.api === "Fetch") return "fetch";
  } else if (sample.name === "runnel_http_request_duration_seconds_bucket") {
    if (sample.labels.route === produceRoute && sample.labels.method === "POST") return "produce";
    if (sample.labels.route === readRoute && sample.labels.method === "GET") return "fetch";
  }
  return null;
}

export function snapshotOf(samples: MetricSample[], timeMs: number): Snapshot {
  const snapshot: Snapshot = { timeMs, bytesIn: 0, bytesOut: 0, recordsIn: 0, produce: new Map(), fetch: new Map(), groupLag: new Map() };
  for (const sample of samples) {
    switch (sample.name) {
      case "runnel_topic_bytes_in_total": snapshot.bytesIn += sample.value; continue;
      case "runnel_topic_bytes_out_total": snapshot.bytesOut += sample.value; continue;
      case "runnel_topic_records_in_total": snapshot.recordsIn += sample.value; continue;
      case "runnel_consumer_group_lag": {
        const group = sample.labels.group ?? "";
        snapshot.groupLag.set(group, (snapshot.groupLag.get(group) ?? 0) + sample.value);
        continue;
      }
    }
    const kind = latencyKind(sample);
    if (kind === null) continue;
    const bound = parseValue(sample.labels.le ?? "+Inf");
    const buckets = snapshot[kind];
    buckets.set(bound, (buckets.get(bound) ?? 0) + sample.value);
  }
  return snapshot;
}

/**
 * The q-quantile (0 < q < 1) of the observations between two scrapes, in seconds; null when none
 * were made. Linear within the bucket; past the last finite bound, that bound (as Prometheus).
 */
export function quantileBetween(before: Buckets, after: Buckets, q: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((bound) => Math.max(0, (after.get(bound) ?? 0) - (before.get(bound) ?? 0)));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let index = 0; index < bounds.length; index++) {
    if (counts[index]! < rank) continue;
    const upper = bounds[index]!;
    const lower = index === 0 ? 0 : bounds[index - 1]!;
    if (upper === Infinity) return lower;
    const below = index === 0 ? 0 : counts[index - 1]!;
    const inBucket = counts[index]! - below;
    return inBucket <= 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
  }
  return bounds[bounds.length - 1] === Infinity ? bounds[bounds.length - 2] ?? null : null;
}

export interface Point {
  timeMs: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
  recordsInPerSecond: number;
  /** Milliseconds; null when nothing was produced / fetched in the interval. */
  produceP99Ms: number | null;
  fetchP99Ms: number | null;
}

/** Rates and p99s over the interval between two snapshots (a counter that went down, a deleted topic's, counts as 0). */
export function pointBetween(before: Snapshot, after: Snapshot): Point {
  const seconds = Math.max(0.001, (after.timeMs - before.timeMs) / 1000);
  const rate = (a: number, b: number) => Math.max(0, b - a) / seconds;
  const ms = (value: number | null) => (value === null ? null : value * 1000);
  return {
    timeMs: after.timeMs,
    bytesInPerSecond: rate(before.bytesIn, after.bytesIn),
    bytesOutPerSecond: rate(before.bytesOut, after.bytesOut),
    recordsInPerSecond: rate(before.recordsIn, after.recordsIn),
    produceP99Ms: ms(quantileBetween(before.produce, after.produce, 0.99)),
    fetchP99Ms: ms(quantileBetween(before.fetch, after.fetch, 0.99)),
  };
}
