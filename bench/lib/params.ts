// Bench parameters: defaults chosen to keep `bun run bench all` within ~10 minutes on a small
// machine; each can be set by environment (BENCH_DURATION_MS=5000) or flag (--duration-ms=5000).
// Flags win over the environment.

import { assert } from "../../src/util/assert.ts";
import type { CompressionName } from "../kafka/wire.ts";

export interface BenchParams {
  /** Measured length of one open-loop or flood run (warm-up excluded). */
  durationMs: number;
  warmupMs: number;
  /** Repetitions of each measurement (median, min, max reported). */
  runs: number;
  recordBytes: number;
  batchBytes: number;
  lingerMs: number;
  partitions: number;
  producers: number;
  consumers: number;
  acks: 0 | 1 | -1;
  compression: CompressionName;
  /** Produce requests in flight per connection. */
  inFlightMax: number;
  /** Rate search: p99 bound, trial count, trial length. */
  p99BoundMs: number;
  searchTrials: number;
  searchTrialMs: number;
  /** Latency runs are at this fraction of the max sustainable rate. */
  latencyRateFraction: number;
  /** Fixed offered rate (records/s) for latency runs; 0 = derive from the rate search. */
  rate: number;
  /** Scenario 3. */
  manyPartitions: number;
  /** Start-up scenario: starts measured per program, and partitions of the large data directory. */
  startupRuns: number;
  startupPartitions: number;
  /** Scenario 4: bytes written before the fetch test. */
  fetchBytes: number;
  /** Disk floor: bytes written sequentially. */
  diskBytes: number;
  tcpBytes: number;
  /** Scheduler wake-up interval of the open-loop generator. */
  tickMs: number;
  /** Include NATS JetStream / Redis / the real client where a scenario compares with them. */
  peers: boolean;
  /** Peers scenario: records kcat produces and consumes per run. */
  peerRecords: number;
  /** Peers scenario: sequential requests of the one-in-flight latency test. */
  oneInFlightRequests: number;
  /** Where result files go. */
  resultsDir: string;
}

export const defaultParams: BenchParams = {
  durationMs: 3000,
  warmupMs: 1000,
  runs: 3,
  recordBytes: 1024,
  batchBytes: 16384,
  lingerMs: 0,
  partitions: 1,
  producers: 1,
  consumers: 1,
  acks: 1,
  compression: "none",
  inFlightMax: 8,
  p99BoundMs: 20,
  searchTrials: 6,
  searchTrialMs: 2500,
  latencyRateFraction: 0.5,
  rate: 0,
  manyPartitions: 1000,
  startupRuns: 15,
  startupPartitions: 2000,
  fetchBytes: 256 * 1024 * 1024,
  diskBytes: 256 * 1024 * 1024,
  tcpBytes: 1024 * 1024 * 1024,
  tickMs: 1,
  peers: true,
  peerRecords: 200_000,
  oneInFlightRequests: 20_000,
  resultsDir: "bench/results",
};

const kebab = (key: string) => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const snake = (key: string) => key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();

function coerce(key: keyof BenchParams, text: string): BenchParams[keyof BenchParams] {
  const current = defaultParams[key];
  if (key === "acks") {
    const value = text === "all" ? -1 : Number(text);
    if (![0, 1, -1].includes(value)) throw new Error(`--acks must be 0, 1, -1 or all`);
    return value;
  }
  if (typeof current === "number") {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${kebab(key)}: "${text}" is not a non-negative number`);
    return value;
  }
  if (typeof current === "boolean") {
    if (!["true", "false", "1", "0"].includes(text)) throw new Error(`--${kebab(key)}: "${text}" is not true/false`);
    return text === "true" || text === "1";
  }
  if (key === "compression" && !["none", "gzip", "zstd"].includes(text)) throw new Error(`--compression must be none, gzip or zstd`);
  return text;
}

/** Parses flags (`--key=value` or `--key value`) over environment over defaults; returns the rest. */
export function parseParams(argv: readonly string[], env: Record<string, string | undefined>): { params: BenchParams; rest: string[] } {
  const params: BenchParams = { ...defaultParams };
  const keys = Object.keys(defaultParams) as Array<keyof BenchParams>;
  for (const key of keys) {
    const value = env[`BENCH_${snake(key)}`];
    if (value !== undefined && value !== "") (params as unknown as Record<string, unknown>)[key] = coerce(key, value);
  }
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (!arg.startsWith("--")) {
      rest.push(arg);
      continue;
    }
    const [flag, inline] = arg.includes("=") ? [arg.slice(2, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg.slice(2), undefined];
    const key = keys.find((candidate) => kebab(candidate) === flag);
    if (!key) throw new Error(`unknown flag --${flag} (known: ${keys.map((candidate) => `--${kebab(candidate)}`).join(" ")})`);
    const value = inline ?? argv[++index];
    if (value === undefined) throw new Error(`--${flag} needs a value`);
    (params as unknown as Record<string, unknown>)[key] = coerce(key, value);
  }
  assert(params.runs >= 1 && params.durationMs > 0 && params.recordBytes >= 16, "runs ≥ 1, duration > 0, record ≥ 16 bytes");
  return { params, rest };
}

export function batchRecords(params: BenchParams): number {
  return Math.max(1, Math.floor(params.batchBytes / params.recordBytes));
}

export function describeParams(params: BenchParams): string {
  return `record ${params.recordBytes} B, batch ${params.batchBytes} B (${batchRecords(params)} records) / linger ${params.lingerMs} ms, acks=${params.acks}, compression ${params.compression}, ${params.inFlightMax} requests in flight per connection, runs ${params.runs} × ${params.durationMs} ms (+${params.warmupMs} ms warm-up discarded), p99 bound ${params.p99BoundMs} ms, scheduler tick ${params.tickMs} ms`;
}
