// Where the compiled native library is, when it is embedded in a single binary.
//
// This module has no imports on purpose: `embedded.ts` sets the path before any module that loads
// the library is evaluated (see the header of ffi.ts for the whole scheme).

let embeddedLibraryPath: string | null = null;

/** Called once by src/native/embedded.ts with the path Bun gives the embedded file. */
export function registerEmbeddedLibrary(path: string): void {
  embeddedLibraryPath = path;
}

/** The embedded library's path (`/$bunfs/root/…` inside a compiled binary), or null. */
export function embeddedLibrary(): string | null {
  return embeddedLibraryPath;
}
