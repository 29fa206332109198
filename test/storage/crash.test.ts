// Crash tests with real processes: a writer (test/storage/writer-process.ts) appends to a log and
// prints every acknowledged batch; we kill -9 it at a random point, reopen the log here (recovery)
// and check that every batch ever acknowledged is intact, byte for byte, at its offset, and that
// nothing after the cut is garbage (the log is an exact prefix of what was appended). Then the
// next writer continues on the recovered log, so recovery is also tested on logs that were
// recovered before.
//
// `kill -9` leaves the page cache alive: "appended" acks must survive it just like "durable" ones.
// Power loss (where only synced bytes survive) is test/storage/power-loss.test.ts.
//
// The whole test/storage/ folder runs twice in CI, natively and with RUNNEL_NATIVE=0; the writer
// inherits the variable, so both implementations are crashed.
//
// RUNNEL_CRASH_ITERATIONS (default 10) kills per mode (20 per implementation); RUNNEL_CRASH_SEED replays a run.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { managerTopic, openTestLog, openTestManager, verifyAgainstWorkload, type Acknowledgement, type WorkloadShape } from "../../src/testing/log-harness.ts";
import { spawnLines } from "../../src/testing/processes.ts";
import { prng } from "../../src/testing/record-batches.ts";
import { setLogLevel } from "../../src/util/logger.ts";

// Recovery logs what it cuts; expected here. Keep quiet unless asked.
if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("error");

const iterations = Number(process.env.RUNNEL_CRASH_ITERATIONS ?? 10);
const seed = Number(process.env.RUNNEL_CRASH_SEED ?? Date.now() % 1_000_000);
const writerScript = join(import.meta.dir, "writer-process.ts");
const directories: string[] = [];

afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function parseAck(line: string): Acknowledgement | null {
  const match = /^ack (\d+) (\d+)$/.exec(line);
  return match ? { batchNumber: Number(match[1]), baseOffset: BigInt(match[2]!) } : null;
}

interface Mode {
  name: string;
  ack: "appended" | "durable";
  flushMessages?: number;
  /** Through the LogManager: checkpoint files written every 20 ms, clean-shutdown marker. */
  manager?: boolean;
}

const modes: Mode[] = [
  { name: "appended acks, no flush", ack: "appended" },
  { name: "durable acks, flush.messages=1, 8 in flight", ack: "durable", flushMessages: 1 },
  { name: "LogManager with checkpoints every 20 ms, appended acks", ack: "appended", manager: true },
];

const nap = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe(`kill -9 the writer and recover (${native.name}, seed ${seed})`, () => {
  for (const mode of modes) {
    test(`${mode.name}: ${iterations} kills, every acknowledged batch intact, clean after the cut`, async () => {
      const directory = mkdtempSync(join(tmpdir(), "runnel-crash-"));
      directories.push(directory);
      const shape: WorkloadShape = { recordCount: 8, valueBytes: 100, seed };
      const random = prng(seed);
      const acknowledged: Acknowledgement[] = [];
      let nextBatch = 0;
      for (let iteration = 0; iteration < iterations; iteration++) {
        const args = ["--dir", directory, "--ack", mode.ack, "--first-batch", String(nextBatch), "--seed", String(seed), "--segment-bytes", "65536"];
        if (mode.flushMessages !== undefined) args.push("--flush-messages", String(mode.flushMessages));
        if (mode.manager) args.push("--manager", "--checkpoint-ms", "20");
        const writer = spawnLines([process.execPath, writerScript, ...args]);
        const when = random();
        if (when < 0.15) {
          // A kill at a random moment of the start: often in the middle of recovering the log
          // (cutting a tail, rebuilding indexes), which the next recovery must survive.
          await Promise.race([nap(random() * 250), writer.waitForLine((line) => line.startsWith("ack ")).catch(() => {})]);
        } else {
          await writer.waitForLine((line) => line.startsWith("ready "));
          // Kill after a random number of acks (sometimes none: right after recovery).
          const acksBeforeKill = when < 0.25 ? 0 : 1 + Math.floor(random() * 150);
          if (acksBeforeKill > 0) {
            await writer.waitForLine((line) => (parseAck(line)?.batchNumber ?? -1) >= nextBatch + acksBeforeKill - 1);
          }
        }
        await writer.kill9();
        const stderr = await writer.stderr();
        expect(writer.lines.includes("done"), "the writer must still be running when killed").toBe(false);
        const acks = writer.lines.map(parseAck).filter((ack): ack is Acknowledgement => ack !== null);
        acknowledged.push(...acks);

        const config = { "segment.bytes": 65536 };
        const log = mode.manager ? await openTestManager(directory, config) : await openTestLog({ directory, config });
        const partitionDirectory = mode.manager ? join(directory, `${managerTopic}-0`) : directory;
        try {
          const result = verifyAgainstWorkload(log, partitionDirectory, shape, acknowledged);
          if (result.problems.length > 0) {
            throw new Error(`iteration ${iteration} (seed ${seed}): ${result.problems.slice(0, 10).join("; ")}\nwriter stderr: ${stderr.slice(-2000)}`);
          }
          nextBatch = result.nextBatchNumber;
        } finally {
          await log.close();
        }
      }
      expect(acknowledged.length).toBeGreaterThan(0);
      // Sanity: the log holds at least every acknowledged batch.
      expect(nextBatch).toBeGreaterThanOrEqual(acknowledged.length);
    }, 300_000);
  }
});
