// Errors of the native helper, shaped like Node's system errors (`code` is the errno name,
// `errno` the positive number, `syscall` the call), so callers handle a full disk from the C
// library and from the fallback alike: `if ((error as NativeError).code === "ENOSPC") …`.

import { constants } from "node:os";

export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // Linux aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK): keep the first, canonical name.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The errno name of a positive errno number, e.g. 28 → "ENOSPC"; "E<number>" when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export function errnoNumber(name: string): number {
  const value = (constants.errno as Record<string, number>)[name];
  return value ?? 0;
}

/** Builds the Error for a failed call; `errno` is positive (the C library returns -errno). */
export function nativeError(syscall: string, errno: number, detail: string): NativeError {
  const code = errnoName(errno);
  const error = new Error(`${syscall} failed: ${code} (${detail})`) as NativeError;
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  return error;
}
