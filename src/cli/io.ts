// Where a command's output goes: stdout (results, records) buffered with backpressure, stderr
// (messages, progress), whether each is a terminal, the environment, stdin, and a signal that
// fires on SIGINT/SIGTERM so long-running commands (consume, produce) stop cleanly.
// Commands take a CliIo instead of touching `process`, so tests can drive them in-process.

export interface CliIo {
  /** Queues text or bytes for stdout; resolves when it may continue (backpressure). */
  write(chunk: string | Uint8Array): Promise<void> | void;
  /** Writes everything queued; resolves when stdout took it. */
  flush(): Promise<void>;
  /** A line on stderr. */
  error(line: string): void;
  /** Rewrites the progress line on stderr (only called when stderrIsTTY); `final` keeps it. */
  progress(line: string, final?: boolean): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** True once stdout is gone (the reader of a pipe exited: `runnel consume … | head`). */
  readonly stdoutClosed: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  stdin(): AsyncIterable<Uint8Array>;
  /** Aborted on SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
}

const flushBytes = 64 * 1024;

/** The real process's stdio. */
export class ProcessIo implements CliIo {
  readonly stdoutIsTTY = Boolean(process.stdout.isTTY);
  readonly stderrIsTTY = Boolean(process.stderr.isTTY);
  readonly env = process.env;
  stdoutClosed = false;
  private pending: (string | Uint8Array)[] = [];
  private pendingBytes = 0;
  private progressShown = false;
  private controller: AbortController | null = null;

  constructor() {
    process.stdout.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") this.stdoutClosed = true;
    });
  }

  /** Signal handlers are installed on first use only: `runnel start` has its own. */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    let signals = 0;
    const onSignal = (name: string) => {
      signals++;
      if (signals > 1) process.exit(130); // a second signal: stop at once
      controller.abort(new Error(name));
    };
    process.on("SIGINT", () => onSignal("SIGINT"));
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    return controller.signal;
  }

  write(chunk: string | Uint8Array): Promise<void> | void {
    if (this.stdoutClosed) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= flushBytes) return this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0 || this.stdoutClosed) return;
    this.clearProgress();
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const text = chunks.every((chunk) => typeof chunk === "string") ? chunks.join("") : Buffer.concat(chunks.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)));
    const more = process.stdout.write(text);
    if (!more && !this.stdoutClosed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          process.stdout.off("drain", done);
          process.stdout.off("error", done);
          resolve();
        };
        process.stdout.once("drain", done);
        process.stdout.once("error", done);
      });
    }
  }

  error(line: string): void {
    this.clearProgress();
    process.stderr.write(`${line}\n`);
  }

  progress(line: string, final = false): void {
    process.stderr.write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
    this.progressShown = !final;
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    process.stderr.write("\r\x1b[2K");
    this.progressShown = false;
  }

  async *stdin(): AsyncIterable<Uint8Array> {
    for await (const chunk of Bun.stdin.stream()) yield chunk;
  }
}

/** Reports records/s on a terminal (stderr) every `intervalMs`; silent when stderr is not one. */
export class Progress {
  private count = 0;
  private bytes = 0;
  private readonly started = performance.now();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly io: CliIo, private readonly verb: string, intervalMs = 250) {
    if (io.stderrIsTTY) {
      this.timer = setInterval(() => this.show(), intervalMs);
      this.timer.unref?.();
    }
  }

  add(records: number, bytes: number): void {
    this.count += records;
    this.bytes += bytes;
  }

  get records(): number {
    return this.count;
  }

  /** Stops updating; on a terminal, leaves a summary line. */
  finish(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.show(true);
  }

  private show(final = false): void {
    const seconds = Math.max((performance.now() - this.started) / 1000, 0.001);
    const rate = Math.round(this.count / seconds).toLocaleString("en-US");
    const megabytes = (this.bytes / seconds / 1e6).toFixed(1);
    this.io.progress(`${this.verb} ${this.count.toLocaleString("en-US")} records (${rate} records/s, ${megabytes} MB/s)`, final);
  }
}
