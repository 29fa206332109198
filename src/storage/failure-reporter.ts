// Storage failures logged once per partition and state change, not once per request: a full disk
// refuses every produce request of every client until space is freed, and logging each refusal
// would flood the log (and, with it, fill the disk further). The first failure of a kind is logged
// at ERROR, repeats of it at DEBUG, a failure of another kind at ERROR again, and the first success
// after failures at INFO.

import type { Logger } from "../util/logger.ts";
import { KafkaError } from "../protocol/errors.ts";
import { StorageError } from "./segment.ts";

export class FailureReporter {
  /** The kind of the current failure (a system error code or the message), or null when healthy. */
  private failing: string | null = null;
  private repeats = 0;

  constructor(private readonly logger: Logger, private readonly what: string) {}

  get isFailing(): boolean {
    return this.failing !== null;
  }

  failed(error: unknown): void {
    const kind = error instanceof StorageError && error.systemCode !== null ? error.systemCode : error instanceof KafkaError ? error.message : String(error);
    const message = error instanceof Error ? error.message : String(error);
    if (kind === this.failing) {
      this.repeats += 1;
      this.logger.debug(`${this.what} failed again`, { error: message });
      return;
    }
    this.failing = kind;
    this.repeats = 0;
    this.logger.error(`${this.what} failed; further failures of this kind are logged at debug level until it works again`, { error: message });
  }

  succeeded(): void {
    if (this.failing === null) return;
    this.logger.info(`${this.what} works again`, { after: this.failing, failuresNotLogged: this.repeats });
    this.failing = null;
    this.repeats = 0;
  }
}
