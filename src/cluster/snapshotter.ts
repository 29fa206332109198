// Keeps a snapshot of the published image in the metadata log (metadata-snapshot.ts,
// MetadataLog.saveSnapshot): after each publication, off the publishing path, one write at a
// time; publications during a write are folded into the next one. At close, the last image is
// saved too. On a one-node cluster this makes the snapshot hold every committed record within
// one write of its commit, so that damage to the log below it costs nothing.
//
// Not yet: Kafka's pacing (metadata.log.max.snapshot.interval.ms,
// metadata.log.max.record.bytes.between.snapshots) and trimming the log below the snapshot; they
// come with the Raft log, where followers fetch snapshots (docs/replication.md §2).

import type { Logger } from "../util/logger.ts";
import type { MetadataImage } from "./image.ts";
import type { MetadataLog } from "./metadata-log.ts";
import { imageRecords } from "./metadata-snapshot.ts";
import type { MetadataPublisher } from "./publisher.ts";

export class MetadataSnapshotter {
  private saved = -1n;
  private wanted: MetadataImage | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly publisher: MetadataPublisher,
    private readonly log: MetadataLog,
    private readonly logger: Logger,
  ) {
    publisher.onPublished((image) => this.request(image));
  }

  private request(image: MetadataImage): void {
    if (this.closed || image.offset <= this.saved) return;
    this.wanted = image;
    this.running ??= this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.wanted !== null) {
        const image = this.wanted;
        this.wanted = null;
        try {
          await this.log.saveSnapshot(image.offset, image.epoch, imageRecords(image));
          this.saved = image.offset;
        } catch (error) {
          // The log and the older snapshots still hold everything; the next publication retries.
          this.logger.error("writing a metadata snapshot failed", { offset: String(image.offset), error: String(error) });
        }
      }
    } finally {
      this.running = null;
    }
  }

  /** Resolves once every image published so far is saved (or its write failed). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Save the last published image, then stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.request(this.publisher.image);
    this.closed = true;
    await this.idle();
  }
}
