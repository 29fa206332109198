// What every scenario gets: parameters, the CRC-32C to use, a logger, the floors measured once
// per invocation (so `all` compares everything with the same floors), and helpers that start
// systems or say why they could not be started.

import type { Crc32c } from "../kafka/crc32c.ts";
import { BrokerUnavailable, benchTmpDir } from "../kafka/broker.ts";
import { diskFloor } from "../floors/disk.ts";
import type { DiskFloor } from "../floors/disk.ts";
import { tcpRoundTrip, tcpThroughput } from "../floors/tcp.ts";
import type { LatencySummary } from "../lib/histogram.ts";
import type { BenchParams } from "../lib/params.ts";
import type { Report } from "../lib/report.ts";
import { spread } from "../lib/stats.ts";
import type { Spread } from "../lib/stats.ts";
import { rmSync } from "node:fs";

export interface Floors {
  tcpBytesPerSecond: Spread;
  tcpRoundTrip: LatencySummary;
  disk: DiskFloor[];
  diskNoSync: Spread;
  diskFinalSync: Spread;
  diskGroupCommit: Spread;
}

export interface ScenarioContext {
  params: BenchParams;
  crc32c: Crc32c;
  crcSource: string;
  log(line: string): void;
  floors?: Floors;
  /** Headline figures for the summary written by `all`. */
  headlines: string[];
}

export interface Scenario {
  name: string;
  title: string;
  description: string;
  run(context: ScenarioContext): Promise<Report>;
}

export function megabytes(recordsPerSecond: number, params: BenchParams): number {
  return (recordsPerSecond * params.recordBytes) / 1_000_000;
}

export async function measureFloors(context: ScenarioContext): Promise<Floors> {
  if (context.floors) return context.floors;
  const params = context.params;
  const tcp: number[] = [];
  const disk: DiskFloor[] = [];
  for (let run = 0; run < params.runs; run++) {
    const result = await tcpThroughput(params.tcpBytes);
    context.log(`  floor: TCP loopback ${(result.bytesPerSecond / 1e6).toFixed(0)} MB/s`);
    tcp.push(result.bytesPerSecond);
  }
  const roundTrip = await tcpRoundTrip(Math.min(3000, params.durationMs));
  context.log(`  floor: TCP round trip p50 ${roundTrip.p50Us} µs, p99 ${roundTrip.p99Us} µs`);
  const directory = benchTmpDir("disk");
  try {
    for (let run = 0; run < params.runs; run++) {
      const result = diskFloor(directory, params.diskBytes, Math.min(2000, params.durationMs));
      context.log(`  floor: disk ${(result.noSyncBytesPerSecond / 1e6).toFixed(0)} MB/s no sync, ${(result.finalSyncBytesPerSecond / 1e6).toFixed(0)} MB/s with final fdatasync, ${(result.groupCommitBytesPerSecond / 1e6).toFixed(0)} MB/s as 64 KiB write+fdatasync`);
      disk.push(result);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  context.floors = {
    tcpBytesPerSecond: spread(tcp),
    tcpRoundTrip: roundTrip,
    disk,
    diskNoSync: spread(disk.map((entry) => entry.noSyncBytesPerSecond)),
    diskFinalSync: spread(disk.map((entry) => entry.finalSyncBytesPerSecond)),
    diskGroupCommit: spread(disk.map((entry) => entry.groupCommitBytesPerSecond)),
  };
  return context.floors;
}

/** Starts a system, or returns the reason it is unavailable (the scenario reports it). */
export async function tryStart<T>(start: () => Promise<T>): Promise<T | { unavailable: string }> {
  try {
    return await start();
  } catch (error) {
    if (error instanceof BrokerUnavailable) return { unavailable: error.message };
    return { unavailable: `failed to start: ${(error as Error).message.split("\n")[0]}` };
  }
}

export function isUnavailable(value: unknown): value is { unavailable: string } {
  return typeof value === "object" && value !== null && "unavailable" in value;
}
