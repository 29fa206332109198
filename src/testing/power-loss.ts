// Test-only model of what survives a power loss, for a directory tree on a real file system.
//
// `kill -9` leaves the page cache alive, so it never loses a written byte; a power loss loses
// every write that no fdatasync covered. This model keeps, for every file under `root`, the image
// that is on stable storage ("durable image") and, on `crash()`, rewrites the tree to those
// images. The file layer under test (src/testing/fault-fs.ts) reports each durability point here.
//
// Rules (simple, and on the strict side of what Linux file systems give):
// - Content: `datasync(path)` makes the file's bytes as they are *when the sync is called* its
//   durable image (bytes written later, even while that sync runs, are not covered). Writes
//   through a shared memory mapping land in the page cache, so the snapshot sees them too.
//   A size change (ftruncate, fallocate) is durable with the next datasync, like any write.
// - Names: a file created and never synced is lost. Its name becomes durable with its first
//   datasync (what ext4/xfs give for a new file; POSIX strictly asks for an fsync of the
//   directory too: `strictDirectories` models that) or an fsync of its directory.
//   rename and unlink are pending until their directory is fsynced (or, for rename, until the
//   renamed file is datasynced under its new name in the non-strict mode); a crash before that
//   undoes them: a deleted file comes back with its durable image, a renamed one goes back.
// - Directories themselves are assumed durable once created (mkdir is not modelled).
// - Files present under `root` when the model starts are taken as durable as they are.
//
// On crash, `tear` chooses what happens to bytes written after the last sync of each file:
//   "none"   – all lost (the durable image exactly);
//   "prefix" – a random prefix of the changed region survives (a torn write: the file system
//              wrote back some pages, not all);
//   "zeros"  – the file keeps a random part of its new length but those bytes read as zeros
//              (size metadata committed, data blocks not: the classic zero-filled tail).

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { assert } from "../util/assert.ts";
import { prng } from "./record-batches.ts";

export type TearMode = "none" | "prefix" | "zeros";

export interface CrashOptions {
  tear?: TearMode;
  seed?: number;
  /** How a file is given its after-crash bytes (default: overwrite in place). */
  rewrite?: (path: string, bytes: Uint8Array) => void;
}

export interface CrashReport {
  /** Files removed because their name never became durable. */
  removed: string[];
  /** Files rewritten to their durable image (with how many bytes were lost or torn). */
  rewritten: { path: string; durableBytes: number; keptBytes: number; lostBytes: number }[];
  /** Files brought back because their unlink or rename never became durable. */
  restored: string[];
}

type PendingOp = { kind: "rename"; from: string; to: string } | { kind: "unlink"; path: string };

function walkFiles(root: string, out: string[] = []): string[] {
  if (!existsSync(root)) return out;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) walkFiles(path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

export class PowerLossModel {
  readonly root: string;
  readonly strictDirectories: boolean;
  /** Durable namespace: path → durable content (empty when the name is durable but no data). */
  private readonly durable = new Map<string, Uint8Array>();
  private pending: PendingOp[] = [];
  private crashedFlag = false;
  /** How many durability points were reported (datasyncs and directory fsyncs). */
  syncCount = 0;

  constructor(root: string, options: { strictDirectories?: boolean } = {}) {
    this.root = resolve(root);
    this.strictDirectories = options.strictDirectories ?? false;
    for (const path of walkFiles(this.root)) this.durable.set(path, new Uint8Array(readFileSync(path)));
  }

  get crashed(): boolean {
    return this.crashedFlag;
  }

  owns(path: string): boolean {
    const relativePath = relative(this.root, resolve(path));
    return !relativePath.startsWith("..") && !relativePath.startsWith("/");
  }

  /**
   * Called when a datasync of `path` starts: returns the commit to run once the real sync has
   * succeeded. Taking the snapshot at the start is what makes concurrent writes uncovered.
   */
  beginDatasync(path: string): () => void {
    const absolute = resolve(path);
    if (this.crashedFlag || !this.owns(absolute)) return () => {};
    const image = new Uint8Array(readFileSync(absolute));
    return () => {
      if (this.crashedFlag) return;
      this.syncCount++;
      if (!this.strictDirectories) this.applyPendingRenamesTo(absolute);
      if (this.strictDirectories && !this.durable.has(absolute)) {
        // The data is on disk but the name is not: keep the image aside under the name it will
        // get when the directory is synced. Modelled by recording it only if the name is durable.
        this.unnamedImages.set(absolute, image);
        return;
      }
      this.durable.set(absolute, image);
    };
  }

  /** Strict mode: synced content of files whose names are not durable yet. */
  private readonly unnamedImages = new Map<string, Uint8Array>();

  /** The directory `dir` was fsynced: its pending renames/unlinks and new names become durable. */
  fsyncDirectory(dir: string): void {
    const absoluteDir = resolve(dir);
    if (this.crashedFlag || !this.owns(absoluteDir)) return;
    this.syncCount++;
    const remaining: PendingOp[] = [];
    for (const op of this.pending) {
      const touches =
        op.kind === "rename"
          ? dirname(op.from) === absoluteDir || dirname(op.to) === absoluteDir
          : dirname(op.path) === absoluteDir;
      if (touches) this.applyOp(op);
      else remaining.push(op);
    }
    this.pending = remaining;
    // Names of files created in this directory become durable (with whatever data was synced).
    for (const path of walkFiles(absoluteDir)) {
      if (dirname(path) !== absoluteDir || this.durable.has(path)) continue;
      if (this.pending.some((op) => op.kind === "rename" && op.to === path)) continue;
      this.durable.set(path, this.unnamedImages.get(path) ?? new Uint8Array(0));
      this.unnamedImages.delete(path);
    }
  }

  renamed(from: string, to: string): void {
    if (this.crashedFlag) return;
    const op: PendingOp = { kind: "rename", from: resolve(from), to: resolve(to) };
    if (!this.owns(op.from) && !this.owns(op.to)) return;
    this.pending.push(op);
  }

  unlinked(path: string): void {
    if (this.crashedFlag || !this.owns(path)) return;
    this.pending.push({ kind: "unlink", path: resolve(path) });
  }

  private applyPendingRenamesTo(path: string): void {
    const remaining: PendingOp[] = [];
    for (const op of this.pending) {
      if (op.kind === "rename" && op.to === path) this.applyOp(op);
      else remaining.push(op);
    }
    this.pending = remaining;
  }

  private applyOp(op: PendingOp): void {
    if (op.kind === "unlink") {
      this.durable.delete(op.path);
      this.unnamedImages.delete(op.path);
      return;
    }
    const image = this.durable.get(op.from) ?? this.unnamedImages.get(op.from) ?? new Uint8Array(0);
    this.durable.delete(op.from);
    this.unnamedImages.delete(op.from);
    this.durable.set(op.to, image);
  }

  /**
   * The power goes out: from now on every report is ignored (the wrapper refuses all calls), and
   * the tree under `root` is rewritten to what stable storage holds.
   */
  crash(options: CrashOptions = {}): CrashReport {
    assert(!this.crashedFlag, "crash() called twice");
    this.crashedFlag = true;
    const tear = options.tear ?? "none";
    const random = prng(options.seed ?? 1);
    const rewrite = options.rewrite ?? ((path: string, bytes: Uint8Array) => writeFileSync(path, bytes));
    const report: CrashReport = { removed: [], rewritten: [], restored: [] };
    for (const path of walkFiles(this.root)) {
      const image = this.durable.get(path);
      if (image === undefined) {
        unlinkSync(path);
        report.removed.push(path);
        continue;
      }
      const current = new Uint8Array(readFileSync(path));
      const after = tornImage(image, current, tear, random);
      if (!sameBytes(after, current)) {
        rewrite(path, after);
        report.rewritten.push({
          path,
          durableBytes: image.length,
          keptBytes: after.length,
          lostBytes: Math.max(0, current.length - after.length),
        });
      }
    }
    for (const [path, image] of this.durable) {
      if (existsSync(path)) continue;
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, image);
      report.restored.push(path);
    }
    return report;
  }

  /** Bytes of `path`'s durable image, or undefined when its name is not durable. */
  durableImage(path: string): Uint8Array | undefined {
    return this.durable.get(resolve(path));
  }
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** What a file holds after the crash, given its durable image and its current (cached) bytes. */
function tornImage(image: Uint8Array, current: Uint8Array, tear: TearMode, random: () => number): Uint8Array {
  if (tear === "none") return image;
  // The changed region: from the first differing byte to the end of the longer version.
  let firstDiff = 0;
  const common = Math.min(image.length, current.length);
  while (firstDiff < common && image[firstDiff] === current[firstDiff]) firstDiff++;
  const changedEnd = Math.max(image.length, current.length);
  if (firstDiff === changedEnd) return image;
  const kept = Math.floor(random() * (changedEnd - firstDiff + 1));
  const keptEnd = firstDiff + kept;
  const length = Math.max(image.length, Math.min(current.length, keptEnd));
  const out = new Uint8Array(length);
  out.set(image.subarray(0, Math.min(image.length, length)));
  if (tear === "prefix") {
    out.set(current.subarray(firstDiff, Math.min(keptEnd, current.length)), firstDiff);
  }
  // "zeros": the new length survived, its data did not: the bytes past the durable image stay
  // zero (durable bytes are never touched).
  return out;
}

/** Size of a file, 0 when absent (helper for tests). */
export function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}
