// Migration of a data directory written before the metadata log (src/cluster/migration.ts), on a
// copy of test/fixtures/legacy-data-dir (written by the code of commit 3c87fa7): topics keep their
// ids and configs, their directories are adopted (partition.metadata), producer ids continue past
// the reserved block, the legacy files are renamed, and nothing is migrated twice. Files of the
// checked-file era (a checksum line and a mirror copy) are read as main's store read them.

import { afterEach, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DamagedMetadataError, writeCheckedFile } from "../../src/cluster/checked-file.ts";
import { LocalMetadataLog } from "../../src/cluster/local-metadata-log.ts";
import { migrateLegacyMetadata } from "../../src/cluster/migration.ts";
import { MetadataPublisher } from "../../src/cluster/publisher.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { readPartitionMetadata, realFs } from "../../src/storage/index.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const legacyFixture = join(import.meta.dir, "../fixtures/legacy-data-dir/datadir");
const brokerConfig = loadBrokerConfig({}).values;
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function legacyCopy(): string {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-legacy-"));
  directories.push(dataDir);
  cpSync(legacyFixture, dataDir, { recursive: true });
  return dataDir;
}

async function open(dataDir: string) {
  const log = await LocalMetadataLog.open({ dataDir, nodeId: 1, brokerConfig, logger: recordingLogger() });
  const publisher = new MetadataPublisher(log, recordingLogger());
  await log.start();
  const logger = recordingLogger();
  const migrate = () => migrateLegacyMetadata({ dataDir, nodeId: 1, log, fs: realFs, logger });
  return {
    log, publisher, logger, migrate,
    async close() {
      await publisher.close();
      await log.close();
    },
  };
}

const legacyTopics = () => JSON.parse(readFileSync(join(legacyFixture, "__cluster_metadata", "topics.json"), "utf8")).topics as
  { name: string; id: string; partitions: number; configs: Record<string, string> }[];

test("topics.json and producer-ids become records; ids, configs and partition directories kept", async () => {
  const dataDir = legacyCopy();
  const node = await open(dataDir);
  expect(await node.migrate()).toBe(true);
  await node.publisher.waitForPublished(node.log.committedOffset);
  const image = node.publisher.image;
  for (const topic of legacyTopics()) {
    const migrated = image.topicsByName.get(topic.name)!;
    expect(migrated.id).toBe(topic.id);
    expect(migrated.configs).toEqual(topic.configs);
    expect(migrated.partitions.map((partition) => [partition.replicas, partition.isr, partition.leader, partition.leaderEpoch]))
      .toEqual(Array.from({ length: topic.partitions }, () => [[1], [1], 1, 0]));
    for (let partition = 0; partition < topic.partitions; partition++) {
      expect(readPartitionMetadata(realFs, join(dataDir, `${topic.name}-${partition}`))).toBe(topic.id);
    }
  }
  expect(image.nextProducerId).toBe(1000n);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json"))).toBe(false);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json.migrated"))).toBe(true);
  expect(existsSync(join(dataDir, "__cluster_metadata", "producer-ids.migrated"))).toBe(true);
  const offset = node.log.committedOffset;
  await node.close();

  // A second start finds nothing to migrate and replays the same image.
  const again = await open(dataDir);
  expect(await again.migrate()).toBe(false);
  expect(again.log.committedOffset).toBe(offset);
  await again.publisher.waitForPublished(offset);
  expect([...again.publisher.image.topicsByName.keys()].sort()).toEqual(legacyTopics().map((topic) => topic.name).sort());
  await again.close();
});

test("a crash after the records were written and before the renames: the next start only renames", async () => {
  const dataDir = legacyCopy();
  const node = await open(dataDir);
  await node.migrate();
  const offset = node.log.committedOffset;
  await node.close();
  for (const name of ["topics.json", "producer-ids"]) {
    renameSync(join(dataDir, "__cluster_metadata", `${name}.migrated`), join(dataDir, "__cluster_metadata", name));
  }
  const again = await open(dataDir);
  expect(await again.migrate()).toBe(false);
  expect(again.log.committedOffset).toBe(offset);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json"))).toBe(false);
  await again.close();
});

test("directories topics.json does not name (an interrupted deletion or creation) are left alone and reported", async () => {
  const dataDir = legacyCopy();
  const path = join(dataDir, "__cluster_metadata", "topics.json");
  const state = JSON.parse(readFileSync(path, "utf8"));
  state.topics = state.topics.filter((topic: { name: string }) => topic.name !== "compacted");
  state.deleting = ["compacted"];
  writeFileSync(path, JSON.stringify(state));
  mkdirSync(join(dataDir, "orphan-0"));
  const node = await open(dataDir);
  await node.migrate();
  await node.publisher.waitForPublished(node.log.committedOffset);
  expect(node.publisher.image.topicsByName.has("compacted")).toBe(false);
  expect(existsSync(join(dataDir, "compacted-0", "00000000000000000000.log"))).toBe(true);
  expect(readPartitionMetadata(realFs, join(dataDir, "compacted-0"))).toBeNull();
  expect(node.logger.warnings.some((line) => line.includes("compacted-0") && line.includes("deletion was interrupted"))).toBe(true);
  expect(node.logger.warnings.some((line) => line.includes("orphan-0") && line.includes("no topic"))).toBe(true);
  await node.close();
});

test("a damaged topics.json stops the start and changes nothing", async () => {
  const dataDir = legacyCopy();
  writeFileSync(join(dataDir, "__cluster_metadata", "topics.json"), "{\"version\":1,\"topics\":[{\"name\":\"x\"}]}");
  const node = await open(dataDir);
  await expect(node.migrate()).rejects.toThrow(/bad topic entry/);
  expect(node.log.committedOffset).toBe(-1n);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json"))).toBe(true);
  await node.close();
});

// Data directories of the checked-file era (src/cluster/checked-file.ts): topics.json and
// producer-ids each kept twice with a checksum line.
async function checkedCopy(): Promise<string> {
  const dataDir = legacyCopy();
  for (const name of ["topics.json", "producer-ids"]) {
    const path = join(dataDir, "__cluster_metadata", name);
    await writeCheckedFile(path, readFileSync(path, "utf8"));
  }
  return dataDir;
}

test("checked files: a damaged primary is read from its mirror; all four files are renamed", async () => {
  const dataDir = await checkedCopy();
  const topicsPath = join(dataDir, "__cluster_metadata", "topics.json");
  const bytes = readFileSync(topicsPath);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
  writeFileSync(topicsPath, bytes);
  const node = await open(dataDir);
  expect(await node.migrate()).toBe(true);
  await node.publisher.waitForPublished(node.log.committedOffset);
  expect([...node.publisher.image.topicsByName.keys()].sort()).toEqual(legacyTopics().map((topic) => topic.name).sort());
  expect(node.publisher.image.nextProducerId).toBe(1000n);
  expect(node.logger.warnings.some((line) => line.includes("using its mirror copy") && line.includes("topics.json"))).toBe(true);
  for (const name of ["topics.json", "topics.json.mirror", "producer-ids", "producer-ids.mirror"]) {
    expect(existsSync(join(dataDir, "__cluster_metadata", name))).toBe(false);
    expect(existsSync(join(dataDir, "__cluster_metadata", `${name}.migrated`))).toBe(true);
  }
  await node.close();
});

test("checked files: both copies of topics.json unusable stops the start and changes nothing", async () => {
  const dataDir = await checkedCopy();
  for (const name of ["topics.json", "topics.json.mirror"]) writeFileSync(join(dataDir, "__cluster_metadata", name), "{\"version\":1,\"topics\":[");
  const node = await open(dataDir);
  await expect(node.migrate()).rejects.toThrow(DamagedMetadataError);
  expect(node.log.committedOffset).toBe(-1n);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json"))).toBe(true);
  expect(readPartitionMetadata(realFs, join(dataDir, `${legacyTopics()[0]!.name}-0`))).toBeNull();
  await node.close();
});

test("checked files: both copies of producer-ids unusable: ids continue above a clock floor", async () => {
  const dataDir = await checkedCopy();
  for (const name of ["producer-ids", "producer-ids.mirror"]) rmSync(join(dataDir, "__cluster_metadata", name));
  writeFileSync(join(dataDir, "__cluster_metadata", "producer-ids"), "garbage");
  const before = BigInt(Date.now()) * 1000n;
  const node = await open(dataDir);
  expect(await node.migrate()).toBe(true);
  await node.publisher.waitForPublished(node.log.committedOffset);
  expect(node.publisher.image.nextProducerId).toBeGreaterThanOrEqual(before);
  expect(node.logger.warnings.some((line) => line.includes("clock-derived floor"))).toBe(true);
  await node.close();
});
