// Bad input on disk: bit flips, truncated files, zero-filled tails, deleted and corrupted index
// files. Semantics (storage/damage.ts): recovery verifies every batch from the recovery point on
// (here 0: no checkpoint, so every segment). What a crash leaves — a torn, short or zero-filled end
// of the unflushed log, nothing valid after it — is cut, and later segments after such a hole are
// deleted (Kafka's recovery); what is before the cut stays readable byte for byte, the log is clean
// after the cut, and it takes appends again. Damage a crash cannot leave (a whole batch with a wrong
// CRC or magic, anything followed by valid batches) and any damage below the recovery point is
// kept: that batch answers CORRUPT_MESSAGE, every other one is served, nothing else is deleted.
// Index files are derived data: missing or damaged ones are rebuilt.
//
// Segments below a recovery checkpoint are trusted (not CRC-scanned), as in Kafka; a bit flip there
// is the consumer's CRC check to catch. That case is documented at the end of this file.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, appendFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../src/native/index.ts";
import { managerTopic, openTestLog, openTestManager, readAllBatches, verifyAgainstWorkload, verifyAroundDamage, workloadBatch, type Acknowledgement, type TestLog, type WorkloadShape } from "../../src/testing/log-harness.ts";
import { segmentNames } from "../../src/testing/log-files.ts";
import { batchCrcValid, batchTimestampMs, prng } from "../../src/testing/record-batches.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { readBatchHeader } from "../../src/protocol/record-batch.ts";
import { setLogLevel } from "../../src/util/logger.ts";

if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("error");

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const segmentBytes = 16 * 1024;
const shape: WorkloadShape = { recordCount: 4, valueBytes: 200, seed: 11 };
const config = { "segment.bytes": segmentBytes };

function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-bad-input-"));
  directories.push(directory);
  return directory;
}

/** A closed log of `count` batches over several segments; returns the acknowledgements. */
async function writeLog(directory: string, count: number): Promise<Acknowledgement[]> {
  const log = await openTestLog({ directory, config });
  const acks: Acknowledgement[] = [];
  for (let batchNumber = 0; batchNumber < count; batchNumber++) {
    const result = await log.append(workloadBatch(shape, batchNumber));
    acks.push({ batchNumber, baseOffset: result.baseOffset });
  }
  await log.close();
  return acks;
}

interface BatchLocation {
  segment: string;
  position: number;
  size: number;
  batchNumber: number;
}

/** Where each batch sits on disk (computed from the batch sizes: the files hold them back to back). */
function locate(directory: string): BatchLocation[] {
  const locations: BatchLocation[] = [];
  let batchNumber = 0;
  for (const segment of segmentNames(directory)) {
    const bytes = readFileSync(join(directory, segment));
    let position = 0;
    while (position + 12 <= bytes.length) {
      const size = bytes.readInt32BE(position + 8) + 12;
      if (size <= 12) break;
      locations.push({ segment, position, size, batchNumber });
      position += size;
      batchNumber++;
    }
  }
  return locations;
}

function flipBit(path: string, byte: number, bit: number): void {
  const bytes = readFileSync(path);
  bytes[byte]! ^= 1 << bit;
  writeFileSync(path, bytes);
}

async function reopenAndCheck(directory: string, acks: Acknowledgement[], expectedBatches: number): Promise<TestLog> {
  const log = await openTestLog({ directory, config });
  const survivors = acks.slice(0, expectedBatches);
  const result = verifyAgainstWorkload(log, directory, shape, survivors);
  if (result.problems.length > 0) {
    await log.close();
    throw new Error(result.problems.slice(0, 8).join("; "));
  }
  expect(result.batches.length).toBe(expectedBatches);
  expect(log.logEndOffset).toBe(expectedBatches === 0 ? 0n : acks[expectedBatches - 1]!.baseOffset + BigInt(shape.recordCount));
  return log;
}

/**
 * Reopen a log with one damaged batch that recovery must keep: the log end is unchanged, every
 * segment file is still there, every other batch reads back byte for byte, the damaged one answers
 * CORRUPT_MESSAGE, and appends continue at the end.
 */
async function reopenAroundDamage(directory: string, acks: Acknowledgement[], victim: number, recoveryPoint = 0n): Promise<void> {
  const segmentsBefore = segmentNames(directory);
  const log = await openTestLog({ directory, config, recoveryPoint });
  try {
    expect(verifyAroundDamage(log, shape, acks, new Set([victim]))).toEqual([]);
    expect(log.logEndOffset).toBe(acks.at(-1)!.baseOffset + BigInt(shape.recordCount));
    expect(segmentNames(directory)).toEqual(segmentsBefore);
    await appendsAgain(log, acks.length);
  } finally {
    await log.close();
  }
}

/** The recovered log takes an append at its log end offset, and it reads back. */
async function appendsAgain(log: TestLog, batchNumber: number): Promise<void> {
  const end = log.logEndOffset;
  const result = await log.append(workloadBatch(shape, batchNumber));
  expect(result.baseOffset).toBe(end);
  const read = log.read(end, 1 << 20);
  try {
    expect(readBatchHeader(read.chunks[0]!, 0).baseOffset).toBe(end);
  } finally {
    read.release();
  }
}

describe(`bad input on disk (${native.name})`, () => {
  test("bit flips inside the CRC-covered bytes of a sealed segment: that batch answers CORRUPT_MESSAGE, nothing is cut or deleted", async () => {
    const random = prng(5);
    for (let trial = 0; trial < 6; trial++) {
      const directory = freshDirectory();
      const acks = await writeLog(directory, 80);
      const locations = locate(directory);
      const segments = segmentNames(directory);
      expect(segments.length).toBeGreaterThan(3);
      // A batch in the middle of a sealed (not the last) segment.
      const sealed = locations.filter((location) => location.segment !== segments.at(-1));
      const victim = sealed[Math.floor(sealed.length / 4 + random() * (sealed.length / 2))]!;
      const byte = victim.position + 21 + Math.floor(random() * (victim.size - 21));
      flipBit(join(directory, victim.segment), byte, Math.floor(random() * 8));
      await reopenAroundDamage(directory, acks, victim.batchNumber);
    }
  });

  test("the last batch of a sealed segment with a flipped bit: kept as damage too (a crash never leaves a whole batch with a bad CRC)", async () => {
    const directory = freshDirectory();
    const acks = await writeLog(directory, 60);
    const segments = segmentNames(directory);
    const victim = locate(directory).filter((location) => location.segment === segments[1]).at(-1)!;
    flipBit(join(directory, victim.segment), victim.position + victim.size - 10, 3);
    await reopenAroundDamage(directory, acks, victim.batchNumber);
  });

  test("a flipped length or magic byte in a sealed segment: that batch answers CORRUPT_MESSAGE, the batches after it are found again", async () => {
    for (const [field, byte, bit] of [["batchLength", 9, 6], ["batchLength", 8, 7], ["magic", 16, 0]] as const) {
      const directory = freshDirectory();
      const acks = await writeLog(directory, 60);
      const victim = locate(directory).find((location) => location.segment === segmentNames(directory)[1] && location.position > 0)!;
      flipBit(join(directory, victim.segment), victim.position + byte, bit);
      await reopenAroundDamage(directory, acks, victim.batchNumber).catch((error: Error) => {
        throw new Error(`${field}: ${error.message}`);
      });
    }
  });

  test("a sealed segment truncated in the middle of a batch, no recovery checkpoint (unflushed): cut there, later segments deleted", async () => {
    const directory = freshDirectory();
    const acks = await writeLog(directory, 60);
    const victim = locate(directory).find((location) => location.segment === segmentNames(directory)[1] && location.position > 0)!;
    truncateSync(join(directory, victim.segment), victim.position + Math.floor(victim.size / 2));
    const log = await reopenAndCheck(directory, acks, victim.batchNumber);
    await appendsAgain(log, victim.batchNumber);
    await log.close();
  });

  test("a sealed segment truncated in the middle of a batch below the recovery point (flushed): nothing deleted, the lost batches answer CORRUPT_MESSAGE", async () => {
    const directory = freshDirectory();
    const acks = await writeLog(directory, 60);
    const segments = segmentNames(directory);
    const inSegment = locate(directory).filter((location) => location.segment === segments[1]);
    const victim = inSegment[2]!;
    truncateSync(join(directory, victim.segment), victim.position + Math.floor(victim.size / 2));
    const lost = new Set(inSegment.slice(2).map((location) => location.batchNumber));
    const log = await openTestLog({ directory, config, recoveryPoint: acks.at(-1)!.baseOffset + BigInt(shape.recordCount) });
    try {
      expect(segmentNames(directory)).toEqual(segments);
      // The batches whose bytes are gone answer CORRUPT_MESSAGE (the file still holds part of them:
      // a damaged tail); the segments after it serve every record.
      expect(verifyAroundDamage(log, shape, acks, lost)).toEqual([]);
      await appendsAgain(log, acks.length);
    } finally {
      await log.close();
    }
  });

  test("the active segment truncated mid-batch, or to less than a header: the partial batch is cut", async () => {
    for (const keep of [7, 30, 61, 200]) {
      const directory = freshDirectory();
      const acks = await writeLog(directory, 40);
      const locations = locate(directory);
      const last = locations.at(-1)!;
      truncateSync(join(directory, last.segment), last.position + keep);
      const log = await reopenAndCheck(directory, acks, last.batchNumber);
      await log.close();
    }
  });

  test("a zero-filled tail after the last batch is cut (and so is a zero-filled hole in place of a batch)", async () => {
    const directory = freshDirectory();
    const acks = await writeLog(directory, 40);
    const active = join(directory, segmentNames(directory).at(-1)!);
    appendFileSync(active, new Uint8Array(10_000));
    let log = await reopenAndCheck(directory, acks, 40);
    await log.close();
    expect(statSync(active).size).toBeLessThan(segmentBytes); // the zeros were cut from the file
    // Zero the last two batches in place (the file keeps its length).
    const locations = locate(directory);
    const victim = locations.at(-2)!;
    const bytes = readFileSync(active);
    bytes.fill(0, victim.position);
    writeFileSync(active, bytes);
    log = await reopenAndCheck(directory, acks, victim.batchNumber);
    await appendsAgain(log, victim.batchNumber);
    await log.close();
  });

  test("garbage after the last batch is cut; the log is clean on disk afterwards", async () => {
    const directory = freshDirectory();
    const acks = await writeLog(directory, 30);
    const active = join(directory, segmentNames(directory).at(-1)!);
    const random = prng(9);
    appendFileSync(active, Uint8Array.from({ length: 3000 }, () => Math.floor(random() * 256)));
    const log = await reopenAndCheck(directory, acks, 30);
    await appendsAgain(log, 30);
    await log.close();
  });

  test("a deleted active segment file: the log restarts at the end of the previous segment", async () => {
    const directory = freshDirectory();
    const acks = await writeLog(directory, 60);
    const segments = segmentNames(directory);
    const lastSegment = segments.at(-1)!;
    const firstInLast = locate(directory).find((location) => location.segment === lastSegment)!;
    unlinkSync(join(directory, lastSegment));
    const log = await reopenAndCheck(directory, acks, firstInLast.batchNumber);
    await appendsAgain(log, firstInLast.batchNumber);
    await log.close();
  });
});

describe(`damaged index files are rebuilt (${native.name})`, () => {
  const damages: [string, (path: string) => void][] = [
    ["deleted", (path) => unlinkSync(path)],
    ["truncated to an odd length", (path) => truncateSync(path, Math.max(0, statSync(path).size - 3))],
    ["zero-filled", (path) => writeFileSync(path, new Uint8Array(statSync(path).size))],
    [
      "random bytes",
      (path) => {
        const random = prng(3);
        writeFileSync(path, Uint8Array.from({ length: Math.max(24, statSync(path).size) }, () => Math.floor(random() * 256)));
      },
    ],
    [
      "entries pointing to wrong positions",
      (path) => {
        const bytes = readFileSync(path);
        // Offset index entries: int32 relative offset, int32 position. Shift every position by 5.
        if (path.endsWith(".index")) for (let at = 0; at + 8 <= bytes.length; at += 8) bytes.writeInt32BE(bytes.readInt32BE(at + 4) + 5, at + 4);
        writeFileSync(path, bytes);
      },
    ],
  ];
  for (const [what, damage] of damages) {
    for (const trusted of [false, true]) {
      const name = `${what}, ${trusted ? "segments below the recovery point (index trusted)" : "no recovery point (all scanned)"}: every offset reads its own batch`;
      // A trusted index whose entries are well-formed but point to wrong positions must not make
      // reads return nothing or the wrong batch (Kafka's load-time sanity check would miss it).
      test(name, async () => {
        const directory = freshDirectory();
        const acks = await writeLog(directory, 80);
        const indexes = segmentNames(directory).flatMap((name) => [name.replace(".log", ".index"), name.replace(".log", ".timeindex")]);
        for (const name of indexes) if (existsSync(join(directory, name))) damage(join(directory, name));
        const endOffset = acks.at(-1)!.baseOffset + BigInt(shape.recordCount);
        const log = await openTestLog({ directory, config, recoveryPoint: trusted ? endOffset : 0n });
        try {
          const result = verifyAgainstWorkload(log, directory, shape, acks);
          expect(result.problems).toEqual([]);
          // Point reads through the index: each batch's first and last offsets.
          for (const ack of acks) {
            for (const offset of [ack.baseOffset, ack.baseOffset + BigInt(shape.recordCount - 1)]) {
              const read = log.read(offset, 1);
              try {
                expect(read.chunks.length).toBeGreaterThan(0);
                const first = read.chunks[0]!;
                expect(new DataView(first.buffer, first.byteOffset).getBigInt64(0)).toBe(ack.baseOffset);
              } finally {
                read.release();
              }
            }
          }
          // Time index: batch n's records carry batchTimestampMs(n) + 0 … 3.
          for (const probe of [acks[0]!, acks[50]!, acks.at(-1)!]) {
            expect(log.offsetForTimestamp(batchTimestampMs(probe.batchNumber))?.offset).toBe(probe.baseOffset);
          }
        } finally {
          await log.close();
        }
      });
    }
  }
});

describe(`after a clean shutdown, segments below the recovery point are trusted (${native.name})`, () => {
  // Kafka's semantics, kept by the storage layer: a cleanly closed log is not re-verified at open,
  // so damage inside old segments is not cut. What we require then: the damage stays contained —
  // the other batches read back intact, and a read of a damaged spot either returns the bytes as
  // stored (the client's CRC check rejects them) or throws a KafkaError; it never throws a
  // programmer error (AssertionError) and never returns nothing below the log end offset (a
  // consumer would spin on that offset forever).
  async function damagedTrustedLog(byteInBatch: number, bit: number) {
    const dataDir = freshDirectory();
    let log = await openTestManager(dataDir, config);
    for (let batchNumber = 0; batchNumber < 80; batchNumber++) await log.append(workloadBatch(shape, batchNumber));
    await log.close();
    const directory = join(dataDir, `${managerTopic}-0`);
    const inSecond = locate(directory).filter((location) => location.segment === segmentNames(directory)[1]);
    const [previous, victim] = [inSecond[2]!, inSecond[3]!];
    flipBit(join(directory, victim.segment), victim.position + byteInBatch, bit);
    log = await openTestManager(dataDir, config);
    return { log, victim, previous, directory };
  }

  /** Read every offset on its own; collect what is wrong, and the offsets answered with an error. */
  function readEveryOffset(log: Awaited<ReturnType<typeof openTestManager>>): string[] {
    return readEachOffset(log).problems;
  }

  function readEachOffset(log: Awaited<ReturnType<typeof openTestManager>>): { problems: string[]; refused: bigint[] } {
    const problems: string[] = [];
    const refused: bigint[] = [];
    for (let offset = log.logStartOffset; offset < log.logEndOffset; offset++) {
      try {
        const read = log.read(offset, 1);
        try {
          if (read.bytes === 0) problems.push(`read(${offset}) returned nothing below the log end offset ${log.logEndOffset}`);
        } finally {
          read.release();
        }
      } catch (error) {
        if (!(error instanceof KafkaError)) problems.push(`read(${offset}) threw ${String(error).slice(0, 120)}`);
        else if (error.code !== ErrorCode.CORRUPT_MESSAGE) problems.push(`read(${offset}) answered ${error.message}`);
        else refused.push(offset);
      }
    }
    return { problems, refused };
  }

  /**
   * Damage in a header the read path walks: the damaged batch's offsets answer CORRUPT_MESSAGE
   * (only offsets of its segment do, from it up to at most the next offset index entry), a read
   * from the batch before it stops short of it, and every other offset reads.
   */
  async function expectContained(byteInBatch: number, bit: number): Promise<void> {
    const { log, victim, previous, directory } = await damagedTrustedLog(byteInBatch, bit);
    try {
      const { problems, refused } = readEachOffset(log);
      expect(problems).toEqual([]);
      const victimBase = BigInt(victim.batchNumber * shape.recordCount);
      const segmentBases = segmentNames(directory).map((name) => BigInt(name.slice(0, 20)));
      for (let offset = victimBase; offset < victimBase + BigInt(shape.recordCount); offset++) expect(refused).toContain(offset);
      for (const offset of refused) expect(offset >= victimBase && offset < segmentBases[2]!).toBe(true);
      // A read from the batch before stops short of the damaged one.
      const before = log.read(victimBase - 1n, 1 << 20);
      try {
        expect(before.chunks.length).toBe(1);
        expect(before.bytes).toBe(victim.position - previous.position);
        expect(readBatchHeader(before.chunks[0]!, 0).baseOffset).toBe(BigInt(previous.batchNumber * shape.recordCount));
      } finally {
        before.release();
      }
      // Later segments read on.
      const after = log.read(segmentBases[2]!, 1 << 20);
      try {
        expect(after.bytes).toBeGreaterThan(0);
      } finally {
        after.release();
      }
    } finally {
      await log.close();
    }
  }

  test("a flipped payload bit: not cut at open; found by the CRC check of its first read, that batch answers CORRUPT_MESSAGE, every other batch is served", async () => {
    // Before: the batch was served with its bad CRC (a consumer-side error) and never reported.
    const { log, victim } = await damagedTrustedLog(200, 3);
    try {
      expect(log.logEndOffset).toBe(320n);
      const { problems, refused } = readEachOffset(log);
      expect(problems).toEqual([]);
      const victimBase = BigInt(victim.batchNumber * shape.recordCount);
      expect(refused).toEqual(Array.from({ length: shape.recordCount }, (_, index) => victimBase + BigInt(index)));
      const acks = Array.from({ length: 80 }, (_, batchNumber) => ({ batchNumber, baseOffset: BigInt(batchNumber * shape.recordCount) }));
      expect(verifyAroundDamage(log, shape, acks, new Set([victim.batchNumber]))).toEqual([]);
    } finally {
      await log.close();
    }
  });

  // A length, magic byte or base offset damaged in a trusted segment: the read path checks the
  // headers it walks (not the CRC) and answers CORRUPT_MESSAGE for the damaged batch; reads before
  // it stop short of it, reads elsewhere are served. (Before the checks: an AssertionError "read
  // beyond the segment's size", resp. an empty read below the log end offset.)
  test("a flipped batchLength bit: reads return data or a KafkaError, never an AssertionError", async () => {
    const { log } = await damagedTrustedLog(9, 5);
    try {
      expect(readEveryOffset(log)).toEqual([]);
    } finally {
      await log.close();
    }
  });

  test("a flipped baseOffset bit (outside the CRC): no offset below the log end reads as empty", async () => {
    const { log } = await damagedTrustedLog(6, 2);
    try {
      expect(readEveryOffset(log)).toEqual([]);
    } finally {
      await log.close();
    }
  });

  // Each damage to a walked header field: length (larger, and smaller than a header), base offset
  // (far up, and to below the previous batch's), last offset delta, magic byte. Not covered: a base
  // offset flipped up by less than the batch's distance to the next one stays between its
  // neighbours; it is served as stored and caught only when a walk passes from it to the next batch.
  for (const [field, byte, bit] of [
    ["batchLength up", 9, 5],
    ["batchLength down", 10, 7],
    ["baseOffset up", 6, 2],
    ["baseOffset down", 7, 2],
    ["lastOffsetDelta", 25, 4],
    ["magic", 16, 2],
  ] as const) {
    test(`a flipped ${field} bit: CORRUPT_MESSAGE for the damaged batch only, reads stop short of it`, async () => {
      await expectContained(byte, bit);
    });
  }
});
