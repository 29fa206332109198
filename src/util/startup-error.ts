// Start-up failures as one line that says what failed and where: `runnel: <what> <where>: <why>`,
// then a non-zero exit, never a runtime stack trace (bad path, a file given as data directory, a
// read-only directory, a port in use, a locked data directory, damaged metadata).

/** A failure of one start-up step, already worded for the operator. */
export class StartupError extends Error {
  constructor(message: string, readonly original?: unknown) {
    super(message);
    this.name = "StartupError";
  }
}

/** A system error (code, syscall, path) or any other error, as a short phrase. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, syscall, path } = error as { code?: string; syscall?: string; path?: string };
  const plain: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOTDIR: "a path component is not a directory",
    EEXIST: "already exists",
    ENOENT: "no such file or directory",
    ENOSPC: "no space left on device",
    EMFILE: "too many open files (raise ulimit -n)",
    EADDRINUSE: "address already in use",
    EADDRNOTAVAIL: "address not available on this host",
  };
  if (code && plain[code]) return `${plain[code]} (${code}${syscall ? ` in ${syscall}` : ""}${path ? ` of ${path}` : ""})`;
  return error.message.split("\n")[0]!;
}

/** Run a start-up step; any failure becomes a StartupError "<what>: <why>". */
export async function startupStep<T>(what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(`${what}: ${describeError(error)}`, error);
  }
}
