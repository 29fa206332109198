// Assertions state what must be true; a failure is a programmer error, never an operating error
// (bad input, a full disk, a dead peer are answered with a KafkaError instead).

export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/**
 * `message` may be a function, built only when the assertion fails: on hot paths a template string
 * with bigints costs more than the check itself.
 */
export function assert(condition: unknown, message: string | (() => string) = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(typeof message === "function" ? message() : message);
}

export function unreachable(value: never, message = "unreachable"): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
