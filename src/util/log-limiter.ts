// At most `perSecond` lines of one kind per second: a client (or an attacker) that fails to log in
// in a loop must not be able to flood the log. Lines over the budget are counted, and the next
// line written carries how many were left out.

export class LogLimiter {
  private windowStartMs = 0;
  private writtenInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly perSecond: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Null when this line must be left out; else the count of lines left out since the last one written. */
  admit(): number | null {
    const now = this.nowMs();
    if (now - this.windowStartMs >= 1000) {
      this.windowStartMs = now;
      this.writtenInWindow = 0;
    }
    if (this.writtenInWindow >= this.perSecond) {
      this.suppressed++;
      return null;
    }
    this.writtenInWindow++;
    const left = this.suppressed;
    this.suppressed = 0;
    return left;
  }
}
