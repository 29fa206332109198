// The crash-and-damage suite of issue 8 ("Proof"), against real broker processes and real files.
//
// A data directory is filled once per shutdown kind — clean (SIGTERM) and unclean (kill -9 once
// the recovery checkpoint covers every acknowledged record: flush.messages=1) — with:
//   victim-0 … victim-4  five partitions of several segments, each the target of one file type;
//   healthy-0            a partition nothing touches;
//   __consumer_offsets   a group's commits;  __cluster_metadata-0  the metadata log and its snapshots.
// Then, for each kind of damage — a flipped byte, a truncated file, a deleted file, a garbage
// tail, a zero-filled page — a copy of it is damaged and a broker started on it:
//   run "files":       victim-0: a sealed segment's .log     victim-1: the active segment's .log
//                      victim-2: a sealed segment's .index   victim-3: its .timeindex
//                      victim-4: the newest producer snapshot
//                      and the metadata log's segment and the group's __consumer_offsets segment;
//   run "checkpoints": recovery-point-offset-checkpoint and log-start-offset-checkpoint (apart:
//                      without a recovery point, damage to the log itself cannot be told from an
//                      unflushed tail, a double fault this suite does not claim to survive), and
//                      the newest metadata snapshot (apart from the metadata log: the two are
//                      each other's redundancy on one node).
// Each run asserts: the broker starts; every record of an undamaged partition, and of every
// undamaged segment of a damaged partition, is served exactly; a damaged segment's records are
// served exactly or answered with an error (CORRUPT_MESSAGE), never wrong; every partition takes
// appends again; and each damage is reported on stderr naming its file — except the two that
// leave no trace to find: a deleted snapshot or checkpoint after an unclean shutdown (they may
// never have been written).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { prng } from "../../src/testing/record-batches.ts";
import { Broker } from "../helpers/broker.ts";
import { createTopic, fetchOnce, ProduceApi, recordValue, workloadRecords, call, openConnection, type WireConnection } from "./kafka-ops.ts";

const { OffsetCommitApi, InitProducerIdApi } = generated as unknown as Record<string, AnyApi>;

const batches = 60;
const recordsPerBatch = 4;
const victims = 5;
const settings = {
  "log.segment.bytes": 8192,
  "log.index.interval.bytes": 1024,
  "log.flush.interval.messages": 1,
  "log.flush.offset.checkpoint.interval.ms": 100,
  "offsets.topic.num.partitions": 1,
};
const partitionsOf = [...Array.from({ length: victims }, (_, index) => ["victim", index] as const), ["healthy", 0] as const];

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

type Shutdown = "clean" | "unclean";
type Damage = "flipped byte" | "truncated" | "deleted" | "garbage tail" | "zero-filled page";
const damages: Damage[] = ["flipped byte", "truncated", "deleted", "garbage tail", "zero-filled page"];

function damageFile(path: string, kind: Damage, flipAt?: number): void {
  const size = statSync(path).size;
  switch (kind) {
    case "flipped byte": {
      const bytes = readFileSync(path);
      bytes[flipAt ?? Math.floor(size / 2)]! ^= 0x10;
      writeFileSync(path, bytes);
      break;
    }
    case "truncated":
      truncateSync(path, Math.floor(size / 2));
      break;
    case "deleted":
      unlinkSync(path);
      break;
    case "garbage tail": {
      const random = prng(size);
      appendFileSync(path, Uint8Array.from({ length: 333 }, () => Math.floor(random() * 256)));
      break;
    }
    case "zero-filled page": {
      // The second 4 KiB page (or the whole file when it is smaller), zeroed in place.
      const bytes = readFileSync(path);
      const start = size > 4096 ? 4096 : 0;
      bytes.fill(0, start, Math.min(size, start + 4096));
      writeFileSync(path, bytes);
      break;
    }
  }
}

const segmentsOf = (dataDir: string, partitionDirectory: string) =>
  readdirSync(join(dataDir, partitionDirectory)).filter((name) => name.endsWith(".log")).sort();

/** Produce `batches` rounds, one batch to every partition per Produce request (acks=all). */
async function fill(connection: WireConnection): Promise<bigint> {
  for (let batch = 0; batch < batches; batch++) {
    const topicData = ["victim", "healthy"].map((name) => ({
      name,
      partitionData: partitionsOf.filter(([topic]) => topic === name).map(([topic, partition]) => ({
        index: partition,
        records: buildRecordBatch({ records: workloadRecords(topic, partition, batch, recordsPerBatch) }),
      })),
    }));
    const response = await call(connection, ProduceApi, 8, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData });
    for (const topic of response.responses) for (const partition of topic.partitionResponses) expect(partition.errorCode).toBe(ErrorCode.NONE);
  }
  for (let commit = 1; commit <= 40; commit++) {
    const response = await call(connection, OffsetCommitApi!, 2, {
      groupId: "auditors", generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n,
      topics: [{ name: "healthy", partitions: [{ partitionIndex: 0, committedOffset: BigInt(commit), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: "x".repeat(200) }] }],
    });
    expect(response.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
  }
  const producerId = await call(connection, InitProducerIdApi!, 1, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  expect(producerId.errorCode).toBe(ErrorCode.NONE);
  return producerId.producerId;
}

/** The recovery checkpoint lists every partition at its end offset (so kill -9 leaves it flushed). */
function checkpointCovers(dataDir: string): boolean {
  const path = join(dataDir, "recovery-point-offset-checkpoint");
  if (!existsSync(path)) return false;
  const text = readFileSync(path, "utf8");
  return partitionsOf.every(([topic, partition]) => text.includes(`${topic} ${partition} ${batches * recordsPerBatch}\n`));
}

/** End offset (exclusive) of the metadata log: the last batch's base offset + last offset delta + 1. */
function metadataLogEnd(dataDir: string): bigint {
  const directory = join(dataDir, "__cluster_metadata-0");
  let end = 0n;
  for (const name of segmentsOf(dataDir, "__cluster_metadata-0")) {
    const bytes = readFileSync(join(directory, name));
    // Batches up to the first zero length: a segment file is reserved (fallocate) past its data,
    // and the zeros there must not read as a batch at offset 0 (which any snapshot "covers").
    for (let position = 0; position + 27 <= bytes.length; position += bytes.readInt32BE(position + 8) + 12) {
      if (bytes.readInt32BE(position + 8) <= 0) break;
      end = bytes.readBigInt64BE(position) + BigInt(bytes.readInt32BE(position + 23)) + 1n;
    }
  }
  return end;
}

/** The newest metadata snapshot holds every record of the metadata log (it is written after each change, in the background). */
function snapshotCoversMetadataLog(dataDir: string): boolean {
  const names = readdirSync(join(dataDir, "__cluster_metadata-0")).filter((name) => name.endsWith(".checkpoint")).sort();
  const newest = names.at(-1);
  return newest !== undefined && BigInt(newest.slice(0, 20)) >= metadataLogEnd(dataDir);
}

async function makeTemplate(shutdown: Shutdown): Promise<{ dataDir: string; producerId: bigint }> {
  const dataDir = mkdtempSync(join(tmpdir(), `runnel-damage-template-${shutdown}-`));
  directories.push(dataDir);
  const broker = new Broker({ dataDir, set: settings });
  await broker.start();
  const connection = await openConnection(broker.host, broker.port);
  let producerId: bigint;
  try {
    expect(await createTopic(connection, "victim", victims)).toBe(ErrorCode.NONE);
    expect(await createTopic(connection, "healthy", 1)).toBe(ErrorCode.NONE);
    producerId = await fill(connection);
  } finally {
    connection.close();
  }
  if (shutdown === "clean") {
    expect(await broker.shutdown()).toBe(0);
  } else {
    // Everything acknowledged was fdatasync'd (flush.messages=1); wait (a condition, bounded) until
    // the recovery checkpoint says so too, then kill -9: the damage below lies in flushed data.
    const deadline = Date.now() + 10_000;
    // The metadata snapshot too: the "metadata log segment deleted" damage relies on it holding the
    // producer-id block that InitProducerId just took (found racing after the partition-log split).
    while (!checkpointCovers(dataDir) || !snapshotCoversMetadataLog(dataDir)) {
      if (Date.now() > deadline) throw new Error("the recovery checkpoint never covered the records");
      await new Promise<void>((resolve) => setTimeout(resolve, 10));
    }
    await broker.kill();
  }
  for (const [topic, partition] of partitionsOf) expect(segmentsOf(dataDir, `${topic}-${partition}`).length).toBeGreaterThanOrEqual(3);
  return { dataDir, producerId };
}

/** Byte positions of the batches of a segment file (back to back). */
function batchPositions(path: string): number[] {
  const bytes = readFileSync(path);
  const positions: number[] = [];
  for (let position = 0; position + 12 <= bytes.length; position += bytes.readInt32BE(position + 8) + 12) positions.push(position);
  return positions;
}

interface Target {
  what: string;
  path: string;
  /** Text a stderr line must hold to report this damage (the file, or its partition). */
  reportedAs: string[];
  /** A payload byte for "flipped byte" (default: the middle of the file). */
  flipAt?: number;
  /** Offsets [from, to) whose records the damage may take: served exactly, or refused, never wrong. */
  lost?: { topic: string; partition: number; from: bigint; to: bigint };
  /** A damage of this kind after this shutdown may leave nothing to find (see the file header). */
  mayBeSilent?: (kind: Damage, shutdown: Shutdown) => boolean;
}

function segmentTarget(dataDir: string, partition: number, which: "sealed" | "active", suffix: ".log" | ".index" | ".timeindex"): Target {
  const directory = `victim-${partition}`;
  const segments = segmentsOf(dataDir, directory);
  const name = which === "active" ? segments.at(-1)! : segments[1]!;
  const stem = name.slice(0, 20);
  const path = join(dataDir, directory, stem + suffix);
  const positions = batchPositions(join(dataDir, directory, name));
  const next = which === "active" ? BigInt(Number.MAX_SAFE_INTEGER) : BigInt(segments[2]!.slice(0, 20));
  return {
    what: `${which} segment ${suffix} of ${directory}`,
    path,
    reportedAs: [`${directory}/${stem}`],
    flipAt: suffix === ".log" ? positions[Math.min(2, positions.length - 1)]! + 100 : undefined,
    lost: suffix === ".log" ? { topic: "victim", partition, from: BigInt(stem), to: next } : undefined,
  };
}

function filesTargets(dataDir: string): Target[] {
  const snapshots = readdirSync(join(dataDir, "victim-4")).filter((name) => name.endsWith(".snapshot")).sort();
  const offsetsSegments = segmentsOf(dataDir, "__consumer_offsets-0");
  return [
    segmentTarget(dataDir, 0, "sealed", ".log"),
    segmentTarget(dataDir, 1, "active", ".log"),
    segmentTarget(dataDir, 2, "sealed", ".index"),
    segmentTarget(dataDir, 3, "sealed", ".timeindex"),
    {
      what: "newest producer snapshot of victim-4",
      path: join(dataDir, "victim-4", snapshots.at(-1)!),
      reportedAs: ["victim-4", "snapshot"],
      mayBeSilent: (kind, shutdown) => kind === "deleted" && shutdown === "unclean",
    },
    // The metadata log (topics, ids, configs, producer-id blocks): its segment. The snapshot beside
    // it holds every record (src/cluster/local-metadata-log.ts).
    {
      what: "metadata log segment",
      path: join(dataDir, "__cluster_metadata-0", segmentsOf(dataDir, "__cluster_metadata-0")[0]!),
      reportedAs: ["__cluster_metadata-0"],
    },
    { what: "__consumer_offsets segment", path: join(dataDir, "__consumer_offsets-0", offsetsSegments.at(-1)!), reportedAs: ["__consumer_offsets-0"] },
  ];
}

function checkpointTargets(dataDir: string): Target[] {
  const snapshots = readdirSync(join(dataDir, "__cluster_metadata-0")).filter((name) => name.endsWith(".checkpoint")).sort();
  return [
    ...["recovery-point-offset-checkpoint", "log-start-offset-checkpoint"].map((name) => ({
      what: name,
      path: join(dataDir, name),
      reportedAs: [name],
      mayBeSilent: (kind: Damage, shutdown: Shutdown) => kind === "deleted" && shutdown === "unclean",
    })),
    // The newest metadata snapshot: the one before it and the log after it are used. A deleted
    // one leaves nothing to report.
    {
      what: "newest metadata snapshot",
      path: join(dataDir, "__cluster_metadata-0", snapshots.at(-1)!),
      reportedAs: [snapshots.at(-1)!],
      mayBeSilent: (kind: Damage) => kind === "deleted",
    },
  ];
}

/** Every batch of every partition, by point fetches: exact where undamaged, never wrong anywhere. */
async function verifyRecords(connection: WireConnection, lost: Target["lost"][]): Promise<string[]> {
  const problems: string[] = [];
  for (const [topic, partition] of partitionsOf) {
    const range = lost.find((entry) => entry?.topic === topic && entry.partition === partition);
    for (let batch = 0; batch < batches; batch++) {
      const base = BigInt(batch * recordsPerBatch);
      const mayBeLost = range !== undefined && base >= range.from && base < range.to;
      const answer = await fetchOnce(connection, topic, partition, base, 4096);
      const where = `${topic}-${partition} offset ${base}`;
      if (answer.errorCode !== ErrorCode.NONE) {
        if (!mayBeLost || answer.errorCode !== ErrorCode.CORRUPT_MESSAGE) problems.push(`${where}: error ${answer.errorCode}`);
        continue;
      }
      const fresh = answer.records.filter((record) => record.offset >= base);
      if (!mayBeLost && fresh[0]?.offset !== base) problems.push(`${where}: first record served is ${fresh[0]?.offset}`);
      for (const record of fresh) {
        const expected = recordValue(topic, partition, Number(record.offset) >> 2, Number(record.offset) & 3);
        if (record.offset < BigInt(batches * recordsPerBatch) && record.value !== expected) problems.push(`${where}: offset ${record.offset} holds the wrong value`);
      }
    }
  }
  return problems;
}

async function runDamaged(shutdown: Shutdown, kind: Damage, targetsOf: (dataDir: string) => Target[]): Promise<void> {
  const template = templates.get(shutdown)!;
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-damage-"));
  directories.push(dataDir);
  cpSync(template.dataDir, dataDir, { recursive: true });
  const targets = targetsOf(dataDir);
  for (const target of targets) damageFile(target.path, kind, target.flipAt);

  // The broker starts.
  const broker = new Broker({ dataDir, set: settings });
  await broker.start();
  const connection = await openConnection(broker.host, broker.port);
  try {
    // Undamaged partitions and segments serve every record; damaged ones never serve wrong data.
    expect(await verifyRecords(connection, targets.map((target) => target.lost))).toEqual([]);
    // Every partition takes appends; the group coordinator and producer ids work.
    for (const [topic, partition] of partitionsOf) {
      const records = buildRecordBatch({ records: workloadRecords(topic, partition, 1000, 1) });
      const response = await call(connection, ProduceApi, 8, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
      expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    const producerId = await call(connection, InitProducerIdApi!, 1, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
    expect(producerId.errorCode).toBe(ErrorCode.NONE);
    expect(producerId.producerId).toBeGreaterThan(template.producerId); // never an id handed out before
  } finally {
    connection.close();
    await broker.shutdown();
  }
  // Each damage is reported, naming its file (or partition).
  const lines = broker.lastStderr.split("\n").filter((line) => / (WARN|ERROR) /.test(line));
  for (const target of targets) {
    if (target.mayBeSilent?.(kind, shutdown)) continue;
    const reported = lines.some((line) => target.reportedAs.every((text) => line.includes(text)));
    if (!reported) throw new Error(`${kind} ${target.what} (${shutdown}) was not reported; warnings and errors:\n${lines.join("\n")}`);
  }
}

const templates = new Map<Shutdown, { dataDir: string; producerId: bigint }>();

beforeAll(async () => {
  const [clean, unclean] = await Promise.all([makeTemplate("clean"), makeTemplate("unclean")]);
  templates.set("clean", clean);
  templates.set("unclean", unclean);
}, 60_000);

for (const shutdown of ["clean", "unclean"] as const) {
  describe(`after a${shutdown === "clean" ? " clean" : "n unclean (kill -9)"} shutdown`, () => {
    for (const kind of damages) {
      test(`${kind}: segment .log/.index/.timeindex, snapshot, metadata log, __consumer_offsets`, () => runDamaged(shutdown, kind, filesTargets), 30_000);
      test(`${kind}: both checkpoint files, the newest metadata snapshot`, () => runDamaged(shutdown, kind, checkpointTargets), 30_000);
    }
  });
}
