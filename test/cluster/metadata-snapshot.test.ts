// Snapshots of the metadata image (src/cluster/metadata-snapshot.ts, snapshotter.ts) and how the
// local metadata log starts from them (local-metadata-log.ts): an image survives the trip through
// records and a snapshot file; a damaged file in any way is refused; damage to either the log or
// the newest snapshot alone loses no committed record; damage to records no snapshot holds stops
// the start.

import { afterEach, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyRecords, emptyImage, type MetadataImage } from "../../src/cluster/image.ts";
import { LocalMetadataLog, MetadataLogDamagedError } from "../../src/cluster/local-metadata-log.ts";
import { decodeSnapshot, encodeSnapshot, imageRecords, listSnapshots } from "../../src/cluster/metadata-snapshot.ts";
import { MetadataPublisher } from "../../src/cluster/publisher.ts";
import { record, type MetadataRecord } from "../../src/cluster/records.ts";
import { MetadataSnapshotter } from "../../src/cluster/snapshotter.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { batchesIn } from "../../src/protocol/record-batch.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const brokerConfig = loadBrokerConfig({}).values;
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-snapshot-"));
  directories.push(directory);
  return directory;
}

function topicRecords(name: string, partitions = 1, configs: Record<string, string> = {}): MetadataRecord[] {
  const topicId = randomUuid();
  return [
    record("TopicRecord", { name, topicId }),
    ...Object.entries(configs).map(([key, value]) => record("ConfigRecord", { resourceType: 2, resourceName: name, name: key, value })),
    ...Array.from({ length: partitions }, (_, partitionId) => record("PartitionRecord", {
      partitionId, topicId, replicas: [1], isr: [1], removingReplicas: [], addingReplicas: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0,
    })),
  ];
}

const broker = (brokerId: number, brokerEpoch: bigint) => record("RegisterBrokerRecord", {
  brokerId, incarnationId: randomUuid(), brokerEpoch, rack: brokerId === 2 ? "r2" : null, fenced: brokerId === 2, inControlledShutdown: false,
  cleanShutdown: true, endPoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9000 + brokerId, securityProtocol: 0 }],
});

/** What an image holds, as plain data (offset and epoch aside). */
function contents(image: MetadataImage) {
  return {
    brokers: [...image.brokers.values()].sort((left, right) => left.id - right.id),
    topics: [...image.topicsByName.values()].sort((left, right) => left.name.localeCompare(right.name)),
    ids: [...image.topicsById.keys()].sort(),
    brokerConfigs: Object.fromEntries(image.brokerConfigs),
    nextProducerId: image.nextProducerId,
  };
}

function variedImage(): MetadataImage {
  const gone = topicRecords("gone", 2);
  const orders = topicRecords("orders", 3, { "retention.ms": "1000", "cleanup.policy": "compact" });
  const ordersId = (orders[0]!.data as { topicId: string }).topicId;
  return applyRecords(emptyImage, [
    broker(1, 0n), broker(2, 1n),
    ...orders, ...gone, ...topicRecords("__consumer_offsets", 2),
    record("PartitionChangeRecord", { partitionId: 1, topicId: ordersId, leader: -1 }),
    record("PartitionChangeRecord", { partitionId: 2, topicId: ordersId, isr: [1] }),
    record("RemoveTopicRecord", { topicId: (gone[0]!.data as { topicId: string }).topicId }),
    record("ConfigRecord", { resourceType: 4, resourceName: "", name: "log.retention.ms", value: "5" }),
    record("ConfigRecord", { resourceType: 4, resourceName: "1", name: "x", value: "1" }),
    record("ConfigRecord", { resourceType: 4, resourceName: "1", name: "x", value: null }),
    record("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 0n, nextProducerId: 3000n }),
  ], { offset: 40n, epoch: 3 }).image;
}

test("an image rebuilt from its records and from a snapshot file is the same image", () => {
  const image = variedImage();
  const records = imageRecords(image);
  expect(contents(applyRecords(emptyImage, records, { offset: 40n, epoch: 3 }).image)).toEqual(contents(image));
  const bytes = encodeSnapshot(native, records, 3, 1_700_000_000_000n);
  expect(decodeSnapshot(native, bytes)).toEqual(records);
  // Many records: several data batches between the header and the footer.
  const large = imageRecords(applyRecords(emptyImage, topicRecords("wide", 5000), { offset: 5000n, epoch: 1 }).image);
  expect(decodeSnapshot(native, encodeSnapshot(native, large, 1, 0n))).toEqual(large);
});

test("a snapshot file damaged in any way is refused", () => {
  const bytes = encodeSnapshot(native, imageRecords(variedImage()), 3, 0n);
  const flipped = bytes.slice();
  flipped[Math.floor(bytes.length / 2)]! ^= 0x10;
  const lastBatchAt = bytes.length - [...batchesIn(bytes)].at(-1)!.bytes.length;
  const zeroed = bytes.slice();
  zeroed.fill(0, 100, 300);
  const cases: [string, Uint8Array][] = [
    ["flipped byte", flipped],
    ["cut in a batch", bytes.subarray(0, Math.floor(bytes.length / 2))],
    ["cut at a batch boundary (no footer)", bytes.subarray(0, lastBatchAt)],
    ["garbage tail", Uint8Array.from([...bytes, 1, 2, 3])],
    ["zero-filled range", zeroed],
    ["empty", new Uint8Array(0)],
  ];
  for (const [what, damaged] of cases) expect(() => decodeSnapshot(native, damaged), what).toThrow();
});

async function open(dataDir: string, logger = recordingLogger()) {
  const log = await LocalMetadataLog.open({ dataDir, nodeId: 1, brokerConfig, logger });
  const publisher = new MetadataPublisher(log, logger);
  const snapshotter = new MetadataSnapshotter(publisher, log, logger);
  return {
    log, publisher, snapshotter, logger,
    async start() {
      await log.start();
      await publisher.waitForPublished(log.committedOffset);
    },
    async append(records: MetadataRecord[]) {
      const offset = await log.append(records);
      await publisher.waitForPublished(offset);
      await snapshotter.idle();
      return offset;
    },
    async close() {
      await publisher.close();
      await snapshotter.close();
      await log.close();
    },
  };
}

const metadataDir = (dataDir: string) => join(dataDir, "__cluster_metadata-0");
const snapshotFiles = (dataDir: string) => readdirSync(metadataDir(dataDir)).filter((name) => name.endsWith(".checkpoint")).sort();
const segmentFiles = (dataDir: string) => readdirSync(metadataDir(dataDir)).filter((name) => name.endsWith(".log")).sort();

/** A metadata log with three topics, each its own batch, and snapshots after each. */
async function written(): Promise<{ dataDir: string; names: string[]; lastOffset: bigint }> {
  const dataDir = fresh();
  const node = await open(dataDir);
  await node.start();
  const names = ["a", "b", "c"];
  let lastOffset = -1n;
  for (const name of names) lastOffset = await node.append(topicRecords(name, 2));
  await node.close();
  return { dataDir, names, lastOffset };
}

test("after each publication a snapshot is written; the two newest are kept; a restart starts from the newest", async () => {
  const { dataDir, names, lastOffset } = await written();
  expect(snapshotFiles(dataDir)).toEqual(["00000000000000000006-0000000001.checkpoint", "00000000000000000009-0000000001.checkpoint"]);
  expect(listSnapshots((await import("../../src/storage/index.ts")).realFs, metadataDir(dataDir)).map((id) => id.endOffset)).toEqual([9n, 6n]);
  const node = await open(dataDir);
  const delivered: { snapshot: boolean; lastOffset: bigint }[] = [];
  node.log.onCommit((batch) => delivered.push({ snapshot: batch.snapshot === true, lastOffset: batch.lastOffset }));
  await node.start();
  expect(delivered).toEqual([{ snapshot: true, lastOffset }]);
  expect([...node.publisher.image.topicsByName.keys()].sort()).toEqual(names);
  // Appends go on after it; the next start delivers the newer snapshot.
  expect(await node.append(topicRecords("d"))).toBe(lastOffset + 2n);
  await node.close();
  expect(snapshotFiles(dataDir).at(-1)).toBe("00000000000000000011-0000000001.checkpoint");
});

test("a restart after a crash that came before the snapshot: the snapshot, then the log after it", async () => {
  const dataDir = fresh();
  const node = await open(dataDir);
  await node.start();
  await node.append(topicRecords("a"));
  await node.close();
  // Appended and committed, but no snapshot (the process dies before the snapshotter runs).
  const bare = await LocalMetadataLog.open({ dataDir, nodeId: 1, brokerConfig, logger: recordingLogger() });
  await bare.start();
  await bare.append(topicRecords("b"));
  await bare.close();
  expect(snapshotFiles(dataDir)).toEqual(["00000000000000000002-0000000001.checkpoint"]);
  const again = await open(dataDir);
  const delivered: boolean[] = [];
  again.log.onCommit((batch) => delivered.push(batch.snapshot === true));
  await again.start();
  expect(delivered).toEqual([true, false]);
  expect([...again.publisher.image.topicsByName.keys()].sort()).toEqual(["a", "b"]);
  await again.close();
});

for (const damage of ["deleted", "truncated", "zero-filled"] as const) {
  test(`the metadata log's segment ${damage}: the snapshot holds everything; reported; new offsets continue after it`, async () => {
    const { dataDir, names, lastOffset } = await written();
    const segment = join(metadataDir(dataDir), segmentFiles(dataDir)[0]!);
    if (damage === "deleted") unlinkSync(segment);
    if (damage === "truncated") truncateSync(segment, Math.floor(readFileSync(segment).length / 2));
    if (damage === "zero-filled") writeFileSync(segment, new Uint8Array(readFileSync(segment).length));
    const node = await open(dataDir);
    await node.start();
    expect([...node.publisher.image.topicsByName.keys()].sort()).toEqual(names);
    expect(node.logger.warnings.some((line) => line.includes("ends before its newest snapshot") && line.includes("__cluster_metadata-0"))).toBe(true);
    // No offset the snapshot holds is given out again.
    expect(await node.append(topicRecords("d"))).toBe(lastOffset + 2n);
    await node.close();
    const again = await open(dataDir);
    await again.start();
    expect([...again.publisher.image.topicsByName.keys()].sort()).toEqual([...names, "d"]);
    await again.close();
  });
}

test("a bit flipped inside the log below the snapshot is never read", async () => {
  const { dataDir, names } = await written();
  const segment = join(metadataDir(dataDir), segmentFiles(dataDir)[0]!);
  const bytes = readFileSync(segment);
  bytes[100]! ^= 0x10; // inside the first batch
  writeFileSync(segment, bytes);
  const node = await open(dataDir);
  await node.start();
  expect([...node.publisher.image.topicsByName.keys()].sort()).toEqual(names);
  await node.close();
});

for (const damage of ["flipped byte", "truncated", "deleted", "garbage tail"] as const) {
  test(`the newest snapshot ${damage}: the one before it and the log after it`, async () => {
    const { dataDir, names } = await written();
    const newest = join(metadataDir(dataDir), snapshotFiles(dataDir).at(-1)!);
    if (damage === "flipped byte") {
      const bytes = readFileSync(newest);
      bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
      writeFileSync(newest, bytes);
    }
    if (damage === "truncated") truncateSync(newest, Math.floor(readFileSync(newest).length / 2));
    if (damage === "deleted") unlinkSync(newest);
    if (damage === "garbage tail") appendFileSync(newest, "garbage");
    const node = await open(dataDir);
    await node.start();
    expect([...node.publisher.image.topicsByName.keys()].sort()).toEqual(names);
    if (damage !== "deleted") expect(node.logger.warnings.some((line) => line.includes("damaged metadata snapshot") && line.includes(newest))).toBe(true);
    await node.close();
  });
}

test("damage to records that no usable snapshot holds stops the start, naming the log", async () => {
  const { dataDir } = await written();
  for (const name of snapshotFiles(dataDir)) rmSync(join(metadataDir(dataDir), name));
  const segment = join(metadataDir(dataDir), segmentFiles(dataDir)[0]!);
  const bytes = readFileSync(segment);
  bytes[100]! ^= 0x10;
  writeFileSync(segment, bytes);
  const node = await open(dataDir);
  await expect(node.start()).rejects.toThrow(MetadataLogDamagedError);
  await expect(node.log.start()).rejects.toThrow(); // once
  await node.log.close();
});
