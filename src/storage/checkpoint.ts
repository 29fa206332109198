// Offset checkpoint files of a data directory, in Kafka's text format:
//
//   0                      version
//   2                      number of entries
//   orders 0 1234          topic partition offset
//   orders 1 987
//
// `recovery-point-offset-checkpoint`: per partition, the offset below which everything was
// covered by an fdatasync (recovery scans from there). `log-start-offset-checkpoint`: the log start
// offset set by DeleteRecords and retention. `replication-offset-checkpoint`: the high watermark
// (Kafka's name and file), restored at open so a restarted replica knows what was committed.
// Written atomically (temp file, datasync, rename).

import { join } from "node:path";
import type { StorageFs } from "./fs.ts";

export const recoveryPointCheckpointFile = "recovery-point-offset-checkpoint";
export const logStartOffsetCheckpointFile = "log-start-offset-checkpoint";
export const highWatermarkCheckpointFile = "replication-offset-checkpoint";

export type CheckpointEntries = Map<string, bigint>;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Read a checkpoint file; a missing or malformed file gives no entries (recovery then scans all). */
export function readCheckpoint(fs: StorageFs, dataDir: string, name: string): { entries: CheckpointEntries; error: string | null } {
  const entries: CheckpointEntries = new Map();
  const bytes = fs.readFile(join(dataDir, name));
  if (bytes === null) return { entries, error: null };
  const lines = new TextDecoder().decode(bytes).split("\n").filter((line) => line.length > 0);
  if (lines[0] !== "0") return { entries, error: `${name}: unknown version ${JSON.stringify(lines[0])}` };
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) return { entries, error: `${name}: entry count ${lines[1]} does not match ${lines.length - 2} lines` };
  for (const line of lines.slice(2)) {
    const match = /^(\S+) (\d+) (-?\d+)$/.exec(line);
    if (!match) return { entries: new Map(), error: `${name}: malformed line ${JSON.stringify(line)}` };
    entries.set(partitionKey(match[1]!, Number(match[2])), BigInt(match[3]!));
  }
  return { entries, error: null };
}

export async function writeCheckpoint(fs: StorageFs, dataDir: string, name: string, entries: CheckpointEntries): Promise<void> {
  const lines = ["0", String(entries.size)];
  for (const [key, offset] of entries) {
    const [topic, partition] = key.split("\u0000");
    lines.push(`${topic} ${partition} ${offset}`);
  }
  await fs.writeFileAtomic(join(dataDir, name), new TextEncoder().encode(lines.join("\n") + "\n"));
}
