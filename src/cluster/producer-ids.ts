// Producer ids for InitProducerId: increasing, never handed out twice, even across restarts and
// crashes. Like Kafka's controller, ids are reserved in blocks: before the first id of a block is
// given out, the end of that block is written durably (temp file, fsync, rename, fsync of the
// directory) to `<dataDir>/__cluster_metadata/producer-ids`. After a crash the ids left in the last
// reserved block are skipped, never reused.
//
//   0 ........ next ........ reservedEnd          (file holds reservedEnd)
//   given out   next to give   first id of the next block to reserve
//
// The file and a mirror copy carry a checksum (checked-file.ts). Should both be unusable (damaged
// or deleted by hand), ids would be reused if the allocator restarted at 0, and a reused id meets
// the partitions' stored producer state of its previous owner (OUT_OF_ORDER_SEQUENCE_NUMBER for
// the new producer). Instead it continues above a floor derived from the clock, 1,000 ids per
// millisecond since 1970: above every id handed out before, unless ids were handed out faster than
// a million a second or the clock went back. Logged at ERROR.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "../util/assert.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { readCheckedFile, writeCheckedFile } from "./checked-file.ts";

/** Kafka's producer id block size. */
export const producerIdBlockSize = 1000n;
/** Producer ids are int64 and positive; -1 means "none". */
const PRODUCER_ID_MAX = 9223372036854775807n;
const FILE_NAME = "producer-ids";

export class ProducerIdAllocator {
  private next = 0n;
  private reservedEnd = 0n;
  /** Serialises block reservations (several InitProducerId requests may arrive together). */
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly directory: string,
    private readonly blockSize: bigint,
  ) {}

  /** Open (or start) the allocator of a data directory. */
  static async open(dataDir: string, blockSize: bigint = producerIdBlockSize, logger: Logger = createLogger("cluster")): Promise<ProducerIdAllocator> {
    assert(blockSize > 0n, "producer id block size must be positive");
    const directory = join(dataDir, "__cluster_metadata");
    await mkdir(directory, { recursive: true });
    const allocator = new ProducerIdAllocator(directory, blockSize);
    const stored = await readStoredEnd(join(directory, FILE_NAME), logger);
    allocator.next = stored;
    allocator.reservedEnd = stored;
    return allocator;
  }

  /** The next producer id; persists a new block first when the current one is used up. */
  allocate(): Promise<bigint> {
    const result = this.pending.then(async () => {
      if (this.next >= this.reservedEnd) await this.reserveBlock();
      assert(this.next < this.reservedEnd, "an id is available in the reserved block");
      const id = this.next;
      this.next += 1n;
      return id;
    });
    this.pending = result.catch(() => undefined);
    return result;
  }

  private async reserveBlock(): Promise<void> {
    const end = this.next + this.blockSize;
    if (end > PRODUCER_ID_MAX) throw new Error("producer ids exhausted");
    await writeCheckedFile(join(this.directory, FILE_NAME), `${end}\n`);
    this.reservedEnd = end;
  }
}

function highWaterProblem(text: string): string | null {
  return /^\d+$/.test(text.trim()) ? null : `not a producer id high-water mark: ${JSON.stringify(text.trim().slice(0, 40))}`;
}

/** The stored end of the reserved block: 0 for a new directory, a clock floor when both copies are unusable. */
async function readStoredEnd(path: string, logger: Logger): Promise<bigint> {
  try {
    const text = await readCheckedFile(path, highWaterProblem, logger);
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
