// The file layer of the partition log. Every file operation that matters for durability goes
// through this interface, so that tests can wrap it (src/testing/: a fault-injecting layer that
// simulates power loss by keeping only what was covered by the last `datasync`, or fails writes
// with ENOSPC).
//
// Why most calls are synchronous: writes of a few KiB into the page cache take microseconds, less
// than a round trip through the thread pool, and a single writer per partition is simpler when an
// append has no await in it. The calls that can block for milliseconds — `datasync`, `fsyncDir`,
// `writeFileAtomic` — are asynchronous and run off the event loop (libuv thread pool).
//
// Durability points: data written with `pwrite` is durable only once a `datasync` of its fd has
// completed; a new or renamed directory entry only once `fsyncDir` of its directory has.
//
// Errors are Node system errors (`code` = "ENOSPC", "ENOENT"…); the storage layer turns them into
// KafkaError(KAFKA_STORAGE_ERROR) where a client must be answered.

import * as nodeFs from "node:fs";
import { dirname, join } from "node:path";
import { native } from "../native/index.ts";
import { assert } from "../util/assert.ts";

/** "read": read only. "write": read and write, must exist. "create": read and write, created if missing. */
export type OpenMode = "read" | "write" | "create";

export interface StorageFs {
  /** Open a file and return its fd. */
  open(path: string, mode: OpenMode): number;
  close(fd: number): void;
  /** Write all of `data` at `position`; throws (ENOSPC…) when it cannot. Returns data.length. */
  pwrite(fd: number, data: Uint8Array, position: number): number;
  /** Read up to `into.length` bytes at `position`; returns the count read (short at end of file). */
  pread(fd: number, into: Uint8Array, position: number): number;
  ftruncate(fd: number, size: number): void;
  /**
   * ftruncate off the event loop (thread pool). Shrinking a file frees blocks, a journal transaction
   * that can wait milliseconds (85 ms seen under load) behind other I/O: a segment roll must not.
   */
  truncateInBackground(fd: number, size: number): Promise<void>;
  /**
   * Create (or replace the contents of) `path` with `data` off the event loop: open, write, cut to
   * data.length. Resolves to the open fd, which the caller datasyncs and closes.
   */
  writeFileInBackground(path: string, data: Uint8Array): Promise<number>;
  /**
   * Reserve disk blocks for [offset, offset + length) and extend the file to cover them
   * (fallocate). Throws ENOSPC when the disk cannot hold them, so a full disk is reported before
   * anything is written, never as a SIGBUS in a reader of the mapping.
   */
  allocate(fd: number, offset: number, length: number): void;
  /** Current size of the open file. */
  size(fd: number): number;
  /** fdatasync, off the event loop. */
  datasync(fd: number): Promise<void>;
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Names in a directory ([] when it does not exist). */
  readdir(path: string): string[];
  /** mkdir -p */
  mkdir(path: string): void;
  /** Remove a directory and everything under it (no error when missing). */
  removeDir(path: string): void;
  exists(path: string): boolean;
  /** fsync a directory so that created, renamed and removed entries in it are durable. */
  fsyncDir(path: string): Promise<void>;
  /** Whole file, or null when it does not exist. */
  readFile(path: string): Uint8Array | null;
  /** Write `path` so that after a crash it holds either the old or the new contents: temp file,
   * datasync, rename, fsync of the directory. */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
}

// Numeric flags: "a+" would make every write an append on Linux, ignoring the position.
const { O_RDONLY, O_RDWR, O_CREAT } = nodeFs.constants;
const openFlags: Record<OpenMode, number> = { read: O_RDONLY, write: O_RDWR, create: O_RDWR | O_CREAT };

function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    nodeFs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    nodeFs.fsync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

function callback<T>(start: (done: (error: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
}

async function writeFileOffLoop(path: string, data: Uint8Array): Promise<number> {
  const fd = await callback<number>((done) => nodeFs.open(path, openFlags.create, 0o644, done));
  try {
    let written = 0;
    while (written < data.length) {
      const count = await callback<number>((done) => nodeFs.write(fd, data, written, data.length - written, written, done));
      assert(count > 0, "write wrote nothing");
      written += count;
    }
    await callback<void>((done) => nodeFs.ftruncate(fd, data.length, (error) => done(error, undefined)));
    return fd;
  } catch (error) {
    nodeFs.closeSync(fd);
    throw error;
  }
}

/** The real file system (node:fs; fdatasync through the thread pool). */
export function createRealFs(): StorageFs {
  const realFs: StorageFs = {
    open(path, mode) {
      return nodeFs.openSync(path, openFlags[mode], 0o644);
    },
    close(fd) {
      nodeFs.closeSync(fd);
    },
    pwrite(fd, data, position) {
      assert(Number.isSafeInteger(position) && position >= 0, `bad write position ${position}`);
      let written = 0;
      while (written < data.length) {
        const count = nodeFs.writeSync(fd, data, written, data.length - written, position + written);
        assert(count > 0, "writeSync wrote nothing");
        written += count;
      }
      return written;
    },
    pread(fd, into, position) {
      let total = 0;
      while (total < into.length) {
        const count = nodeFs.readSync(fd, into, total, into.length - total, position + total);
        if (count === 0) break;
        total += count;
      }
      return total;
    },
    ftruncate(fd, size) {
      nodeFs.ftruncateSync(fd, size);
    },
    truncateInBackground(fd, size) {
      return callback<void>((done) => nodeFs.ftruncate(fd, size, (error) => done(error, undefined)));
    },
    writeFileInBackground: writeFileOffLoop,
    allocate(fd, offset, length) {
      native.fallocate(fd, offset, length, false);
    },
    size(fd) {
      return nodeFs.fstatSync(fd).size;
    },
    datasync: datasyncFd,
    rename(from, to) {
      nodeFs.renameSync(from, to);
    },
    unlink(path) {
      nodeFs.unlinkSync(path);
    },
    readdir(path) {
      try {
        return nodeFs.readdirSync(path);
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return [];
        throw error;
      }
    },
    mkdir(path) {
      nodeFs.mkdirSync(path, { recursive: true });
    },
    removeDir(path) {
      nodeFs.rmSync(path, { recursive: true, force: true });
    },
    exists(path) {
      return nodeFs.existsSync(path);
    },
    async fsyncDir(path) {
      const fd = nodeFs.openSync(path, "r");
      try {
        await fsyncFd(fd);
      } finally {
        nodeFs.closeSync(fd);
      }
    },
    readFile(path) {
      try {
        return nodeFs.readFileSync(path);
      } catch (error) {
        if ((error as { code?: string }).code === "ENOENT") return null;
        throw error;
      }
    },
    async writeFileAtomic(path, data) {
      const temporary = `${path}.tmp`;
      const fd = nodeFs.openSync(temporary, "w");
      try {
        realFs.pwrite(fd, data, 0);
        await datasyncFd(fd);
      } finally {
        nodeFs.closeSync(fd);
      }
      nodeFs.renameSync(temporary, path);
      await realFs.fsyncDir(dirname(path));
    },
  };
  return realFs;
}

export const realFs: StorageFs = createRealFs();

/** Path helper kept here so that wrappers of StorageFs see the same layout. */
export function partitionDirectory(dataDir: string, topic: string, partition: number): string {
  return join(dataDir, `${topic}-${partition}`);
}
