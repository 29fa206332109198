// Migration of a data directory written before the metadata log (docs/replication.md §2). Such a
// directory keeps its topics in `__cluster_metadata/topics.json` and the end of the last reserved
// producer-id block in `__cluster_metadata/producer-ids`. At the first start with an empty
// metadata log they become records — each topic with its id and config overrides, each partition
// with this node as its only replica and leader at epoch 0, the producer-id block's end — and the
// existing partition directories of those topics are adopted as they are (a partition.metadata
// naming the topic id is written into each). Then the files are renamed `*.migrated`.
//
// Both files were kept twice, each copy with a checksum (checked-file.ts: `<name>` and
// `<name>.mirror`): a damaged or missing primary is read from its mirror (logged at ERROR). Both
// copies of topics.json unusable: the start refuses (DamagedMetadataError, one line naming both
// files) and nothing is changed — starting without them would adopt the partitions with default
// configs. Both copies of producer-ids unusable: producer ids continue above a floor derived from
// the clock (1,000 per millisecond since 1970), as the allocator of that era did, never reused.
//
// Crash safety: partition.metadata files first (the same ids again after a crash), then the
// records in one batch (all or nothing), then the renames; a start that finds the log non-empty
// and the files still there only finishes the renames.
//
// Not migrated, on purpose: directories the old store would have dealt with by guessing at its next
// start — names listed under "deleting" (a deletion interrupted by a crash) and directories no topic
// names (a creation interrupted by a crash). They are logged and left alone; an operator removes
// them, or they are moved aside if a topic of that name is created later (see storage's stray rule).

import { join } from "node:path";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { isUuidString } from "../protocol/primitives.ts";
import { readPartitionMetadata, writePartitionMetadata, type StorageFs } from "../storage/index.ts";
import type { Logger } from "../util/logger.ts";
import { mirrorPath, readCheckedFile } from "./checked-file.ts";
import type { MetadataLog } from "./metadata-log.ts";
import { ConfigResourceType, record, type MetadataRecord } from "./records.ts";
import { topicNameProblem } from "./topic-name.ts";

export const legacyMetadataDirectory = "__cluster_metadata";
const topicsFile = "topics.json";
const producerIdsFile = "producer-ids";
const migratedSuffix = ".migrated";

interface LegacyTopic {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
}

interface LegacyState {
  topics: LegacyTopic[];
  deleting: string[];
}

function parseTopics(path: string, text: string): LegacyState {
  const state = JSON.parse(text) as { version?: unknown; topics?: unknown; deleting?: unknown };
  if (state.version !== 1 || !Array.isArray(state.topics)) throw new Error(`${path}: unknown format`);
  const topics = state.topics.map((entry: unknown) => {
    const topic = entry as Partial<LegacyTopic>;
    const valid = typeof topic.name === "string" && topicNameProblem(topic.name) === null && typeof topic.id === "string"
      && isUuidString(topic.id) && Number.isInteger(topic.partitions) && topic.partitions! >= 1 && typeof topic.configs === "object"
      && topic.configs !== null && Object.values(topic.configs).every((value) => typeof value === "string");
    if (!valid) throw new Error(`${path}: bad topic entry ${JSON.stringify(entry)}`);
    return topic as LegacyTopic;
  });
  const deleting = Array.isArray(state.deleting) ? state.deleting.filter((name): name is string => typeof name === "string") : [];
  return { topics, deleting };
}

/** Why a topics.json text is unusable, or null (checked-file's accept). */
function topicsProblem(text: string): string | null {
  try {
    parseTopics("topics.json", text);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function producerIdsProblem(text: string): string | null {
  return /^\d+$/.test(text.trim()) ? null : `not a producer id high-water mark: ${JSON.stringify(text.trim().slice(0, 40))}`;
}

/** The end of the last reserved producer-id block; a clock floor when both copies are unusable. */
async function readProducerIdsEnd(path: string, logger: Logger): Promise<bigint> {
  try {
    const text = await readCheckedFile(path, producerIdsProblem, logger);
    return text === null ? 0n : BigInt(text.trim());
  } catch (error) {
    const floor = BigInt(Date.now()) * 1000n;
    logger.error("the producer id file and its mirror are unusable; continuing above a clock-derived floor so that no id is handed out twice", {
      file: path,
      error: error instanceof Error ? error.message : String(error),
      nextProducerId: String(floor),
    });
    return floor;
  }
}

function topicRecords(topic: LegacyTopic, nodeId: number): MetadataRecord[] {
  return [
    record("TopicRecord", { name: topic.name, topicId: topic.id }),
    ...Object.entries(topic.configs).map(([name, value]) =>
      record("ConfigRecord", { resourceType: ConfigResourceType.TOPIC, resourceName: topic.name, name, value })),
    ...Array.from({ length: topic.partitions }, (_, partitionId) => record("PartitionRecord", {
      partitionId, topicId: topic.id, replicas: [nodeId], isr: [nodeId], removingReplicas: [], addingReplicas: [],
      leader: nodeId, leaderEpoch: 0, partitionEpoch: 0,
    })),
  ];
}

export interface MigrationOptions {
  dataDir: string;
  nodeId: number;
  log: MetadataLog;
  fs: StorageFs;
  logger: Logger;
}

/** Migrate the legacy metadata files if there are any; true when records were written. */
export async function migrateLegacyMetadata(options: MigrationOptions): Promise<boolean> {
  const { dataDir, fs, logger } = options;
  const directory = join(dataDir, legacyMetadataDirectory);
  const topicsPath = join(directory, topicsFile);
  const producerIdsPath = join(directory, producerIdsFile);
  const present = [topicsPath, mirrorPath(topicsPath), producerIdsPath, mirrorPath(producerIdsPath)].filter((path) => fs.exists(path));
  if (present.length === 0) return false;
  if (options.log.committedOffset >= 0n) {
    // Migrated before a crash that came ahead of the renames.
    await renameMigrated(fs, directory, present);
    return false;
  }
  // Both copies of topics.json unusable: DamagedMetadataError, and the start refuses.
  const topicsText = await readCheckedFile(topicsPath, topicsProblem, logger,
    "restore them from a backup, or repair the JSON by hand. (Removing both starts the node without those topics: their partition " +
      "directories are then left alone, not adopted.)");
  const state = topicsText === null ? { topics: [], deleting: [] } : parseTopics(topicsPath, topicsText);
  const producerIdsEnd = await readProducerIdsEnd(producerIdsPath, logger);

  const records: MetadataRecord[] = [];
  for (const topic of state.topics) {
    await adoptPartitionDirectories(options, topic);
    records.push(...topicRecords(topic, options.nodeId));
  }
  if (producerIdsEnd > 0n) records.push(record("ProducerIdsRecord", { brokerId: options.nodeId, brokerEpoch: -1n, nextProducerId: producerIdsEnd }));
  reportLeftAlone(options, state);
  if (records.length > 0) await options.log.append(records);
  await renameMigrated(fs, directory, present);
  logger.info("migrated topics.json into the metadata log", {
    topics: state.topics.length, records: records.length, nextProducerId: String(producerIdsEnd),
  });
  return records.length > 0;
}

/** Write partition.metadata into the existing directories of a legacy topic (they hold its data). */
async function adoptPartitionDirectories(options: MigrationOptions, topic: LegacyTopic): Promise<void> {
  for (let partition = 0; partition < topic.partitions; partition++) {
    const directory = join(options.dataDir, `${topic.name}-${partition}`);
    if (!options.fs.exists(directory)) continue;
    const recorded = readPartitionMetadata(options.fs, directory);
    if (recorded === topic.id) continue;
    if (recorded !== null) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${directory}: partition.metadata names topic id ${recorded}, topics.json says ${topic.id}`);
    }
    await writePartitionMetadata(options.fs, directory, topic.id);
  }
}

function reportLeftAlone(options: MigrationOptions, state: LegacyState): void {
  const named = new Set(state.topics.flatMap((topic) => Array.from({ length: topic.partitions }, (_, partition) => `${topic.name}-${partition}`)));
  for (const name of options.fs.readdir(options.dataDir)) {
    const match = /^(.+)-(\d+)$/.exec(name);
    if (!match || named.has(name) || match[1] === "__cluster_metadata" || !options.fs.exists(join(options.dataDir, name, "."))) continue;
    const why = state.deleting.includes(match[1]!) ? "its topic's deletion was interrupted" : "no topic in topics.json names it";
    options.logger.warn("partition directory not migrated, left alone", { directory: name, why });
  }
}

async function renameMigrated(fs: StorageFs, directory: string, paths: string[]): Promise<void> {
  for (const path of paths) fs.rename(path, `${path}${migratedSuffix}`);
  await fs.fsyncDir(directory);
}
