// Small metadata files kept twice, each with a checksum: `<name>` and `<name>.mirror`, both
// written atomically (atomic-file.ts), the primary first. Data directories written before the
// metadata log kept their topics (topics.json) and producer-id blocks (producer-ids) this way;
// today they are only read, once, by the migration (migration.ts). Why they were kept twice: the
// topic metadata holds what the logs alone cannot tell — topic ids and config overrides such as
// retention.ms or cleanup.policy=compact — and must not be lost to one damaged sector. (The
// metadata log gets the same protection from its snapshots: local-metadata-log.ts.)
//
//   {"version":1, …}            the content (JSON text)
//   # crc32c=1a2b3c4d           CRC-32C of every byte above
//
// Reading: the primary when its checksum matches, else the mirror (logged at ERROR); a file
// without the checksum line (written before it existed) is accepted when it parses. Both
// unusable: an error naming both files, so that start-up refuses with one clear line instead of
// guessing.

import { readFile } from "node:fs/promises";
import { native } from "../native/index.ts";
import type { Logger } from "../util/logger.ts";
import { writeFileAtomic } from "./atomic-file.ts";

const checksumPrefix = "# crc32c=";

export function mirrorPath(path: string): string {
  return `${path}.mirror`;
}

function checksumLine(text: string): string {
  return `${checksumPrefix}${native.crc32c(new TextEncoder().encode(text)).toString(16).padStart(8, "0")}`;
}

/** Both copies, primary first. */
export async function writeCheckedFile(path: string, text: string): Promise<void> {
  const content = `${text}${text.endsWith("\n") ? "" : "\n"}`;
  const stamped = `${content}${checksumLine(content)}\n`;
  await writeFileAtomic(path, stamped);
  await writeFileAtomic(mirrorPath(path), stamped);
}

type Attempt = { kind: "ok"; text: string } | { kind: "missing" } | { kind: "damaged"; why: string };

async function readOne(path: string, accept: (text: string) => string | null): Promise<Attempt> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "damaged", why: `cannot read: ${(error as Error).message}` };
  }
  let text = raw;
  const at = raw.lastIndexOf(checksumPrefix);
  if (at >= 0) {
    text = raw.slice(0, at);
    if (raw.slice(at).trim() !== checksumLine(text)) return { kind: "damaged", why: "checksum mismatch" };
  }
  const problem = accept(text);
  return problem === null ? { kind: "ok", text } : { kind: "damaged", why: problem };
}

export class DamagedMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DamagedMetadataError";
  }
}

/**
 * The text of the first usable copy, or null when neither exists (a new data directory). `accept`
 * says why a text is unusable (null when it is fine), e.g. JSON that does not parse.
 */
export async function readCheckedFile(
  path: string,
  accept: (text: string) => string | null,
  logger: Logger,
  remedy = "restore them from a backup",
): Promise<string | null> {
  const primary = await readOne(path, accept);
  if (primary.kind === "ok") return primary.text;
  const mirror = await readOne(mirrorPath(path), accept);
  if (primary.kind === "missing" && mirror.kind === "missing") return null;
  if (mirror.kind === "ok") {
    logger.error("metadata file damaged or missing; using its mirror copy", {
      file: path,
      problem: primary.kind === "missing" ? "missing" : primary.why,
    });
    return mirror.text;
  }
  const describe = (attempt: Attempt) => (attempt.kind === "missing" ? "missing" : attempt.kind === "damaged" ? attempt.why : "ok");
  throw new DamagedMetadataError(
    `${path} (${describe(primary)}) and its mirror ${mirrorPath(path)} (${describe(mirror)}) are both unusable: ${remedy}`,
  );
}
