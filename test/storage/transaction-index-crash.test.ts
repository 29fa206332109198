// kill -9 of a process writing transactions (test/storage/txn-writer-process.ts) at random points,
// several times over one log: after each restart the aborted transactions read_committed Fetch
// answers (from the `.txnindex` files, recovered) are exactly those acknowledged, plus at most
// ones whose marker was appended after the last acknowledgement; at the end, rebuilding every
// index file from the log alone gives the same answer.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig, topicDefaults } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { openPartitionLog } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import { spawnLines } from "../../src/testing/processes.ts";

const writerScript = join(import.meta.dir, "txn-writer-process.ts");
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

interface Acknowledged {
  producerId: bigint;
  /** Unknown when the transaction's first batch was appended but not acknowledged before a kill. */
  firstOffset: bigint | null;
  lastOffset: bigint;
}

const config = { ...topicDefaults(loadBrokerConfig().values), "segment.bytes": 2048 };
const openLog = (dataDir: string) => openPartitionLog({ dataDir, topic: "txn", partition: 0, config, native, producerState: new PartitionProducerState() });

test("kill -9 while writing transactions: the recovered .txnindex files answer every acknowledged abort", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-txnindex-crash-"));
  directories.push(dataDir);
  const aborted: Acknowledged[] = [];
  const open = new Map<bigint, bigint>();
  let lastAcknowledged = -1n;
  for (let run = 0; run < 4; run++) {
    const writer = spawnLines([process.execPath, writerScript, "--dir", dataDir, "--epoch", String(run), "--seed", "3"]);
    await writer.waitForLine((line) => line.startsWith("ready "));
    const stopAfter = 20 + run * 17;
    await writer.waitForLine((line) => line.startsWith("abort ") && writer.lines.filter((one) => one.startsWith("abort ")).length >= stopAfter);
    await writer.kill9();
    // Anything appended but not acknowledged before the kill is unknown to the model: a transaction
    // whose first batch was not acknowledged has an unknown first offset.
    open.clear();
    for (const line of writer.lines) {
      const [kind, producer, offsetText] = line.split(" ");
      if (kind === "ready") continue;
      const producerId = BigInt(producer!);
      const offset = BigInt(offsetText!);
      lastAcknowledged = offset;
      if (kind === "data") {
        if (!open.has(producerId)) open.set(producerId, offset);
      } else {
        if (kind === "abort") aborted.push({ producerId, firstOffset: open.get(producerId) ?? null, lastOffset: offset });
        open.delete(producerId);
      }
    }

    const log = await openLog(dataDir);
    try {
      expect(log.segmentCount).toBeGreaterThan(3);
      const found = log.abortedTransactions(0n, log.logEndOffset + 1n);
      const acknowledged = found.filter((entry) => entry.lastOffset <= lastAcknowledged);
      expect(acknowledged.map((entry) => [entry.producerId, entry.lastOffset])).toEqual(aborted.map((entry) => [entry.producerId, entry.lastOffset]));
      for (const [index, entry] of aborted.entries()) if (entry.firstOffset !== null) expect(acknowledged[index]!.firstOffset).toBe(entry.firstOffset);
      // Markers appended after the last acknowledgement survive the kill (the page cache does): they are recorded too.
      for (const extra of found.slice(acknowledged.length)) aborted.push(extra);
      lastAcknowledged = log.logEndOffset - 1n;
    } finally {
      await log.close();
    }
  }
  expect(aborted.length).toBeGreaterThan(60);

  // Every index file and producer snapshot gone: rebuilt from the log alone, the same answer.
  const before = await openLog(dataDir);
  const answer = before.abortedTransactions(0n, before.logEndOffset + 1n);
  await before.close();
  const partitionDirectory = join(dataDir, "txn-0");
  for (const name of readdirSync(partitionDirectory).filter((file) => file.endsWith(".txnindex") || file.endsWith(".snapshot"))) unlinkSync(join(partitionDirectory, name));
  const rebuilt = await openLog(dataDir);
  expect(rebuilt.abortedTransactions(0n, rebuilt.logEndOffset + 1n)).toEqual(answer);
  await rebuilt.close();
}, 60_000);
