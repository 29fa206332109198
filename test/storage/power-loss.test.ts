// Power loss: the log runs on the fault-injecting file layer (src/testing/fault-fs.ts), which
// remembers what every fdatasync covered. At a random moment the power goes out: every write not
// covered by a completed sync is thrown away (optionally torn: a random prefix of it survives, or
// its bytes read back as zeros), the files are rewritten to that state, and the log is reopened on
// the real file system. With flush.messages=1, every append whose `durable` promise resolved must
// be there byte for byte, the log must be an exact prefix of what was appended (no garbage after
// the cut), and the recovered log must take appends again.
//
// RUNNEL_POWER_LOSS_RUNS (default 8) crashes per tear mode; RUNNEL_POWER_LOSS_SEED replays a run.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { createLogManager, realFs, type StorageFs } from "../../src/storage/index.ts";
import { setLogLevel } from "../../src/util/logger.ts";
import { FaultFs } from "../../src/testing/fault-fs.ts";
import { openTestLog, testTopicConfig, verifyAgainstWorkload, workloadBatch, type Acknowledgement, type WorkloadShape } from "../../src/testing/log-harness.ts";
import type { TearMode } from "../../src/testing/power-loss.ts";
import { prng } from "../../src/testing/record-batches.ts";

const runs = Number(process.env.RUNNEL_POWER_LOSS_RUNS ?? 8);
const baseSeed = Number(process.env.RUNNEL_POWER_LOSS_SEED ?? Date.now() % 1_000_000);
const directories: string[] = [];
// Cut tails and failed syncs (the power is out) are expected here: keep quiet unless asked.
if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("silent");
const segmentBytes = 32 * 1024;

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** A scenario passed: remove its directory now (a failing one stays for inspection until afterAll). */
function finished(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  directories.splice(directories.indexOf(directory), 1);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface RunOptions {
  seed: number;
  tear: TearMode;
  strictDirectories: boolean;
  /** flush.messages=1 (sync per append) or explicit flush() calls acknowledging everything before. */
  durability: "flush.messages=1" | "flush.ms=2" | "flush()";
}

/** Appends until a random crash point; returns the batches acknowledged durable before it. */
async function runUntilPowerLoss(directory: string, fault: FaultFs, shape: WorkloadShape, options: RunOptions, firstBatch: number) {
  const random = prng(options.seed);
  const durabilityConfig =
    options.durability === "flush.messages=1" ? { "flush.messages": 1 } : options.durability === "flush.ms=2" ? { "flush.ms": 2 } : {};
  const config = { "segment.bytes": segmentBytes, ...durabilityConfig };
  const log = await openTestLog({ directory, fs: fault, config });
  const acknowledged: Acknowledgement[] = [];
  const crashAfter = 5 + Math.floor(random() * 120);
  let appended: Acknowledgement[] = [];
  for (let index = 0; index < crashAfter; index++) {
    const batchNumber = firstBatch + index;
    const result = await log.append(workloadBatch(shape, batchNumber));
    const ack = { batchNumber, baseOffset: result.baseOffset };
    if (options.durability !== "flush()") {
      result.durable.then(
        () => acknowledged.push(ack),
        () => {}, // the sync failed because the power went out: not acknowledged
      );
    } else {
      appended.push(ack);
      if (random() < 0.2) {
        const covered = appended;
        appended = [];
        log.flush().then(
          () => acknowledged.push(...covered),
          () => {},
        );
      }
    }
    // Let syncs complete now and then, so that crashes land before, during and after them.
    const pause = random();
    if (pause < 0.1 && options.durability !== "flush()") await result.durable.catch(() => {});
    else if (pause < 0.5) await nextTurn();
  }
  const report = fault.crash({ tear: options.tear, seed: options.seed });
  // Let the syncs that were running fail (EIO) and the dead log settle; it is never used again.
  for (let turn = 0; turn < 5; turn++) await nextTurn();
  return { acknowledged: [...acknowledged], report, attempted: crashAfter };
}

function scenarios(): RunOptions[] {
  const list: RunOptions[] = [];
  const tears: TearMode[] = ["none", "prefix", "zeros"];
  for (const tear of tears) {
    for (let run = 0; run < runs; run++) {
      list.push({
        seed: baseSeed + list.length,
        tear,
        strictDirectories: run % 4 === 3,
        durability: (["flush.messages=1", "flush()", "flush.ms=2"] as const)[run % 3]!,
      });
    }
  }
  return list;
}

describe(`power loss on the fault-injecting file layer (${native.name}, base seed ${baseSeed})`, () => {
  for (const tear of ["none", "prefix", "zeros"] as const) {
    test(`tear=${tear}: ${runs} crashes (two in a row each), nothing acknowledged durable is lost`, async () => {
      for (const options of scenarios().filter((scenario) => scenario.tear === tear)) {
        const directory = mkdtempSync(join(tmpdir(), "runnel-power-"));
        directories.push(directory);
        const shape: WorkloadShape = { recordCount: 4, valueBytes: 200, seed: options.seed };
        const acknowledged: Acknowledgement[] = [];
        let firstBatch = 0;
        // Two crashes in a row: the second one hits a log that was itself recovered from a crash.
        for (let round = 0; round < 2; round++) {
          const fault = new FaultFs({ root: directory, inner: realFs, strictDirectories: options.strictDirectories });
          const run = await runUntilPowerLoss(directory, fault, shape, { ...options, seed: options.seed * 7 + round }, firstBatch);
          acknowledged.push(...run.acknowledged);
          const log = await openTestLog({ directory, config: { "segment.bytes": segmentBytes } });
          try {
            const result = verifyAgainstWorkload(log, directory, shape, acknowledged);
            const context = `seed ${options.seed} round ${round} (${JSON.stringify(options)}; ${run.attempted} appended, ${run.acknowledged.length} acknowledged, ${result.batches.length} recovered)`;
            if (result.problems.length > 0) throw new Error(`${context} in ${directory}: ${result.problems.slice(0, 8).join("; ")}`);
            firstBatch = result.nextBatchNumber;
            // The recovered log takes appends again, at the next offset.
            const endBefore = log.logEndOffset;
            const again = await log.append(workloadBatch(shape, firstBatch));
            expect(again.baseOffset).toBe(endBefore);
            await log.flush();
            await again.durable;
            acknowledged.push({ batchNumber: firstBatch, baseOffset: again.baseOffset });
            firstBatch++;
          } finally {
            await log.close();
          }
        }
        expect(acknowledged.length).toBeGreaterThan(0);
        finished(directory);
      }
    }, 120_000);
  }
});

describe(`power loss with the LogManager and its recovery checkpoints (${native.name}, base seed ${baseSeed})`, () => {
  // Segments below a checkpointed recovery point are trusted at open (not CRC-scanned), so a
  // recovery point that got ahead of what was really synced would let torn data through. Crash
  // with checkpoints written at random moments and check nothing acknowledged is lost and the log
  // is clean.
  const topic = "orders";
  const topicConfig = testTopicConfig({ "segment.bytes": segmentBytes, "flush.messages": 1 });
  const openManager = async (dataDir: string, fs: StorageFs) => {
    const manager = createLogManager({
      dataDir,
      brokerConfig: loadBrokerConfig().values,
      topicConfigFor: () => topicConfig,
      fs,
      backgroundTasks: false,
    });
    await manager.open();
    const log = await manager.create(topic, 0, topicConfig);
    return { manager, log };
  };

  test(`${runs} runs of 3 crashes with checkpoints in between, torn tails: nothing acknowledged durable is lost`, async () => {
    for (let run = 0; run < runs; run++) {
      const seed = baseSeed + 1000 + run;
      const random = prng(seed);
      const dataDir = mkdtempSync(join(tmpdir(), "runnel-power-manager-"));
      directories.push(dataDir);
      const partitionDir = join(dataDir, `${topic}-0`);
      const shape: WorkloadShape = { recordCount: 4, valueBytes: 200, seed };
      const acknowledged: Acknowledgement[] = [];
      let firstBatch = 0;
      for (let round = 0; round < 3; round++) {
        const fault = new FaultFs({ root: dataDir, inner: realFs });
        const { manager, log } = await openManager(dataDir, fault);
        const crashAfter = 10 + Math.floor(random() * 150);
        for (let index = 0; index < crashAfter; index++) {
          const batchNumber = firstBatch + index;
          const result = await log.append(workloadBatch(shape, batchNumber));
          result.durable.then(
            () => acknowledged.push({ batchNumber, baseOffset: result.baseOffset }),
            () => {},
          );
          const pause = random();
          if (pause < 0.08) void manager.writeCheckpoints();
          else if (pause < 0.16) await manager.writeCheckpoints();
          else if (pause < 0.3) await result.durable.catch(() => {});
          else if (pause < 0.6) await nextTurn();
        }
        fault.crash({ tear: random() < 0.5 ? "prefix" : "zeros", seed: seed * 3 + round });
        for (let turn = 0; turn < 5; turn++) await nextTurn();

        const reopened = await openManager(dataDir, realFs);
        try {
          const result = verifyAgainstWorkload(reopened.log, partitionDir, shape, acknowledged);
          if (result.problems.length > 0) {
            throw new Error(`seed ${seed} round ${round} (${crashAfter} appended): ${result.problems.slice(0, 8).join("; ")}`);
          }
          firstBatch = result.nextBatchNumber;
        } finally {
          await reopened.manager.close();
        }
      }
      finished(dataDir);
    }
  }, 120_000);
});

describe(`power loss after truncateTo (${native.name}, base seed ${baseSeed})`, () => {
  // Replication truncates a divergent tail and appends the leader's batches in its place. Once
  // truncateTo has resolved, a power loss must never bring the truncated batches back (the replica
  // would diverge again), and what was acknowledged durable after it must survive.
  test(`${runs} runs: truncated batches never come back, later durable appends survive`, async () => {
    const generation = 1_000_000; // batch numbers of the batches appended after the truncation
    for (let run = 0; run < runs; run++) {
      const seed = baseSeed + 2000 + run;
      const random = prng(seed);
      const directory = mkdtempSync(join(tmpdir(), "runnel-power-truncate-"));
      directories.push(directory);
      const shape: WorkloadShape = { recordCount: 4, valueBytes: 200, seed };
      const fault = new FaultFs({ root: directory, inner: realFs });
      const config = { "segment.bytes": segmentBytes, "flush.messages": 1 };
      const log = await openTestLog({ directory, fs: fault, config });
      const before = 20 + Math.floor(random() * 60);
      const acknowledged: Acknowledgement[] = [];
      for (let batchNumber = 0; batchNumber < before; batchNumber++) {
        const result = await log.append(workloadBatch(shape, batchNumber));
        await result.durable;
      }
      const keep = Math.floor(random() * before);
      await log.truncateTo(BigInt(keep * shape.recordCount));
      expect(log.logEndOffset).toBe(BigInt(keep * shape.recordCount));
      for (let batchNumber = 0; batchNumber < keep; batchNumber++) acknowledged.push({ batchNumber, baseOffset: BigInt(batchNumber * shape.recordCount) });
      const after = Math.floor(random() * 40);
      for (let index = 0; index < after; index++) {
        const batchNumber = generation + index;
        const result = await log.append(workloadBatch(shape, batchNumber));
        result.durable.then(
          () => acknowledged.push({ batchNumber, baseOffset: result.baseOffset }),
          () => {},
        );
        if (random() < 0.5) await nextTurn();
      }
      fault.crash({ tear: random() < 0.5 ? "prefix" : "none", seed });
      for (let turn = 0; turn < 5; turn++) await nextTurn();
      const reopened = await openTestLog({ directory, config: { "segment.bytes": segmentBytes } });
      try {
        const expectedNumber = (index: number) => (index < keep ? index : generation + index - keep);
        const result = verifyAgainstWorkload(reopened, directory, shape, acknowledged, 0, expectedNumber);
        if (result.problems.length > 0) {
          throw new Error(`seed ${seed} (${before} appended, truncated to ${keep} batches, ${after} appended after): ${result.problems.slice(0, 8).join("; ")}`);
        }
      } finally {
        await reopened.close();
      }
      finished(directory);
    }
  }, 120_000);
});
