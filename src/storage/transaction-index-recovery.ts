// Recovery of the `.txnindex` files (transaction-index.ts), run by recovery.ts while it replays the
// producer state. Each segment's file is loaded and checked; then:
//   - entries whose ABORT marker is at or after the replay start (the producer snapshot's offset)
//     are rewritten from the replay, which sees every marker there — so a file that is missing,
//     torn or past its segment's end after a crash is rebuilt;
//   - a segment below the replay start whose file is missing or does not check (a log written
//     before the index existed, a file removed by hand) is rebuilt by a headers-only scan from the
//     first segment, which tracks the open transactions as the producer state does (a transaction's
//     first batch may lie in an earlier segment, as in Kafka's recovery).
// Files are only written when their entries change, then fdatasync'd by the caller.

import type { Logger } from "../util/logger.ts";
import { PartitionProducerState, producerInfoOf } from "./producer-state.ts";
import { scanBatches, type ScannedBatch, type Segment, type SegmentContext } from "./segment.ts";
import type { AbortedTransactionEntry } from "./types.ts";

/** Visit the readable batches of a segment from byte `start`, skipping its damaged ranges. */
export function forEachReadableBatch(context: SegmentContext, segment: Segment, start: number, visit: (batch: ScannedBatch) => void): void {
  for (const range of [...segment.damage, null]) {
    const end = range === null ? segment.sizeBytes : range.position;
    if (start < end) scanBatches(context.fs, context.native, segment.fd, start, end, visit, false);
    if (range !== null && range.endPosition > start) start = range.endPosition;
  }
}

function sameEntries(a: readonly AbortedTransactionEntry[], b: readonly AbortedTransactionEntry[]): boolean {
  return a.length === b.length && a.every((entry, index) => {
    const other = b[index]!;
    return entry.producerId === other.producerId && entry.firstOffset === other.firstOffset && entry.lastOffset === other.lastOffset && entry.lastStableOffset === other.lastStableOffset;
  });
}

export class TransactionIndexRecovery {
  /** Entries of each segment from the replay start on, as the replay finds them. */
  private readonly replayed = new Map<Segment, AbortedTransactionEntry[]>();
  /** Segments whose entries below the replay start come from the scan, not the file. */
  private readonly rescanned = new Map<Segment, AbortedTransactionEntry[]>();
  private readonly loadedEntries = new Map<Segment, AbortedTransactionEntry[]>();
  /** Segments whose file did not check (rewritten or removed whatever their entries). */
  private readonly damaged = new Set<Segment>();

  constructor(
    private readonly context: SegmentContext,
    private readonly segments: readonly Segment[],
    /** Offset the producer-state replay starts at (-1: the whole log). */
    private readonly replayFrom: bigint,
    private readonly logger: Logger,
  ) {
    const bad: Segment[] = [];
    for (const [index, segment] of segments.entries()) {
      // A sealed segment covers the offsets up to the next one, even when the cleaner removed its
      // last batches (an ABORT marker among them: its entry stays, as in Kafka).
      const problem = segment.transactionIndex.load(segments[index + 1]?.baseOffset ?? segment.nextOffset);
      if (problem === null) {
        this.loadedEntries.set(segment, segment.transactionIndex.entryCount > 0 ? segment.transactionIndex.entries() : []);
        continue;
      }
      this.loadedEntries.set(segment, []);
      if (problem !== "missing") this.damaged.add(segment);
      if (segment.baseOffset < replayFrom) bad.push(segment);
      if (problem !== "missing") logger.warn("a transaction index does not match its segment; rebuilding it", { path: segment.transactionIndex.path, problem });
    }
    if (bad.length > 0) this.rescanBelowReplay(bad);
  }

  /** Headers-only pass from the first segment to the last bad one, open transactions tracked. */
  private rescanBelowReplay(bad: Segment[]): void {
    const last = bad[bad.length - 1]!;
    const wanted = new Set(bad);
    const tracker = new PartitionProducerState();
    for (const segment of bad) this.rescanned.set(segment, []);
    this.logger.info("rebuilding transaction indexes by scanning the log", { segments: bad.length, upTo: String(last.nextOffset) });
    for (const segment of this.segments) {
      if (segment.baseOffset > last.baseOffset) break;
      if (segment.isEmpty) continue;
      const found = this.rescanned.get(segment);
      forEachReadableBatch(this.context, segment, 0, (batch) => {
        if (batch.header.baseOffset >= this.replayFrom && this.replayFrom >= 0n) return;
        const entry = tracker.update(producerInfoOf(batch.header, batch.bytes));
        if (entry && wanted.has(segment)) found!.push(entry);
      });
    }
  }

  /** An entry the producer-state replay found in `segment` (its marker is at or after the replay start). */
  add(segment: Segment, entry: AbortedTransactionEntry): void {
    let list = this.replayed.get(segment);
    if (list === undefined) this.replayed.set(segment, (list = []));
    list.push(entry);
  }

  /** Write the files whose entries changed; returns their open descriptors for the caller to sync and close. */
  finish(): number[] {
    const fds: number[] = [];
    for (const segment of this.segments) {
      const loaded = this.loadedEntries.get(segment) ?? [];
      const below = this.rescanned.get(segment) ?? loaded.filter((entry) => entry.lastOffset < this.replayFrom);
      const final = below.concat(this.replayed.get(segment) ?? []);
      if (this.rescanned.has(segment) || this.damaged.has(segment) || !sameEntries(final, loaded) || segment.transactionIndex.entryCount !== loaded.length) {
        if (final.length === 0) segment.transactionIndex.deleteFile();
        else fds.push(segment.transactionIndex.rewrite(final));
      }
    }
    return fds;
  }
}
