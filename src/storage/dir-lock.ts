// The lock on a data directory: `<data dir>/.lock`, held for the life of the node, as Kafka locks
// each log directory before it touches anything in it. Without it a second node started on the same
// directory recovered (truncated) the live node's active segments before it failed to bind its
// port, and with other ports both served and wrote the same files.
//
// How: an exclusive flock(2) on the file (LOCK_EX | LOCK_NB), through the system C library
// (native/libc.ts), so it works without the native helper, under RUNNEL_NATIVE=0 and in the single
// binary. The kernel drops the lock when the holder's descriptor closes — also when the process is
// killed (kill -9) — so a crashed node never leaves the directory locked. The holder writes its pid
// into the file, only so that the refusal can name it; the file itself is never removed (removing
// it would let a third process lock a fresh file while the second still holds the unlinked one).
//
// Fallback, only where the C library cannot be opened (see libc.ts): a pid file. The file holds the
// pid of the running node; a start that finds the pid of a live process (kill(pid, 0)) refuses; a
// dead pid (a crash) is taken over. Weaker than flock: a recycled pid of an unrelated process makes
// a start refuse wrongly (remove the file by hand then), and two starts in the same instant may both
// pass the check. Written through a temporary file and rename, then read back.

import { closeSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync, constants } from "node:fs";
import { join } from "node:path";
import { LOCK_EX, LOCK_NB, libcUnavailableReason, loadLibc } from "../native/libc.ts";
import { assert } from "../util/assert.ts";

export const lockFileName = ".lock";

/** A second node on a locked data directory: one line naming the directory and the holder. */
export class DataDirectoryLockedError extends Error {
  constructor(readonly directory: string, readonly holderPid: number | null) {
    super(`data directory ${directory} is in use by another Runnel process (${holderPid === null ? "pid unknown" : `pid ${holderPid}`}): ${join(directory, lockFileName)} is locked`);
    this.name = "DataDirectoryLockedError";
  }
}

export interface DirectoryLock {
  readonly directory: string;
  /** "flock" (the OS lock) or "pid-file" (the fallback). */
  readonly kind: "flock" | "pid-file";
  /** Let go of the lock (idempotent). */
  release(): void;
}

export interface LockOptions {
  /** Test hook: use the pid-file fallback even where flock is available. */
  forcePidFile?: boolean;
}

function readHolderPid(path: string): number | null {
  try {
    const text = readFileSync(path, "utf8").trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/**
 * Take the lock on `directory` (which must exist). Throws DataDirectoryLockedError when another
 * process holds it; other errors (EACCES, EROFS, …) are thrown as they come.
 */
export function lockDataDirectory(directory: string, options: LockOptions = {}): DirectoryLock {
  const libc = options.forcePidFile ? null : loadLibc();
  return libc === null ? lockWithPidFile(directory) : lockWithFlock(directory, libc);
}

function lockWithFlock(directory: string, libc: NonNullable<ReturnType<typeof loadLibc>>): DirectoryLock {
  const path = join(directory, lockFileName);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
  const outcome = libc.flock(fd, LOCK_EX | LOCK_NB);
  if (outcome !== 0) {
    closeSync(fd);
    if (outcome === "EAGAIN" || outcome === "EWOULDBLOCK") throw new DataDirectoryLockedError(directory, readHolderPid(path));
    const error = new Error(`flock ${path}: ${outcome}`) as Error & { code: string };
    error.code = outcome;
    throw error;
  }
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let held = true;
  return {
    directory,
    kind: "flock",
    release() {
      if (!held) return;
      held = false;
      closeSync(fd); // closing the only descriptor of the open file drops the flock
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"; // alive, owned by someone else
  }
}

function lockWithPidFile(directory: string): DirectoryLock {
  const path = join(directory, lockFileName);
  const holder = readHolderPid(path);
  if (holder !== null && holder !== process.pid && isAlive(holder)) throw new DataDirectoryLockedError(directory, holder);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${process.pid}\n`, { mode: 0o644 });
  renameSync(temporary, path);
  const readBack = readHolderPid(path);
  if (readBack !== process.pid) throw new DataDirectoryLockedError(directory, readBack);
  let held = true;
  return {
    directory,
    kind: "pid-file",
    release() {
      if (!held) return;
      held = false;
      // Leave the file empty rather than removing it: the next start then finds no holder at all.
      if (readHolderPid(path) === process.pid) writeFileSync(path, "");
    },
  };
}

/** One line for the start-up log: how the directory is locked. */
export function describeLock(lock: DirectoryLock): string {
  assert(lock.kind === "flock" || lock.kind === "pid-file", "known lock kind");
  return lock.kind === "flock" ? "flock" : `pid file (no C library: ${libcUnavailableReason})`;
}
