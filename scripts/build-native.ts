// Compiles the native helper native/runnel.c into native/build/librunnel.so.
//
// Run by `bun install` (the package's postinstall) and by `bun run build:native`.
// - No C compiler on the machine: prints one clear line and exits 0. Runnel then runs on the
//   pure-TypeScript fallback (src/native/fallback.ts), so an install never fails for lack of gcc.
// - A compiler that rejects our source is a bug in our C: the error is printed and the script
//   exits 1, except during `bun install`, where it exits 0 so that installing still completes.
// - The library is written to a temporary name and renamed into place, so a process loading it
//   at the same moment never sees half a file.
//
// Compiler: $CC when set, else the first of gcc, cc, clang found on PATH.
// Options: --if-stale  skip the build when the library is newer than the source (used by tests).

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const repositoryRoot = resolve(import.meta.dir, "..");
export const nativeSourcePath = join(repositoryRoot, "native", "runnel.c");
export const nativeLibraryPath = join(repositoryRoot, "native", "build", "librunnel.so");

const compilerFlags = ["-O2", "-shared", "-fPIC", "-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"];

function findCompiler(): string | null {
  const candidates = [process.env.CC, "gcc", "cc", "clang"].filter((name): name is string => !!name);
  for (const candidate of candidates) {
    const found = Bun.which(candidate);
    if (found) return found;
  }
  return null;
}

function isStale(): boolean {
  if (!existsSync(nativeLibraryPath)) return true;
  return statSync(nativeLibraryPath).mtimeMs < statSync(nativeSourcePath).mtimeMs;
}

export type BuildOutcome = "built" | "up-to-date" | "no-compiler" | "failed";

export function buildNative(options: { ifStale?: boolean } = {}): BuildOutcome {
  if (options.ifStale && !isStale()) return "up-to-date";
  const compiler = findCompiler();
  if (!compiler) {
    console.log(
      "runnel native: no C compiler found (tried $CC, gcc, cc, clang); skipping librunnel.so — " +
        "Runnel will use the pure-TypeScript fallback (slower CRC-32C, no mmap).",
    );
    return "no-compiler";
  }
  mkdirSync(join(repositoryRoot, "native", "build"), { recursive: true });
  const temporaryPath = `${nativeLibraryPath}.${process.pid}.tmp`;
  const result = Bun.spawnSync([compiler, ...compilerFlags, "-o", temporaryPath, nativeSourcePath], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const diagnostics = (result.stdout.toString() + result.stderr.toString()).trim();
  if (!result.success) {
    rmSync(temporaryPath, { force: true });
    console.error(`runnel native: ${compiler} failed to compile native/runnel.c:\n${diagnostics}`);
    console.error("runnel native: FAILED; Runnel will use the pure-TypeScript fallback.");
    return "failed";
  }
  if (diagnostics) console.error(diagnostics);
  renameSync(temporaryPath, nativeLibraryPath);
  console.log(`runnel native: built native/build/librunnel.so with ${compiler}`);
  return "built";
}

if (import.meta.main) {
  const outcome = buildNative({ ifStale: process.argv.includes("--if-stale") });
  const duringInstall = process.env.npm_lifecycle_event === "postinstall";
  process.exit(outcome === "failed" && !duringInstall ? 1 : 0);
}
