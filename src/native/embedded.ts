// Entry for compiled single binaries only: embeds native/build/librunnel.so into the binary.
//
// `bun build --compile` follows this `with { type: "file" }` import, copies the library into the
// binary's embedded file system, and replaces the import with its path there (`/$bunfs/root/…`),
// which bun:ffi's dlopen can open. Import this module FIRST in the binary's entry, before anything
// that imports src/native/index.ts:
//
//   // src/bin.ts (the entry given to bun build --compile)
//   import "./native/embedded.ts";
//   import "./main.ts";
//
// The import fails to bundle when the library was not built (no C compiler): build such a binary
// from an entry without this line; it then runs on the pure-TypeScript fallback. Normal runs
// (`bun src/main.ts`, `bun test`) never import this module: ffi.ts finds the library on disk.

import libraryPath from "../../native/build/librunnel.so" with { type: "file" };
import { registerEmbeddedLibrary } from "./library-path.ts";

registerEmbeddedLibrary(libraryPath);
