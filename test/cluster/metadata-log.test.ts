// The local metadata log (src/cluster/local-metadata-log.ts) and the publisher (publisher.ts):
// records committed only once fsynced, delivered once and in order, replayed whole at start;
// the publisher applies them and awaits its listeners before the image moves.

import { afterEach, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalMetadataLog } from "../../src/cluster/local-metadata-log.ts";
import type { CommittedBatch } from "../../src/cluster/metadata-log.ts";
import { MetadataPublisher } from "../../src/cluster/publisher.ts";
import { record, type MetadataRecord } from "../../src/cluster/records.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import { realFs } from "../../src/storage/index.ts";
import { FaultFs } from "../../src/testing/fault-fs.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const brokerConfig = loadBrokerConfig({}).values;
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-metadata-"));
  directories.push(directory);
  return directory;
}

function topicRecords(name: string, partitions = 1): MetadataRecord[] {
  const topicId = randomUuid();
  return [
    record("TopicRecord", { name, topicId }),
    ...Array.from({ length: partitions }, (_, partitionId) => record("PartitionRecord", {
      partitionId, topicId, replicas: [1], isr: [1], removingReplicas: [], addingReplicas: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0,
    })),
  ];
}

async function open(dataDir: string, fs = realFs) {
  const log = await LocalMetadataLog.open({ dataDir, nodeId: 1, brokerConfig, fs, logger: recordingLogger() });
  const batches: CommittedBatch[] = [];
  log.onCommit((batch) => batches.push(batch));
  return { log, batches };
}

test("appends commit in order, each once; a restart replays them all with their offsets and epoch", async () => {
  const dataDir = fresh();
  let { log, batches } = await open(dataDir);
  await log.start();
  expect(log.committedOffset).toBe(-1n);
  expect(log.leader).toEqual({ leaderId: 1, epoch: 1 });
  // Three appends in flight at once: committed (and delivered) in append order.
  const offsets = await Promise.all([log.append(topicRecords("a", 2)), log.append(topicRecords("b")), log.append([record("NoOpRecord", {})])]);
  expect(offsets).toEqual([2n, 4n, 5n]);
  expect(batches.map((batch) => [batch.baseOffset, batch.lastOffset])).toEqual([[0n, 2n], [3n, 4n], [5n, 5n]]);
  const before = batches.map((batch) => batch.records);
  await log.close();
  expect(existsSync(join(dataDir, "__cluster_metadata-0"))).toBe(true);

  ({ log, batches } = await open(dataDir));
  await log.start();
  expect(log.committedOffset).toBe(5n);
  expect(batches.map((batch) => batch.records)).toEqual(before);
  expect(batches.every((batch) => batch.epoch === 1)).toBe(true);
  expect(await log.append([record("NoOpRecord", {})])).toBe(6n);
  await log.close();
});

test("nothing counts as committed before its fdatasync: a failed sync rejects the append and delivers nothing", async () => {
  const dataDir = fresh();
  const fs = new FaultFs({ root: dataDir, inner: realFs });
  const { log, batches } = await open(dataDir, fs);
  await log.start();
  await log.append(topicRecords("kept"));
  fs.inject = (operation) => (operation === "datasync" ? "EIO" : null);
  await expect(log.append(topicRecords("lost"))).rejects.toThrow(/EIO|storage/i);
  expect(batches.length).toBe(1);
  expect(log.committedOffset).toBe(1n);
  fs.inject = null;
  await log.close().catch(() => {});
});

test("a damaged record stops the start with its offset; a torn tail is cut by recovery", async () => {
  const dataDir = fresh();
  const { log } = await open(dataDir);
  await log.start();
  await log.append(topicRecords("a"));
  await log.close();
  const directory = join(dataDir, "__cluster_metadata-0");
  const segment = join(directory, readdirSync(directory).find((name) => name.endsWith(".log"))!);
  appendFileSync(segment, new Uint8Array(40).fill(7)); // a torn write after the last batch
  let opened = await open(dataDir);
  await opened.log.start();
  expect(opened.batches.length).toBe(1);
  await opened.log.close();
  // A batch whose record is not a metadata record: refused by name and offset.
  const { encodeBatch } = await import("../../src/protocol/record-batch.ts");
  const { native } = await import("../../src/native/index.ts");
  const foreign = encodeBatch([{ offset: 0n, timestamp: 1n, key: null, value: new TextEncoder().encode("{\"type\":\"Nope\"}"), headers: new Uint8Array([0]) }]);
  new DataView(foreign.buffer, foreign.byteOffset).setBigInt64(0, 2n);
  appendFileSync(segment, foreign);
  opened = await open(dataDir);
  await expect(opened.log.start()).rejects.toThrow(/offset 2.*unknown record type/);
  await opened.log.close();
});

test("the publisher applies committed records, awaits its listeners in order, then publishes", async () => {
  const dataDir = fresh();
  const { log } = await open(dataDir);
  const publisher = new MetadataPublisher(log, recordingLogger());
  const seen: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  publisher.subscribe("first", async (image, delta) => {
    seen.push(`first:${image.offset}:${[...delta.createdTopics].length}`);
    if (image.offset === 4n) await gate;
  });
  publisher.subscribe("second", (image) => void seen.push(`second:${image.offset}`));
  await log.start();
  await log.append(topicRecords("a"));
  await publisher.waitForPublished(1n);
  expect(publisher.image.topicsByName.has("a")).toBe(true);
  // While a listener is busy the published image stays where it was.
  const appended = log.append([...topicRecords("b"), record("NoOpRecord", {})]);
  await appended;
  expect(publisher.image.offset).toBe(1n);
  expect(publisher.image.topicsByName.has("b")).toBe(false);
  const published = publisher.waitForPublished(4n);
  release();
  await published;
  expect(publisher.image.topicsByName.has("b")).toBe(true);
  expect(seen).toEqual(["first:1:1", "second:1", "first:4:1", "second:4"]);
  await publisher.close();
  await log.close();
});

test("at start the whole log is published once, with the union of the deltas", async () => {
  const dataDir = fresh();
  let { log } = await open(dataDir);
  await log.start();
  for (const name of ["a", "b", "c"]) await log.append(topicRecords(name, 2));
  await log.close();
  ({ log } = await open(dataDir));
  const publisher = new MetadataPublisher(log, recordingLogger());
  const calls: number[] = [];
  publisher.subscribe("count", (_image, delta) => void calls.push(delta.createdTopics.size));
  await log.start();
  await publisher.waitForPublished(log.committedOffset);
  expect(calls).toEqual([3]);
  expect([...publisher.image.topicsByName.keys()].sort()).toEqual(["a", "b", "c"]);
  await publisher.close();
  await log.close();
});
