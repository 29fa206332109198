// Group rebalance and compaction benchmark.
//
// Part 1 — rebalance time: groups of 3 and 30 protocol-level members (one TCP connection each,
// JoinGroup v5 / SyncGroup v3 / Heartbeat v3 / LeaveGroup v3, KIP-394 member ids) against a real
// broker process. One member leaves cleanly, or dies (its socket is cut and it stops
// heartbeating); measured: time from that moment until every surviving member has completed
// SyncGroup for a new generation (the group is Stable again). Targets: a clean leave within one
// heartbeat interval (plus the rejoin round trips); a death within session.timeout.ms plus one
// heartbeat interval.
//
// Part 2 — compaction vs append throughput in the same run, in process on a real partition log:
// append MB/s of keyed records, then the cleaner's MB/s (bytes read and rewritten per second),
// then append MB/s while the cleaner works on the same log (it must not block appends).
//
//   bun bench/groups-rebalance.ts
//   env: GROUPS_SIZES=3,30  GROUPS_TRIALS=5  GROUPS_SESSION_MS=3000  GROUPS_HEARTBEAT_MS=300
//        COMPACTION_MB=48  COMPACTION_KEYS=50000  COMPACTION_RECORD_BYTES=200

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig, topicDefaults } from "../src/config/index.ts";
import { native } from "../src/native/index.ts";
import { parseBootstrap } from "../src/client/client.ts";
import { KafkaConnection } from "../src/client/connection.ts";
import { ErrorCode } from "../src/protocol/errors.ts";
import { HeartbeatApi, JoinGroupApi, LeaveGroupApi, SyncGroupApi } from "../src/protocol/generated/index.ts";
import { LogCleaner } from "../src/storage/cleaner.ts";
import { encodeBatch, type LogRecord } from "../src/protocol/record-batch.ts";
import { openPartitionLog, realFs } from "../src/storage/index.ts";
import { startBroker } from "./kafka/broker.ts";
import { machineInfo, machineMarkdown } from "./lib/machine.ts";
import { table } from "./lib/markdown.ts";

/** Everything measured, written to bench/results/groups-rebalance.{md,json}. */
const results: {
  rebalance: {
    members: number; change: "leave" | "death"; trialsMs: number[]; medianMs: number; maxMs: number; targetMs: number; meets: boolean;
    toldTrialsMs: number[]; toldMedianMs: number; toldMaxMs: number; toldTargetMs: number; toldMeets: boolean;
  }[];
  compaction: Record<string, number> | null;
} = { rebalance: [], compaction: null };

const sizes = (process.env.GROUPS_SIZES ?? "3,30").split(",").map(Number);
const trials = Number(process.env.GROUPS_TRIALS ?? 5);
const sessionMs = Number(process.env.GROUPS_SESSION_MS ?? 3000);
const heartbeatMs = Number(process.env.GROUPS_HEARTBEAT_MS ?? 300);

// ── Part 1: a protocol-level group member ───────────────────────────────────────────────────

class Member {
  memberId = "";
  generation = -1;
  /** performance.now() when the last SyncGroup for `generation` completed. */
  syncedAt = 0;
  /** performance.now() when a heartbeat last answered REBALANCE_IN_PROGRESS (the member was told). */
  toldAt = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly client: KafkaConnection, private readonly groupId: string) {}

  static async create(address: string, groupId: string, index: number): Promise<Member> {
    const [{ host, port }] = parseBootstrap(address) as [{ host: string; port: number }];
    return new Member(await KafkaConnection.connect({ host, port, clientId: `bench-member-${index}` }), groupId);
  }

  /** Join (KIP-394 round trip included) and sync; the leader assigns nothing (empty bytes). */
  async joinAndSync(): Promise<void> {
    for (;;) {
      const joined = await this.client.request(JoinGroupApi, {
        groupId: this.groupId, sessionTimeoutMs: sessionMs, rebalanceTimeoutMs: 60_000, memberId: this.memberId,
        groupInstanceId: null, protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array([0, 0, 0, 0, 0, 0]) }],
      }, { version: 5 });
      if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId;
        continue;
      }
      if (joined.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberId = "";
        continue;
      }
      if (joined.errorCode !== 0) throw new Error(`JoinGroup error ${joined.errorCode}`);
      this.memberId = joined.memberId;
      const assignments = joined.leader === joined.memberId
        ? joined.members.map((member: { memberId: string }) => ({ memberId: member.memberId, assignment: new Uint8Array(0) }))
        : [];
      const synced = await this.client.request(SyncGroupApi, {
        groupId: this.groupId, generationId: joined.generationId, memberId: this.memberId, groupInstanceId: null, assignments,
      }, { version: 3 });
      if (synced.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
      if (synced.errorCode !== 0) throw new Error(`SyncGroup error ${synced.errorCode}`);
      this.generation = joined.generationId;
      this.syncedAt = performance.now();
      return;
    }
  }

  /** Heartbeats every heartbeatMs; rejoins when told a rebalance is in progress. */
  startHeartbeats(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await Bun.sleep(heartbeatMs);
        if (this.stopped) break;
        const response = await this.client.request(HeartbeatApi, {
          groupId: this.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: null,
        }, { version: 3 }).catch(() => null);
        if (response === null || this.stopped) break;
        if (response.errorCode === ErrorCode.REBALANCE_IN_PROGRESS || response.errorCode === ErrorCode.ILLEGAL_GENERATION) {
          this.toldAt = performance.now();
          await this.joinAndSync();
        } else if (response.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          this.toldAt = performance.now();
          this.memberId = "";
          await this.joinAndSync();
        }
      }
    })();
  }

  /** LeaveGroup at once (a heartbeat in flight is ignored); returns when the request was sent. */
  async leave(): Promise<number> {
    this.stopped = true;
    const sentAt = performance.now();
    await this.client.request(LeaveGroupApi, { groupId: this.groupId, members: [{ memberId: this.memberId, groupInstanceId: null }] }, { version: 3 });
    await this.loop?.catch(() => {});
    this.client.close();
    return sentAt;
  }

  /** Dies: no LeaveGroup, no more heartbeats, the socket is cut. */
  die(): void {
    this.stopped = true;
    this.client.close();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => {});
    this.client.close();
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await Bun.sleep(2);
  }
}

async function formGroup(address: string, groupId: string, size: number): Promise<Member[]> {
  const members = await Promise.all(Array.from({ length: size }, (_, index) => Member.create(address, groupId, index)));
  // Joining all at once: one rebalance (the broker's group.initial.rebalance.delay.ms is 0, so
  // members arriving later trigger further rounds; heartbeats make everyone converge).
  await Promise.all(members.map((member) => member.joinAndSync()));
  for (const member of members) member.startHeartbeats();
  const top = () => Math.max(...members.map((member) => member.generation));
  await waitUntil(() => members.every((member) => member.generation === top()), 60_000);
  // Let the group settle (no member still rejoining).
  await Bun.sleep(heartbeatMs * 3);
  await waitUntil(() => members.every((member) => member.generation === top()), 60_000);
  return members;
}

/** One trial: ms until every survivor was told to rejoin (heartbeat answer), and until Stable again. */
async function measure(address: string, size: number, kind: "leave" | "death", trial: number): Promise<{ toldMs: number; stableMs: number }> {
  const members = await formGroup(address, `bench-${kind}-${size}-${trial}`, size);
  const before = Math.max(...members.map((member) => member.generation));
  const victim = members[size - 1]!;
  const survivors = members.slice(0, -1);
  // A random phase against the survivors' heartbeats (they all started together).
  await Bun.sleep(Math.random() * heartbeatMs);
  for (const member of survivors) member.toldAt = 0;
  let started = performance.now();
  if (kind === "leave") started = await victim.leave();
  else victim.die();
  await waitUntil(() => survivors.every((member) => member.generation > before), sessionMs * 4 + 30_000);
  const stableMs = Math.max(...survivors.map((member) => member.syncedAt)) - started;
  if (survivors.some((member) => member.toldAt < started)) throw new Error("a survivor rejoined without being told by a heartbeat");
  const toldMs = Math.max(...survivors.map((member) => member.toldAt)) - started;
  await Promise.all(survivors.map((member) => member.stop()));
  return { toldMs, stableMs };
}

/**
 * The classic protocol cannot push: a survivor learns of a rebalance from its next heartbeat, up
 * to one heartbeat interval after the change, and then needs a JoinGroup and a SyncGroup round
 * trip (and the group metadata fdatasync). So the targets are checked on the time until every
 * survivor was told (heartbeat answered REBALANCE_IN_PROGRESS): one heartbeat interval for a leave
 * (plus the heartbeat's own round trip, allowed 20 ms), session.timeout.ms plus one heartbeat
 * interval for a death; the time until Stable is reported beside it: for a leave with a rejoin
 * allowance of 100 ms, for a death against the same session.timeout.ms plus one heartbeat.
 */
const heartbeatRoundTripAllowanceMs = 20;
const rejoinAllowanceMs = 100;

function recordRebalance(members: number, change: "leave" | "death", trials: { toldMs: number; stableMs: number }[]): void {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const told = trials.map((trial) => trial.toldMs);
  const stable = trials.map((trial) => trial.stableMs);
  const toldTargetMs = change === "leave" ? heartbeatMs + heartbeatRoundTripAllowanceMs : sessionMs + heartbeatMs;
  const stableTargetMs = change === "leave" ? heartbeatMs + rejoinAllowanceMs : sessionMs + heartbeatMs;
  results.rebalance.push({
    members, change, trialsMs: stable, medianMs: median(stable), maxMs: Math.max(...stable), targetMs: stableTargetMs, meets: Math.max(...stable) <= stableTargetMs,
    toldTrialsMs: told, toldMedianMs: median(told), toldMaxMs: Math.max(...told), toldTargetMs, toldMeets: Math.max(...told) <= toldTargetMs,
  });
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `median ${median.toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${values.length} trials)`;
}

async function rebalanceBench(): Promise<void> {
  const broker = await startBroker({
    settings: {
      "group.initial.rebalance.delay.ms": "0",
      "group.min.session.timeout.ms": "500",
      "offsets.topic.num.partitions": "5",
    },
  });
  const address = `${broker.host}:${broker.port}`;
  console.log(`rebalance: session.timeout.ms=${sessionMs}, heartbeat every ${heartbeatMs} ms, broker ${address}`);
  try {
    for (const size of sizes) {
      for (const kind of ["leave", "death"] as const) {
        const measured: { toldMs: number; stableMs: number }[] = [];
        for (let trial = 0; trial < trials; trial++) measured.push(await measure(address, size, kind, trial));
        const target = kind === "leave" ? `target ≤ ${heartbeatMs} ms` : `target ≤ ${sessionMs + heartbeatMs} ms`;
        console.log(`  ${String(size).padStart(2)} members, ${kind.padEnd(5)}: all told ${summary(measured.map((trial) => trial.toldMs))}  [${target}]`);
        console.log(`  ${" ".repeat(17)}  Stable   ${summary(measured.map((trial) => trial.stableMs))}`);
        recordRebalance(size, kind, measured);
      }
    }
  } finally {
    await broker.stop();
  }
}

// ── Part 2: compaction vs append throughput ─────────────────────────────────────────────────

async function compactionBench(): Promise<void> {
  const totalBytes = Number(process.env.COMPACTION_MB ?? 48) * 1024 * 1024;
  const keys = Number(process.env.COMPACTION_KEYS ?? 50_000);
  const recordBytes = Number(process.env.COMPACTION_RECORD_BYTES ?? 200);
  const recordsPerBatch = 100;
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-compaction-bench-"));
  const config = {
    ...topicDefaults(loadBrokerConfig().values),
    "cleanup.policy": ["compact"],
    "segment.bytes": 8 * 1024 * 1024,
    "delete.retention.ms": 0,
    "min.cleanable.dirty.ratio": 0.01,
  };
  const log = await openPartitionLog({ dataDir, topic: "bench", partition: 0, config });
  const value = new Uint8Array(recordBytes).fill(97);
  // Batches are built before timing (the producer's cost is not the log's): a pool cycling over
  // the key space, appended again and again (the log restamps offsets, the CRC does not cover them).
  const pool: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (let sequence = 0; pool.length * recordsPerBatch < keys * 2; ) {
    const records: LogRecord[] = [];
    const timestamp = BigInt(Date.now());
    for (let index = 0; index < recordsPerBatch; index++, sequence++) {
      records.push({ offset: BigInt(index), timestamp, key: encoder.encode(`key-${sequence % keys}`), value, headers: new Uint8Array([0]) });
    }
    pool.push(encodeBatch(records));
  }
  let next = 0;
  const batch = () => pool[next++ % pool.length]!;
  const appendFor = async (bytes: number): Promise<number> => {
    const started = performance.now();
    let written = 0;
    while (written < bytes) {
      const bytesOfBatch = batch();
      await log.append(bytesOfBatch);
      written += bytesOfBatch.length;
    }
    await log.flush();
    return written / 1048576 / ((performance.now() - started) / 1000);
  };
  try {
    const appendMBps = await appendFor(totalBytes);
    const sizeBefore = log.sizeBytes;
    const cleaner = new LogCleaner({ logs: () => [log], fs: realFs, native, backoffMs: 1000 });
    const cleanStarted = performance.now();
    const stats = await cleaner.cleanLog(log, true);
    const cleanSeconds = (performance.now() - cleanStarted) / 1000;
    const cleanMBps = (stats?.bytesCleaned ?? 0) / 1048576 / cleanSeconds;
    const readMBps = (stats?.bytesRead ?? 0) / 1048576 / cleanSeconds;
    console.log(`compaction: ${(sizeBefore / 1048576).toFixed(0)} MiB log, ${keys} keys, ${recordBytes}-byte values, ${recordsPerBatch} records per batch`);
    console.log(`  append alone:           ${appendMBps.toFixed(1)} MB/s`);
    console.log(
      `  cleaning:               ${cleanMBps.toFixed(1)} MB/s of log cleaned (${readMBps.toFixed(1)} MB/s read: ` +
        `${((stats?.bytesCleaned ?? 0) / 1048576).toFixed(0)} MiB cleaned, ${((stats?.bytesRead ?? 0) / 1048576).toFixed(0)} MiB read, ` +
        `${((stats?.bytesWritten ?? 0) / 1048576).toFixed(1)} MiB written, ${stats?.recordsRemoved ?? 0} records removed, ${cleanSeconds.toFixed(2)} s); ` +
        `log ${(sizeBefore / 1048576).toFixed(0)} → ${(log.sizeBytes / 1048576).toFixed(1)} MiB (the active segment is never cleaned)`,
    );
    // Appends while the cleaner works on the same log.
    await appendFor(totalBytes / 2);
    const concurrentCleaner = new LogCleaner({ logs: () => [log], fs: realFs, native, backoffMs: 1000 });
    const cleaning = concurrentCleaner.cleanLog(log, true);
    const duringMBps = await appendFor(totalBytes / 4);
    const concurrentStats = await cleaning;
    console.log(`  append during cleaning: ${duringMBps.toFixed(1)} MB/s (the cleaner cleaned ${((concurrentStats?.bytesCleaned ?? 0) / 1048576).toFixed(0)} MiB meanwhile)`);
    results.compaction = {
      logMiB: sizeBefore / 1048576, keys, recordBytes, appendMBps, cleanMBps, readMBps,
      cleanedMiB: (stats?.bytesCleaned ?? 0) / 1048576, writtenMiB: (stats?.bytesWritten ?? 0) / 1048576,
      recordsRemoved: stats?.recordsRemoved ?? 0, cleanSeconds, appendDuringCleaningMBps: duringMBps,
      cleanedDuringAppendsMiB: (concurrentStats?.bytesCleaned ?? 0) / 1048576,
    };
    await log.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function writeResults(): void {
  const directory = join(import.meta.dir, "results");
  mkdirSync(directory, { recursive: true });
  const machine = machineInfo();
  const lines = [
    "# Group rebalance and compaction (bench/groups-rebalance.ts)\n",
    machineMarkdown(machine),
    `## Time to Stable after a membership change\n`,
    `Protocol-level members (JoinGroup v5, SyncGroup v3, Heartbeat v3), session.timeout.ms=${sessionMs}, heartbeat every ${heartbeatMs} ms, ` +
      `${trials} trials each, random phase against the heartbeats; measured from the LeaveGroup request (leave) or the cut socket (death) until ` +
      `every survivor was told to rejoin (a heartbeat answered REBALANCE_IN_PROGRESS: the classic protocol cannot push, so this is when the broker can first tell them), ` +
      `and until every survivor completed SyncGroup of a new generation (Stable: one JoinGroup and one SyncGroup round trip later, with the group metadata fdatasync'd). ` +
      `Targets: a leave: told within one heartbeat interval (+${heartbeatRoundTripAllowanceMs} ms for the heartbeat's round trip), Stable within one heartbeat interval + ${rejoinAllowanceMs} ms ` +
      `for the rejoin round trips; a death: told and Stable within session.timeout.ms + one heartbeat interval.\n`,
    table(
      ["members", "change", "told median", "told max", "told target", "meets", "Stable median", "Stable max", "Stable target", "meets"],
      results.rebalance.map((row) => [
        String(row.members), row.change, `${row.toldMedianMs.toFixed(0)} ms`, `${row.toldMaxMs.toFixed(0)} ms`, `≤ ${row.toldTargetMs} ms`, row.toldMeets ? "yes" : "no",
        `${row.medianMs.toFixed(0)} ms`, `${row.maxMs.toFixed(0)} ms`, `≤ ${row.targetMs} ms`, row.meets ? "yes" : "no",
      ]),
    ),
  ];
  if (results.compaction) {
    const c = results.compaction;
    lines.push(
      `## Compaction vs append (same run, one partition log, ${c.logMiB!.toFixed(0)} MiB, ${c.keys} keys, ${c.recordBytes}-byte values)\n`,
      table(
        ["measure", "MB/s"],
        [
          ["append alone", c.appendMBps!.toFixed(1)],
          ["cleaning (log bytes cleaned per second)", c.cleanMBps!.toFixed(1)],
          ["cleaning (bytes read per second: dirty part twice)", c.readMBps!.toFixed(1)],
          ["append while the cleaner runs on the same log", c.appendDuringCleaningMBps!.toFixed(1)],
        ],
      ),
    );
  }
  writeFileSync(join(directory, "groups-rebalance.md"), lines.join("\n"));
  writeFileSync(join(directory, "groups-rebalance.json"), JSON.stringify({ machine, sessionMs, heartbeatMs, ...results }, null, 2));
  console.log(`results: ${join(directory, "groups-rebalance.md")}`);
}

if (import.meta.main) {
  if (process.env.GROUPS_SKIP_REBALANCE !== "1") await rebalanceBench();
  if (process.env.GROUPS_SKIP_COMPACTION !== "1") await compactionBench();
  writeResults();
}
