// The partition log: public entry points.
//
//   createLogManager({ dataDir, brokerConfig, topicConfigFor?, fs?, native?, producerStateFactory?,
//                      clock?, logger?, mappedSegmentsMax?, backgroundTasks? }) → DataDirLogManager
//     (LogManager of types.ts + runRetention(), writeCheckpoints(), getLog()); call open() first.
//   openPartitionLog({ dataDir, topic, partition, config | brokerConfig, fs?, native?, clock?,
//                      logger?, producerState?, recoveryPoint?, logStartOffset? }) → Log
//     one log without checkpoint files (tests, tools).
//   Log implements PartitionLog (types.ts) and adds applyRetention(), recoveryPoint,
//   segmentBaseOffsets(), segmentCount, mappedSegments, and the cleaner hooks.
//
// Files: partition-log.ts (one log: state, single writer queue, appends, truncation) with one file
// per concern beside it (log-group-commit.ts, log-append-checks.ts, log-roll.ts, log-reads.ts,
// log-retention.ts, log-cleaner-hooks.ts, log-append-waiters.ts), log-manager.ts (every log of a
// node, checkpoints, clean-shutdown marker, timers), segment.ts (files, the write path, mappings,
// batch scanning), segment-index.ts, recovery.ts, producer-snapshots.ts, checkpoint.ts, mapping.ts
// (ref-counted mappings, LRU), fs.ts (the injectable file layer). Batches are read, checked and
// stamped through protocol/record-batch.ts.

import { join } from "node:path";
import { topicDefaults, type BrokerConfig, type TopicConfig } from "../config/index.ts";
import { native as defaultNative } from "../native/index.ts";
import type { NativeApi } from "../native/types.ts";
import { assert } from "../util/assert.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { realFs, type StorageFs } from "./fs.ts";
import { DataDirLogManager, type LogManagerOptions } from "./log-manager.ts";
import { MappingCache } from "./mapping.ts";
import { Log } from "./partition-log.ts";
import type { ProducerStateManager } from "./types.ts";

export type * from "./types.ts";
export { createRealFs, partitionDirectory, realFs, type OpenMode, type StorageFs } from "./fs.ts";
export { clusterMetadataTopic, DataDirLogManager, type LogManagerOptions } from "./log-manager.ts";
export { Log, type PartitionLogOptions } from "./partition-log.ts";
export { MappingCache } from "./mapping.ts";
export { DescriptorCache } from "./descriptors.ts";
export {
  parseSegmentFileName,
  scanBatches,
  DamagedDataError,
  Segment,
  segmentFileStem,
  segmentPaths,
  type ScannedBatch,
  type ScanResult,
  type SegmentContext,
} from "./segment.ts";
export { swapSuffix, temporarySuffixes } from "./recovery.ts";
export { partitionMetadataFile, readPartitionMetadata, writePartitionMetadata } from "./partition-metadata.ts";
export * from "../protocol/record-batch.ts";

/** The LogManager of a node's data directory. Call `open()` on it before use. */
export function createLogManager(options: LogManagerOptions): DataDirLogManager {
  return new DataDirLogManager(options);
}

export interface OpenPartitionLogOptions {
  dataDir: string;
  topic: string;
  partition: number;
  /** Topic config; default: the broker's topic defaults (or the schema's defaults). */
  config?: TopicConfig;
  brokerConfig?: BrokerConfig;
  fs?: StorageFs;
  native?: NativeApi;
  clock?: Clock;
  logger?: Logger;
  producerState?: ProducerStateManager;
  /** Without a LogManager there are no checkpoint files: recovery scans from here (default 0). */
  recoveryPoint?: bigint;
  logStartOffset?: bigint;
  mappedSegmentsMax?: number;
  /** Picks segment.jitter.ms shares (tests inject it; default Math.random). */
  random?: () => number;
}

/**
 * Open one partition log on its own (tests, tools). Without the LogManager no checkpoint files are
 * read or written, so the whole log is verified at open and the log start offset restarts at the
 * first segment unless given.
 */
export function openPartitionLog(options: OpenPartitionLogOptions): Promise<Log> {
  let config = options.config;
  if (!config) {
    assert(options.brokerConfig !== undefined, "openPartitionLog needs a config or a brokerConfig");
    config = topicDefaults(options.brokerConfig);
  }
  return Log.open({
    directory: join(options.dataDir, `${options.topic}-${options.partition}`),
    topic: options.topic,
    partition: options.partition,
    config,
    fs: options.fs ?? realFs,
    native: options.native ?? defaultNative,
    clock: options.clock,
    logger: options.logger,
    producerState: options.producerState,
    mappings: new MappingCache(options.mappedSegmentsMax ?? 64),
    recoveryPoint: options.recoveryPoint,
    logStartOffset: options.logStartOffset,
    random: options.random,
  });
}
