// Test-only fault-injecting StorageFs: wraps the real file layer, reports every durability point
// to a PowerLossModel (src/testing/power-loss.ts), and can
//   - simulate a power loss: `crash()` stops the world (every later call throws EIO, like a dead
//     machine) and rewrites every file under the root to what stable storage held;
//   - fail chosen calls with an errno (ENOSPC on pwrite, EIO on datasync, …) through `inject`.
//
// The wrapper does all its work through the wrapped layer's primitives, including
// `writeFileAtomic` (temp file, datasync, rename, directory fsync), so the model sees each step.
//
// On crash, files are rewritten as new inodes (temp file + rename over the old name), never
// truncated in place: the dead log instance may still hold read mappings of the old files, and
// shrinking a mapped file would SIGBUS the test process on a stray read.

import { closeSync, readdirSync, renameSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { OpenMode, StorageFs } from "../storage/fs.ts";
import { PowerLossModel, type CrashOptions, type CrashReport } from "./power-loss.ts";

export type FsOperation = "open" | "pwrite" | "pread" | "ftruncate" | "allocate" | "datasync" | "fsyncDir" | "rename" | "unlink" | "writeFileAtomic";

/** Return an errno name ("ENOSPC", "EIO", …) to make the call fail without doing anything, or null. */
export type FaultInjector = (operation: FsOperation, path: string, bytes: number) => string | null;

export function systemError(code: string, operation: string, path: string): Error & { code: string; syscall: string } {
  const error = new Error(`${code}: injected fault, ${operation} '${path}'`) as Error & { code: string; syscall: string };
  error.code = code;
  error.syscall = operation;
  return error;
}

export interface FaultFsOptions {
  /** Every file the log touches lives under this directory (the data directory). */
  root: string;
  inner: StorageFs;
  strictDirectories?: boolean;
  inject?: FaultInjector;
}

export class FaultFs implements StorageFs {
  readonly model: PowerLossModel;
  inject: FaultInjector | null;
  private readonly inner: StorageFs;
  private readonly paths = new Map<number, string>();
  private dead = false;
  /**
   * Descriptors with a background truncate in flight. A crash must not close them under it: the
   * number would be reused by the next instance's open, and the late ftruncate would cut a file
   * of the recovered log (seen: a reopened segment shrunk below its mapping). A real power loss
   * kills the thread too; here the truncate finishes on the old inode and the descriptor is closed
   * then.
   */
  private readonly truncating = new Map<number, number>();
  private readonly closeWhenIdle = new Set<number>();
  /** Counters, for tests that want to see the durability points happen. */
  readonly counts = { datasync: 0, fsyncDir: 0, pwrite: 0, pwriteBytes: 0 };

  constructor(options: FaultFsOptions) {
    this.inner = options.inner;
    this.model = new PowerLossModel(options.root, { strictDirectories: options.strictDirectories });
    this.inject = options.inject ?? null;
  }

  get crashed(): boolean {
    return this.dead;
  }

  private check(operation: FsOperation, path: string, bytes = 0): void {
    if (this.dead) throw systemError("EIO", operation, `${path} (power lost)`);
    const code = this.inject?.(operation, path, bytes) ?? null;
    if (code !== null) throw systemError(code, operation, path);
  }

  private pathOf(fd: number): string {
    return this.paths.get(fd) ?? `<fd ${fd}>`;
  }

  open(path: string, mode: OpenMode): number {
    this.check("open", path);
    const fd = this.inner.open(path, mode);
    this.paths.set(fd, resolve(path));
    return fd;
  }

  close(fd: number): void {
    if (this.dead) return; // fds of the dead instance were closed by crash()
    this.paths.delete(fd);
    this.inner.close(fd);
  }

  pwrite(fd: number, data: Uint8Array, position: number): number {
    this.check("pwrite", this.pathOf(fd), data.length);
    this.counts.pwrite++;
    this.counts.pwriteBytes += data.length;
    return this.inner.pwrite(fd, data, position);
  }

  pread(fd: number, into: Uint8Array, position: number): number {
    this.check("pread", this.pathOf(fd), into.length);
    return this.inner.pread(fd, into, position);
  }

  ftruncate(fd: number, size: number): void {
    this.check("ftruncate", this.pathOf(fd), size);
    this.inner.ftruncate(fd, size);
  }

  async truncateInBackground(fd: number, size: number): Promise<void> {
    this.check("ftruncate", this.pathOf(fd), size);
    this.truncating.set(fd, (this.truncating.get(fd) ?? 0) + 1);
    try {
      await this.inner.truncateInBackground(fd, size);
    } finally {
      const left = this.truncating.get(fd)! - 1;
      if (left > 0) this.truncating.set(fd, left);
      else {
        this.truncating.delete(fd);
        if (this.closeWhenIdle.delete(fd)) closeSync(fd);
      }
    }
    if (this.dead) throw systemError("EIO", "ftruncate", `${this.pathOf(fd)} (power lost)`);
  }

  async writeFileInBackground(path: string, data: Uint8Array): Promise<number> {
    this.check("open", path);
    this.check("pwrite", path, data.length);
    const fd = await this.inner.writeFileInBackground(path, data);
    if (this.dead) {
      closeSync(fd); // a crash came in meanwhile: the dead instance holds no descriptors
      throw systemError("EIO", "open", `${path} (power lost)`);
    }
    this.paths.set(fd, resolve(path));
    this.counts.pwrite++;
    this.counts.pwriteBytes += data.length;
    return fd;
  }

  allocate(fd: number, offset: number, length: number): void {
    this.check("allocate", this.pathOf(fd), length);
    this.inner.allocate(fd, offset, length);
  }

  size(fd: number): number {
    if (this.dead) throw systemError("EIO", "size", this.pathOf(fd));
    return this.inner.size(fd);
  }

  async datasync(fd: number): Promise<void> {
    const path = this.pathOf(fd);
    this.check("datasync", path);
    // Snapshot now: what the real fdatasync below covers is what was written before this call.
    const commit = this.model.beginDatasync(path);
    await this.inner.datasync(fd);
    if (this.dead) throw systemError("EIO", "datasync", `${path} (power lost during the sync)`);
    this.counts.datasync++;
    commit();
  }

  rename(from: string, to: string): void {
    this.check("rename", from);
    this.inner.rename(from, to);
    this.model.renamed(from, to);
    const absoluteFrom = resolve(from);
    for (const [fd, path] of this.paths) if (path === absoluteFrom) this.paths.set(fd, resolve(to));
  }

  unlink(path: string): void {
    this.check("unlink", path);
    this.inner.unlink(path);
    this.model.unlinked(path);
  }

  readdir(path: string): string[] {
    if (this.dead) throw systemError("EIO", "readdir", path);
    return this.inner.readdir(path);
  }

  mkdir(path: string): void {
    if (this.dead) throw systemError("EIO", "mkdir", path);
    this.inner.mkdir(path);
  }

  removeDir(path: string): void {
    if (this.dead) throw systemError("EIO", "removeDir", path);
    const files = existsSync(path) ? listFiles(path) : [];
    this.inner.removeDir(path);
    for (const file of files) this.model.unlinked(file);
  }

  exists(path: string): boolean {
    if (this.dead) throw systemError("EIO", "exists", path);
    return this.inner.exists(path);
  }

  async fsyncDir(path: string): Promise<void> {
    this.check("fsyncDir", path);
    await this.inner.fsyncDir(path);
    if (this.dead) throw systemError("EIO", "fsyncDir", `${path} (power lost during the sync)`);
    this.counts.fsyncDir++;
    this.model.fsyncDirectory(path);
  }

  readFile(path: string): Uint8Array | null {
    if (this.dead) throw systemError("EIO", "readFile", path);
    return this.inner.readFile(path);
  }

  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    this.check("writeFileAtomic", path, data.length);
    const temporary = `${path}.tmp`;
    const fd = this.open(temporary, "create");
    try {
      this.ftruncate(fd, 0);
      this.pwrite(fd, data, 0);
      await this.datasync(fd);
    } finally {
      this.close(fd);
    }
    this.rename(temporary, path);
    await this.fsyncDir(dirname(path));
  }

  /**
   * Power loss. Every later call fails with EIO; open fds are closed; every file under the root is
   * rewritten to its durable image (torn as `options.tear` says). Reopen the log with the real fs.
   */
  crash(options: CrashOptions = {}): CrashReport {
    if (this.dead) throw new Error("crash() called twice");
    this.dead = true;
    for (const fd of this.paths.keys()) {
      if (this.truncating.has(fd)) {
        this.closeWhenIdle.add(fd);
        continue;
      }
      try {
        closeSync(fd);
      } catch {
        // Already closed by the log; nothing to do.
      }
    }
    this.paths.clear();
    return this.model.crash({ ...options, rewrite: rewriteAsNewInode });
  }
}

function listFiles(directory: string, out: string[] = []): string[] {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) listFiles(path, out);
    else out.push(path);
  }
  return out;
}

/** Replace `path` with `bytes` as a new inode, so live mappings of the old file stay valid. */
function rewriteAsNewInode(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.power-loss-rewrite`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
}

/** Reads a whole file (helper for tests comparing before/after images). */
export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
