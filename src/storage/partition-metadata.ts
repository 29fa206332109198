// `partition.metadata` in a partition directory (Kafka's file, KIP-516): the id of the topic the
// directory belongs to. Names alone cannot tell a deleted topic's leftover directory from a new
// topic of the same name; the id can. Written atomically before the log is used.
//
//   version: 0
//   topic_id: <22-character base64url UUID>

import { join } from "node:path";
import type { StorageFs } from "./fs.ts";

export const partitionMetadataFile = "partition.metadata";

/** The topic id recorded in `directory`, or null when there is no partition.metadata. Throws when it is damaged. */
export function readPartitionMetadata(fs: StorageFs, directory: string): string | null {
  const path = join(directory, partitionMetadataFile);
  const bytes = fs.readFile(path);
  if (bytes === null) return null;
  const match = /^version: 0\ntopic_id: ([A-Za-z0-9_-]{22})\n?$/.exec(new TextDecoder().decode(bytes));
  if (!match) throw new Error(`${path}: not a version-0 partition.metadata file`);
  return match[1]!;
}

export async function writePartitionMetadata(fs: StorageFs, directory: string, topicId: string): Promise<void> {
  fs.mkdir(directory);
  await fs.writeFileAtomic(join(directory, partitionMetadataFile), new TextEncoder().encode(`version: 0\ntopic_id: ${topicId}\n`));
}
