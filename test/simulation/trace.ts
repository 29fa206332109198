// The simulation's trace: the last few hundred notable events (a ring buffer), printed with the
// seed when an invariant breaks.

export class Trace {
  private readonly entries: { atMs: number; node: number; text: string }[] = [];
  private next = 0;

  constructor(private readonly capacity = 400) {}

  add(atMs: number, node: number, text: string): void {
    const entry = { atMs, node, text };
    if (this.entries.length < this.capacity) this.entries.push(entry);
    else this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  tail(count = this.capacity): string[] {
    const ordered = this.entries.length < this.capacity ? this.entries : [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
    return ordered.slice(-count).map((entry) => `${String(entry.atMs).padStart(6)}ms ${entry.node >= 0 ? `n${entry.node}` : "  "} ${entry.text}`);
  }
}

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}
