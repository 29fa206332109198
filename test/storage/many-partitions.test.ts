// 10,000 partition logs in one node stay far below the kernel's mapping limit (vm.max_map_count,
// 65530 by default): every partition is written and read (which maps its segments for zero-copy
// reads), a tenth of them roll into several small segments, and the count of lines in
// /proc/self/maps — one per mapping of this process — is sampled as we go. The node-wide LRU of
// mapped segments (LogManagerOptions.mappedSegmentsMax, default 4096) is what bounds it; without
// it, 10,000+ segments would each hold a mapping until their log closed.
//
// Small segments keep each partition's reserved disk tiny (the reservation is bounded by
// segment.bytes), so the whole run writes a few tens of MiB. Runs with the native helper (which
// maps) and with RUNNEL_NATIVE=0 (which reads with pread: no mappings at all).

import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { createLogManager } from "../../src/storage/index.ts";
import { simpleBatch } from "./batches.ts";
import { recordingLogger, topicConfig } from "./conformance-suite.ts";

const partitionsCount = 10_000;
const rollingPartitionsCount = 1_000;
const mappedSegmentsMax = 4096;
const openingAtOnce = 200;

// tmpfs when there is one: what is measured is the mappings, which are the same on any file system,
// and 10,000 directory creations with their fsyncs take tens of seconds on a shared VM disk.
const scratch = existsSync("/dev/shm") && statSync("/dev/shm").isDirectory() ? "/dev/shm" : tmpdir();
const dataDir = mkdtempSync(join(scratch, "runnel-many-partitions-"));

function mapsCount(): number {
  return readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line !== "").length;
}

function maxMapCount(): number {
  try {
    return Number(readFileSync("/proc/sys/vm/max_map_count", "utf8").trim());
  } catch {
    return 65530;
  }
}

test(`${partitionsCount} partitions written and read stay far below vm.max_map_count (${native.canMap ? "native, mapped reads" : "fallback, pread"})`, async () => {
  // Every open segment holds a descriptor (as in Kafka): the process needs more than one per partition.
  const openFilesLine = readFileSync("/proc/self/limits", "utf8").split("\n").find((line) => line.startsWith("Max open files"));
  const openFilesMax = Number(openFilesLine?.split(/\s+/)[3] ?? "0");
  if (openFilesMax < partitionsCount + 2 * rollingPartitionsCount + 1000) {
    throw new Error(`this test needs ~${partitionsCount + 2 * rollingPartitionsCount + 1000} file descriptors; the open-files limit is ${openFilesMax} (raise it with ulimit -n)`);
  }
  const brokerConfig = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] }).values;
  const manager = createLogManager({ dataDir, brokerConfig, native, logger: recordingLogger(), backgroundTasks: false, mappedSegmentsMax });
  await manager.open();
  const mapsBefore = mapsCount();
  let mapsPeak = mapsBefore;
  let segmentsRead = 0;
  const small = topicConfig({ "segment.bytes": 4096 });
  const rolling = topicConfig({ "segment.bytes": 1024 });
  try {
    const writeAndRead = async (partition: number) => {
      const rolls = partition < rollingPartitionsCount;
      const log = await manager.create("many", partition, rolls ? rolling : small);
      const batches = rolls ? 4 : 1;
      for (let index = 0; index < batches; index++) await log.append(simpleBatch(native, 1, { valueBytes: rolls ? 400 : 50 }));
      // Read every offset of the partition (each read maps the segment it touches).
      for (let offset = 0n; offset < log.logEndOffset; offset++) {
        const result = log.read(offset, 1);
        expect(result.bytes).toBeGreaterThan(0);
        result.release();
      }
      segmentsRead += manager.getLog("many", partition)!.segmentCount;
    };
    // Opening a partition fsyncs its new directory entry: open a few hundred at a time so those
    // fsyncs overlap in the thread pool.
    for (let first = 0; first < partitionsCount; first += openingAtOnce) {
      const group: Promise<void>[] = [];
      for (let partition = first; partition < Math.min(first + openingAtOnce, partitionsCount); partition++) group.push(writeAndRead(partition));
      await Promise.all(group);
      mapsPeak = Math.max(mapsPeak, mapsCount());
    }
    mapsPeak = Math.max(mapsPeak, mapsCount());
    const mapped = manager.getLog("many", 0)!.mappedSegments; // the node-wide LRU's count
    expect(segmentsRead).toBeGreaterThan(partitionsCount);
    if (native.canMap) {
      // The bound engaged (more segments were read than may stay mapped) and held.
      expect(mapped).toBe(mappedSegmentsMax);
      expect(mapsPeak - mapsBefore).toBeLessThanOrEqual(mappedSegmentsMax + 64);
    } else {
      expect(mapped).toBe(0);
      expect(mapsPeak - mapsBefore).toBeLessThan(64);
    }
    // "Far below": under a quarter of the kernel's limit, whatever else this process maps.
    expect(mapsPeak).toBeLessThan(maxMapCount() / 4);
    console.log(`${partitionsCount} partitions, ${segmentsRead} segments read: /proc/self/maps ${mapsBefore} → peak ${mapsPeak} lines (vm.max_map_count ${maxMapCount()}); ${mapped} segments mapped`);
  } finally {
    try {
      await manager.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  // Closing unmaps everything the logs held.
  expect(mapsCount()).toBeLessThanOrEqual(mapsBefore + 64);
}, 60_000);
