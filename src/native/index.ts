// The native helper as the rest of Runnel sees it: `import { native } from "../native/index.ts"`.
//
// `native` is the C library (src/native/ffi.ts) when it can be loaded, else the pure-TypeScript
// fallback (src/native/fallback.ts). Check `native.canMap` before mapping files.
//
// RUNNEL_NATIVE selects:
//   unset / "auto"  the C library if it loads, else the fallback (logged at debug level, or at warn
//                   level when a library exists but is refused, e.g. a stale ABI version);
//   "0"             always the fallback;
//   "1"             the C library or a thrown Error at startup (CI uses it to be sure the native
//                   path is the one under test).
//
// Tests that need both implementations use `loadNative()` and `fallback` directly.

import { createLogger } from "../util/logger.ts";
import { fallback } from "./fallback.ts";
import { loadNativeLibrary, resolveLibraryPath, type NativeLibrary } from "./ffi.ts";
import type { NativeApi } from "./types.ts";

export type { Advice, MappedRegion, NativeApi } from "./types.ts";
export type { NativeLibrary } from "./ffi.ts";
export type { NativeError } from "./errors.ts";
export { fallback } from "./fallback.ts";

const log = createLogger("native");

/** Why the last loadNative() returned null, for messages and test skips. */
export let nativeUnavailableReason: string | null = null;

let cached: NativeLibrary | null | undefined;

/** The C library, or null when it is not built or cannot be loaded (see nativeUnavailableReason). */
export function loadNative(): NativeLibrary | null {
  if (cached !== undefined) return cached;
  const path = resolveLibraryPath();
  if (path === null) {
    nativeUnavailableReason = "native/build/librunnel.so is not built (no C compiler at install; run `bun run build:native`)";
    cached = null;
    return cached;
  }
  try {
    cached = loadNativeLibrary(path);
  } catch (error) {
    nativeUnavailableReason = `cannot load ${path}: ${(error as Error).message}`;
    log.warn("native library refused, using the TypeScript fallback", { reason: nativeUnavailableReason });
    cached = null;
  }
  return cached;
}

function choose(): NativeApi {
  const mode = process.env.RUNNEL_NATIVE ?? "auto";
  if (mode === "0") {
    log.debug("RUNNEL_NATIVE=0: using the TypeScript fallback");
    return fallback;
  }
  const library = loadNative();
  if (library) {
    log.debug("using the native library", { path: library.libraryPath, crcHardware: library.crcHardware });
    return library;
  }
  if (mode === "1") throw new Error(`RUNNEL_NATIVE=1 but the native library is unavailable: ${nativeUnavailableReason}`);
  log.debug("using the TypeScript fallback", { reason: nativeUnavailableReason });
  return fallback;
}

export const native: NativeApi = choose();
