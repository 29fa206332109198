// What the log cleaner (storage/cleaner.ts) may do to a partition log: which segments it may
// rewrite, and the check of a cleaned copy before it takes the old one's place. The log runs the
// swap in its single-writer queue once no sync runs.

import { assert } from "../util/assert.ts";
import type { Segment } from "./segment.ts";

/**
 * What the cleaner may rewrite: the sealed segments (never the active one) wholly below the last
 * stable offset (the high watermark, or an open transaction's first offset below it), oldest first. They
 * need not be synced yet: a cleaned copy is fdatasync'd before it replaces a segment (and after a
 * crash recovery, segments stay unsynced until the next append's sync).
 */
export function cleanableSegments(segments: readonly Segment[], stableOffset: bigint): Segment[] {
  // Never a damaged segment, nor past one: cleaning rewrites whole files, and the damaged bytes
  // must stay as they are (and keep being reported) until the operator deals with them.
  // Nor above the high watermark: records there are not committed and may still be truncated on
  // this replica (a follower diverging from a new leader), or not yet on every in-sync replica —
  // compacting them would make this log differ from the others below the high watermark. Nor at
  // or above an open transaction: whether its records stay depends on its outcome (Kafka's
  // firstUncleanableOffset).
  const sealed = segments.slice(0, -1);
  const firstDamaged = sealed.findIndex((segment) => segment.isDamaged);
  const undamaged = firstDamaged < 0 ? sealed : sealed.slice(0, firstDamaged);
  const firstUncommitted = undamaged.findIndex((segment) => segment.nextOffset > stableOffset);
  return firstUncommitted < 0 ? undamaged : undamaged.slice(0, firstUncommitted);
}

/**
 * Puts the cleaned copy in place of `old` in `segments` (mutated). `install` renames the files into
 * place and returns the new Segment (or null to give up); the old one is then closed (a reader's
 * mapping of it lives on until released). False when `old` is no longer a sealed segment.
 */
export function swapCleanedSegment(segments: Segment[], old: Segment, install: () => Segment | null): boolean {
  const index = segments.indexOf(old);
  if (index < 0 || index === segments.length - 1) return false;
  const fresh = install();
  if (fresh === null) return false;
  assert(fresh.baseOffset === old.baseOffset && fresh.nextOffset === old.nextOffset, "a cleaned segment covers the same offsets");
  segments[index] = fresh;
  old.close();
  return true;
}
