// Offset checkpoint files of a data directory, in Kafka's text format plus a checksum line:
//
//   0                      version
//   2                      number of entries
//   orders 0 1234          topic partition offset
//   orders 1 987
//   # crc32c=1a2b3c4d      CRC-32C of every byte above (Runnel's addition)
//
// `recovery-point-offset-checkpoint`: per partition, the offset below which everything was
// covered by an fdatasync (recovery scans from there). `log-start-offset-checkpoint`: the log start
// offset set by DeleteRecords and retention. `replication-offset-checkpoint`: the high watermark
// (Kafka's name and file), restored at open so a restarted replica knows what was committed.
// Written atomically (temp file, datasync, rename).
//
// Why the checksum: a flipped digit still parses, and a wrong recovery point or log start offset is
// worse than none (a log start offset moved up hides records; a recovery point moved up makes
// recovery trust unverified data). A file whose checksum does not match is ignored as a whole, like
// a malformed one: recovery then scans the logs in full. Files without the line (written before it
// existed) are read as before.

import { join } from "node:path";
import { native } from "../native/index.ts";
import type { StorageFs } from "./fs.ts";

export const recoveryPointCheckpointFile = "recovery-point-offset-checkpoint";
export const logStartOffsetCheckpointFile = "log-start-offset-checkpoint";
export const highWatermarkCheckpointFile = "replication-offset-checkpoint";

export type CheckpointEntries = Map<string, bigint>;

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

const checksumPrefix = "# crc32c=";

function checksumLine(text: string): string {
  return `${checksumPrefix}${native.crc32c(new TextEncoder().encode(text)).toString(16).padStart(8, "0")}`;
}

/** `text` followed by its checksum line. */
export function withChecksum(text: string): string {
  return `${text}${checksumLine(text)}\n`;
}

/**
 * The text above the checksum line, or null when the line does not match; a text without the line
 * (written before it existed, or by Kafka) is returned as it is.
 */
export function checkedText(raw: string): string | null {
  const checksumAt = raw.lastIndexOf(checksumPrefix);
  if (checksumAt < 0) return raw;
  const text = raw.slice(0, checksumAt);
  return raw.slice(checksumAt).trim() === checksumLine(text) ? text : null;
}

/** Read a checkpoint file; a missing, malformed or checksum-failing file gives no entries (recovery then scans all). */
export function readCheckpoint(fs: StorageFs, dataDir: string, name: string): { entries: CheckpointEntries; error: string | null } {
  const entries: CheckpointEntries = new Map();
  const bytes = fs.readFile(join(dataDir, name));
  if (bytes === null) return { entries, error: null };
  const text = checkedText(new TextDecoder().decode(bytes));
  if (text === null) return { entries, error: `${name}: checksum mismatch (the file is damaged)` };
  const lines = text.split("\n").filter((line) => line.length > 0);
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
  const text = lines.join("\n") + "\n";
  await fs.writeFileAtomic(join(dataDir, name), new TextEncoder().encode(withChecksum(text)));
}
