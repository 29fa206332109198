// Test-only harness around the partition log: open one with a test config (and any StorageFs),
// read every batch back through the public API, and check a recovered log against what was
// acknowledged. One place knows how the storage module is opened, so tests and benches share it.

import { loadBrokerConfig, topicSchema, type TopicConfig } from "../config/index.ts";
import { native as defaultNative } from "../native/index.ts";
import type { NativeApi } from "../native/types.ts";
import { createLogManager, Log, realFs, type PartitionLog, type StorageFs } from "../storage/index.ts";
import { createLogger } from "../util/logger.ts";
import { scanLog } from "./log-files.ts";
import { batchCrcValid, batchNumberOf, buildBatch, compareWithSent, readBatchHeader, type BatchSpec } from "./record-batches.ts";

/** Every topic key at its Kafka default, with `overrides` applied. */
export function testTopicConfig(overrides: Partial<TopicConfig> = {}): TopicConfig {
  const config = {} as Record<string, unknown>;
  for (const [key, def] of Object.entries(topicSchema)) config[key] = def.default;
  return { ...(config as TopicConfig), ...overrides };
}

export interface OpenTestLogOptions {
  directory: string;
  config?: Partial<TopicConfig>;
  fs?: StorageFs;
  native?: NativeApi;
  topic?: string;
  partition?: number;
  recoveryPoint?: bigint;
}

export type TestLog = Log;

export async function openTestLog(options: OpenTestLogOptions): Promise<TestLog> {
  const topic = options.topic ?? "crash";
  const partition = options.partition ?? 0;
  return await Log.open({
    directory: options.directory,
    topic,
    partition,
    config: testTopicConfig(options.config),
    fs: options.fs ?? realFs,
    native: options.native ?? defaultNative,
    recoveryPoint: options.recoveryPoint,
    logger: createLogger(`test ${topic}-${partition}`),
  });
}

export const managerTopic = "crash";

/**
 * Open the partition `crash-0` through a LogManager on `dataDir` (checkpoint files, clean-shutdown
 * marker, background checkpoints every `checkpointIntervalMs`). Closing the returned log closes
 * the whole manager.
 */
export async function openTestManager(
  dataDir: string,
  config: Partial<TopicConfig> = {},
  checkpointIntervalMs = 60_000,
  fs: StorageFs = realFs,
): Promise<PartitionLog> {
  const topicConfig = testTopicConfig(config);
  const brokerConfig = loadBrokerConfig({ overrides: [["log.flush.offset.checkpoint.interval.ms", String(checkpointIntervalMs)]] }).values;
  const manager = createLogManager({ dataDir, brokerConfig, topicConfigFor: () => topicConfig, fs });
  await manager.open();
  const log = await manager.create(managerTopic, 0, topicConfig);
  return new Proxy(log, {
    get(target, property) {
      if (property === "close") return () => manager.close();
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export interface ReadBatch {
  baseOffset: bigint;
  lastOffset: bigint;
  /** A copy (the log's views are released after reading). */
  bytes: Uint8Array;
}

/** Every batch from logStartOffset to logEndOffset, through `read` (copied out of the mappings). */
export function readAllBatches(log: PartitionLog, chunkBytes = 1 << 20): ReadBatch[] {
  const batches: ReadBatch[] = [];
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    const result = log.read(offset, chunkBytes, end);
    try {
      if (result.bytes === 0) throw new Error(`read(${offset}) returned nothing below the log end offset ${end}`);
      let advanced = false;
      for (const chunk of result.chunks) {
        let at = 0;
        while (at < chunk.length) {
          const header = readBatchHeader(chunk, at);
          const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
          if (lastOffset >= offset) {
            batches.push({ baseOffset: header.baseOffset, lastOffset, bytes: chunk.slice(at, at + header.sizeBytes) });
            offset = lastOffset + 1n;
            advanced = true;
          }
          at += header.sizeBytes;
        }
      }
      if (!advanced) throw new Error(`read(${offset}) made no progress`);
    } finally {
      result.release();
    }
  }
  return batches;
}

export interface WorkloadShape {
  recordCount: number;
  valueBytes: number;
  seed: number;
}

export function workloadBatch(shape: WorkloadShape, batchNumber: number): Uint8Array {
  const spec: BatchSpec = { batchNumber, seed: shape.seed, recordCount: shape.recordCount, valueBytes: shape.valueBytes };
  return buildBatch(spec);
}

export interface Acknowledgement {
  batchNumber: number;
  baseOffset: bigint;
}

export interface VerifyResult {
  problems: string[];
  batches: ReadBatch[];
  /** The batch number the next append should carry (the log is a prefix of 0, 1, 2, …). */
  nextBatchNumber: number;
}

/**
 * Checks a reopened log against a sequential workload (batch n carries batch number n, starting at
 * `firstBatchNumber` at the log start):
 *  - every batch readable has a valid CRC, offsets are consecutive, and the log end offset follows
 *    the last batch;
 *  - the log is a prefix of the workload: batch k is the workload's batch k, byte for byte
 *    (nothing after the cut is garbage or out of order);
 *  - every acknowledged batch is there, at the acknowledged offset, byte for byte;
 *  - the files on disk scan clean with an independent parser.
 */
export function verifyAgainstWorkload(
  log: PartitionLog,
  directory: string,
  shape: WorkloadShape,
  acknowledged: Iterable<Acknowledgement>,
  firstBatchNumber = 0,
  /** The batch number expected at each position (default: firstBatchNumber + index). */
  expectedNumber: (index: number) => number = (index) => firstBatchNumber + index,
): VerifyResult {
  const problems: string[] = [];
  const batches = readAllBatches(log);
  let expectedOffset = log.logStartOffset;
  batches.forEach((batch, index) => {
    if (!batchCrcValid(batch.bytes)) problems.push(`batch at offset ${batch.baseOffset}: CRC mismatch`);
    if (batch.baseOffset !== expectedOffset) problems.push(`batch ${index}: base offset ${batch.baseOffset}, expected ${expectedOffset}`);
    expectedOffset = batch.lastOffset + 1n;
    const number = batchNumberOf(batch.bytes);
    if (number !== expectedNumber(index)) problems.push(`batch ${index} at offset ${batch.baseOffset} carries batch number ${number}, expected ${expectedNumber(index)}`);
    const reason = compareWithSent(batch.bytes, workloadBatch(shape, number), batch.baseOffset);
    if (reason !== null) problems.push(`batch ${number} at offset ${batch.baseOffset} differs from what was sent: ${reason}`);
  });
  if (expectedOffset !== log.logEndOffset) problems.push(`log end offset ${log.logEndOffset}, but the last batch ends at ${expectedOffset - 1n}`);
  const byNumber = new Map<number, ReadBatch>();
  batches.forEach((batch, index) => byNumber.set(expectedNumber(index), batch));
  for (const ack of acknowledged) {
    const batch = byNumber.get(ack.batchNumber);
    if (batch === undefined) problems.push(`acknowledged batch ${ack.batchNumber} (offset ${ack.baseOffset}) is missing`);
    else if (batch.baseOffset !== ack.baseOffset) problems.push(`acknowledged batch ${ack.batchNumber} was at offset ${ack.baseOffset}, now at ${batch.baseOffset}`);
  }
  for (const problem of scanLog(directory).problems) problems.push(`on disk: ${problem}`);
  return { problems, batches, nextBatchNumber: expectedNumber(batches.length) };
}

/**
 * Checks a log with known damage against a sequential workload, batch by batch through point reads:
 * every acknowledged batch not in `damaged` reads back byte for byte at its offset; every one in
 * `damaged` answers CORRUPT_MESSAGE. Returns the problems found (empty when all is as expected).
 */
export function verifyAroundDamage(log: PartitionLog, shape: WorkloadShape, acknowledged: Iterable<Acknowledgement>, damaged: ReadonlySet<number>): string[] {
  const problems: string[] = [];
  for (const ack of acknowledged) {
    let result;
    try {
      result = log.read(ack.baseOffset, 1);
    } catch (error) {
      if (!damaged.has(ack.batchNumber)) problems.push(`batch ${ack.batchNumber} at ${ack.baseOffset}: ${(error as Error).message}`);
      else if (!String((error as Error).message).includes("CORRUPT_MESSAGE")) problems.push(`damaged batch ${ack.batchNumber}: ${(error as Error).message}`);
      continue;
    }
    try {
      if (damaged.has(ack.batchNumber)) {
        problems.push(`damaged batch ${ack.batchNumber} at ${ack.baseOffset} was served`);
        continue;
      }
      const first = result.chunks[0];
      if (first === undefined) {
        problems.push(`batch ${ack.batchNumber} at ${ack.baseOffset}: nothing read`);
        continue;
      }
      const header = readBatchHeader(first, 0);
      const bytes = first.subarray(0, header.sizeBytes);
      const reason = compareWithSent(bytes, workloadBatch(shape, ack.batchNumber), ack.baseOffset);
      if (header.baseOffset !== ack.baseOffset || reason !== null) problems.push(`batch ${ack.batchNumber} at ${ack.baseOffset}: ${reason ?? `read base offset ${header.baseOffset}`}`);
    } finally {
      result.release();
    }
  }
  return problems;
}
