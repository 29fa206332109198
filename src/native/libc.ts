// The system C library through bun:ffi, for the few calls that node:fs lacks: flock (the data
// directory lock, storage/dir-lock.ts) and getrlimit/setrlimit (the file descriptor limit).
//
// Why the system library and not the native helper (native/runnel.c): these calls must work on a
// machine without a C compiler and under RUNNEL_NATIVE=0, where the helper is not loaded; the C
// library is always there (Bun itself links against it), in the single binary too. It is a
// second dlopen table, kept to these calls and kept here, next to the helper's.
//
// loadLibc() answers null where the library cannot be opened (an unknown platform or libc); the
// callers then fall back (dir-lock.ts: a pid file with a liveness check; limits: read-only from
// /proc/self/limits) and say so. RUNNEL_LIBC=0 forces that, for tests of the fallbacks.
//
// Bun (like Node) already raises the soft RLIMIT_NOFILE to the hard limit when it starts (seen on
// Bun 1.4.4: `ulimit -S -n 256` gives a bun process 20000 = the hard limit); raiseDescriptorLimit
// still checks and raises, so a runtime that stops doing it does not leave us at 1024.

import { dlopen, ptr, read, type Pointer } from "bun:ffi";
import { readFileSync } from "node:fs";
import { errnoName } from "./errors.ts";

const linux = process.platform === "linux";
const darwin = process.platform === "darwin";

/** flock(2) operations (the same values on Linux and macOS). */
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
const RLIMIT_NOFILE = darwin ? 8 : 7;

export interface Libc {
  /** flock(fd, operation): 0, or the errno name ("EWOULDBLOCK" when held elsewhere with LOCK_NB). */
  flock(fd: number, operation: number): 0 | string;
  /** The soft and hard RLIMIT_NOFILE. */
  descriptorLimit(): { soft: number; hard: number };
  /** Set the soft RLIMIT_NOFILE; 0, or the errno name. */
  setDescriptorSoftLimit(soft: number): 0 | string;
}

function candidates(): string[] {
  if (darwin) return ["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"];
  if (linux) return ["libc.so.6", "libc.so"];
  return [];
}

function open(path: string) {
  return dlopen(path, {
    flock: { args: ["i32", "i32"], returns: "i32" },
    getrlimit: { args: ["i32", "ptr"], returns: "i32" },
    setrlimit: { args: ["i32", "ptr"], returns: "i32" },
    [darwin ? "__error" : "__errno_location"]: { args: [], returns: "ptr" },
  });
}

let cached: Libc | null | undefined;
/** Why loadLibc() answered null (for log lines and test skips). */
export let libcUnavailableReason: string | null = null;

export function loadLibc(): Libc | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.RUNNEL_LIBC === "0") {
    libcUnavailableReason = "RUNNEL_LIBC=0";
    return cached;
  }
  for (const path of candidates()) {
    try {
      cached = wrap(open(path).symbols);
      return cached;
    } catch (error) {
      libcUnavailableReason = `cannot open ${path}: ${(error as Error).message}`;
    }
  }
  libcUnavailableReason ??= `no C library known for platform ${process.platform}`;
  return cached;
}

type Symbols = ReturnType<typeof open>["symbols"];

function wrap(symbols: Symbols): Libc {
  const errnoLocation = (symbols as unknown as Record<string, () => Pointer | null>)[darwin ? "__error" : "__errno_location"]!;
  const lastError = (): string => {
    const location = errnoLocation();
    return location === null ? "EIO" : errnoName(read.i32(location, 0));
  };
  // struct rlimit is two rlim_t (64-bit unsigned on every 64-bit platform Bun runs on).
  const limit = new BigUint64Array(2);
  return {
    flock(fd, operation) {
      return symbols.flock(fd, operation) === 0 ? 0 : lastError();
    },
    descriptorLimit() {
      if (symbols.getrlimit(RLIMIT_NOFILE, ptr(limit)) !== 0) throw new Error(`getrlimit failed: ${lastError()}`);
      return { soft: limitNumber(limit[0]!), hard: limitNumber(limit[1]!) };
    },
    setDescriptorSoftLimit(soft) {
      if (symbols.getrlimit(RLIMIT_NOFILE, ptr(limit)) !== 0) return lastError();
      limit[0] = BigInt(soft);
      return symbols.setrlimit(RLIMIT_NOFILE, ptr(limit)) === 0 ? 0 : lastError();
    },
  };
}

/** RLIM_INFINITY (all ones) and anything beyond 2^53 read as "unlimited": Number.MAX_SAFE_INTEGER. */
function limitNumber(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/** The soft RLIMIT_NOFILE from /proc/self/limits (no libc), or null when it cannot be read. */
function procDescriptorLimit(): { soft: number; hard: number } | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((text) => text.startsWith("Max open files"));
    const match = line ? /^Max open files\s+(\S+)\s+(\S+)/.exec(line) : null;
    if (!match) return null;
    const parse = (text: string) => (text === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(text));
    return { soft: parse(match[1]!), hard: parse(match[2]!) };
  } catch {
    return null;
  }
}

export interface DescriptorLimit {
  /** The soft limit in force after the attempt to raise it. */
  soft: number;
  hard: number;
  /** What happened: "raised" from a lower soft limit, "unchanged" (already at the hard limit), or why not. */
  outcome: string;
}

/**
 * Raise the soft RLIMIT_NOFILE to the hard limit where allowed, and report the limit in force.
 * Without the C library the limit can only be read (from /proc/self/limits); an operator raises it
 * with `ulimit -n` before starting.
 */
export function raiseDescriptorLimit(): DescriptorLimit {
  const libc = loadLibc();
  if (libc === null) {
    const read = procDescriptorLimit() ?? { soft: 1024, hard: 1024 };
    return { ...read, outcome: `unchanged (no C library: ${libcUnavailableReason}; raise it with ulimit -n)` };
  }
  const before = libc.descriptorLimit();
  if (before.soft >= before.hard) return { ...before, outcome: "unchanged" };
  // macOS refuses values above OPEN_MAX with an unlimited hard limit: try the hard limit, then a cap.
  for (const target of [before.hard, 1 << 20, 1 << 16]) {
    if (target <= before.soft || target > before.hard) continue;
    if (libc.setDescriptorSoftLimit(target) === 0) return { ...libc.descriptorLimit(), outcome: `raised from ${before.soft}` };
  }
  return { ...before, outcome: "setrlimit refused" };
}
