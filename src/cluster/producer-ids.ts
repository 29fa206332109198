// Producer ids for InitProducerId: increasing, never handed out twice, even across restarts and
// crashes. Like Kafka's controller, ids are reserved in blocks: before the first id of a block is
// given out, the end of that block is written durably (temp file, fsync, rename, fsync of the
// directory) to `<dataDir>/__cluster_metadata/producer-ids`. After a crash the ids left in the last
// reserved block are skipped, never reused.
//
//   0 ........ next ........ reservedEnd          (file holds reservedEnd)
//   given out   next to give   first id of the next block to reserve

import { mkdir, open, rename, readFile } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "../util/assert.ts";

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
  static async open(dataDir: string, blockSize: bigint = producerIdBlockSize): Promise<ProducerIdAllocator> {
    assert(blockSize > 0n, "producer id block size must be positive");
    const directory = join(dataDir, "__cluster_metadata");
    await mkdir(directory, { recursive: true });
    const allocator = new ProducerIdAllocator(directory, blockSize);
    const stored = await readStoredEnd(join(directory, FILE_NAME));
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
    const path = join(this.directory, FILE_NAME);
    const temporary = `${path}.tmp`;
    const file = await open(temporary, "w");
    try {
      await file.writeFile(`${end}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    const directory = await open(this.directory, "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    this.reservedEnd = end;
  }
}

async function readStoredEnd(path: string): Promise<bigint> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0n;
    throw error;
  }
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new Error(`${path}: not a producer id high-water mark: ${JSON.stringify(trimmed)}`);
  return BigInt(trimmed);
}
