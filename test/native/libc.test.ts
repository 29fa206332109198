// The system C library through bun:ffi (src/native/libc.ts): flock for the data directory lock and
// RLIMIT_NOFILE. These work without the native helper (also under RUNNEL_NATIVE=0, which this file
// runs in too); RUNNEL_LIBC=0 turns them off to exercise the fallbacks.

import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LOCK_EX, LOCK_NB, loadLibc, raiseDescriptorLimit } from "../../src/native/libc.ts";
import { DataDirectoryLockedError, lockDataDirectory } from "../../src/storage/dir-lock.ts";

const libc = loadLibc();
const directory = mkdtempSync(join(tmpdir(), "runnel-libc-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const libcModule = resolve(import.meta.dir, "../../src/native/libc.ts");

/** Run a snippet in a fresh bun process (limits are per process); its stdout parsed as JSON. */
function inChild(source: string, env: Record<string, string> = {}): Record<string, unknown> {
  const result = Bun.spawnSync([process.execPath, "-e", source], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`child failed: ${result.stderr.toString()}`);
  return JSON.parse(result.stdout.toString().trim());
}

describe.skipIf(libc === null)("the C library", () => {
  test("flock: a second exclusive lock of the same file is refused until the first is released", () => {
    const path = join(directory, "flocked");
    const first = openSync(path, "a+");
    const second = openSync(path, "a+");
    try {
      expect(libc!.flock(first, LOCK_EX | LOCK_NB)).toBe(0);
      expect(["EAGAIN", "EWOULDBLOCK"]).toContain(libc!.flock(second, LOCK_EX | LOCK_NB) as string);
      closeSync(first); // closing the only descriptor of an open file drops its lock
      expect(libc!.flock(second, LOCK_EX | LOCK_NB)).toBe(0);
    } finally {
      closeSync(second);
    }
  });

  test("raiseDescriptorLimit lifts a lowered soft RLIMIT_NOFILE to the hard limit", () => {
    const result = inChild(`
      import { loadLibc, raiseDescriptorLimit } from ${JSON.stringify(libcModule)};
      const libc = loadLibc();
      const lowered = libc.setDescriptorSoftLimit(100);
      const before = libc.descriptorLimit();
      console.log(JSON.stringify({ lowered, before: before.soft, ...raiseDescriptorLimit() }));
    `);
    expect(result.lowered).toBe(0);
    expect(result.before).toBe(100);
    expect(result.outcome).toBe("raised from 100");
    expect(result.soft).toBe(result.hard);
  });

  test("the data directory lock names its holder; the lock file stays", () => {
    const lock = lockDataDirectory(directory);
    try {
      expect(lock.kind).toBe("flock");
      expect(readFileSync(join(directory, ".lock"), "utf8").trim()).toBe(String(process.pid));
      expect(() => lockDataDirectory(directory)).toThrow(DataDirectoryLockedError);
      expect(() => lockDataDirectory(directory)).toThrow(`(pid ${process.pid})`);
    } finally {
      lock.release();
    }
    lockDataDirectory(directory).release(); // free again
  });
});

describe("without the C library (RUNNEL_LIBC=0)", () => {
  test.skipIf(process.platform !== "linux")("the limit is read from /proc and reported as not raised", () => {
    const result = inChild(`
      import { raiseDescriptorLimit, loadLibc } from ${JSON.stringify(libcModule)};
      console.log(JSON.stringify({ libc: loadLibc() !== null, ...raiseDescriptorLimit() }));
    `, { RUNNEL_LIBC: "0" });
    expect(result.libc).toBe(false);
    expect(result.outcome).toContain("ulimit -n");
    expect(Number(result.soft)).toBeGreaterThan(0);
  });

  test("the pid-file lock takes over a dead holder's file and empties it on release", () => {
    const pidDirectory = mkdtempSync(join(directory, "pid-"));
    writeFileSync(join(pidDirectory, ".lock"), "2147483646\n"); // no such process
    const lock = lockDataDirectory(pidDirectory, { forcePidFile: true });
    expect(lock.kind).toBe("pid-file");
    expect(readFileSync(join(pidDirectory, ".lock"), "utf8").trim()).toBe(String(process.pid));
    lock.release();
    expect(readFileSync(join(pidDirectory, ".lock"), "utf8")).toBe("");
  });

  test("the pid-file lock refuses a live holder", () => {
    const pidDirectory = mkdtempSync(join(directory, "pid-"));
    const holder = Bun.spawn(["sleep", "30"]);
    try {
      writeFileSync(join(pidDirectory, ".lock"), `${holder.pid}\n`);
      expect(() => lockDataDirectory(pidDirectory, { forcePidFile: true })).toThrow(`(pid ${holder.pid})`);
    } finally {
      holder.kill();
    }
  });
});
